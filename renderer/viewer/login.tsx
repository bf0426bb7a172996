// The login page: the login form first (the seeds' tests fill its unqualified [name="username"]), and
// registering behind a link, since new accounts wait for an admin's approval.
import { useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { messageOf } from './format.ts';
import { t } from './i18n.ts';

const field = (form: HTMLFormElement, name: string): string => String(new FormData(form).get(name) ?? '');

/** The login page; `why` says why the last session was refused (a pending or disabled account). */
export function Login({ why, onLoggedIn }: { readonly why: string; readonly onLoggedIn: () => void }) {
  const [error, setError] = useState(why);
  const [notice, setNotice] = useState('');
  const [registering, setRegistering] = useState(false);

  const logIn = async (e: Event): Promise<void> => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    try {
      await api.login(field(form, 'username'), field(form, 'password'));
      onLoggedIn();
    } catch (err) {
      setNotice('');
      setError(messageOf(err));
    }
  };
  const register = async (e: Event): Promise<void> => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    try {
      await api.register(field(form, 'username'), field(form, 'password'));
      setError('');
      setNotice(t('registered'));
      setRegistering(false);
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <div class="login">
      {error && <p class="error-message" role="alert">{error}</p>}
      {notice && <p class="notice" role="status">{notice}</p>}
      <div class="forms">
        <form class="card" id="login-form" onSubmit={(e) => void logIn(e)}>
          <h2>{t('logIn')}</h2>
          <input name="username" placeholder={t('username')} aria-label={t('username')} autocomplete="username" required />
          <input name="password" type="password" placeholder={t('password')} aria-label={t('password')} autocomplete="current-password" required />
          <button type="submit">{t('logIn')}</button>
          {!registering && <a href="#register" id="show-register" onClick={(e) => { e.preventDefault(); setRegistering(true); }}>{t('createAccount')}</a>}
        </form>
        {registering && (
          <form class="card" id="register-form" onSubmit={(e) => void register(e)}>
            <h2>{t('newAccount')}</h2>
            <input name="username" placeholder={t('usernameRule')} aria-label={t('username')} autocomplete="username" required />
            <input name="password" type="password" placeholder={t('passwordRule')} aria-label={t('password')} autocomplete="new-password" required />
            <button type="submit">{t('register')}</button>
          </form>
        )}
      </div>
    </div>
  );
}
