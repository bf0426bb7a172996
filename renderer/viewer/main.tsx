// The viewer: the login page, the library with resume positions, and the watch page, on real URLs.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { UserWire } from '../../app/contract/index.ts';
import { api, ApiError, dropHeadStart } from '../api/client.ts';
import { messageOf } from './format.ts';
import { currentLang, LANGS, setLang, t, type Lang } from './i18n.ts';
import { Library } from './library.tsx';
import { Login } from './login.tsx';
import { interceptLinks, loginUrl, navigate, onNavigate, routeOf, type Route } from './router.ts';
import { Watch } from './watch.tsx';
import './viewer.css';

/** Who is logged in: unknown until /me answers, null when nobody (with why, for a pending or disabled account). */
type Me = { readonly state: 'unknown' } | { readonly state: 'out'; readonly why: string } | { readonly state: 'in'; readonly user: UserWire };

function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(location));
  useEffect(() => onNavigate(() => setRoute(routeOf(location))), []);
  return route;
}

function App() {
  const route = useRoute();
  const [me, setMe] = useState<Me>({ state: 'unknown' });
  const [fatal, setFatal] = useState('');
  const [lang, setLangState] = useState<Lang>(currentLang());

  const checkMe = (): void => {
    api.me().then(
      (r) => setMe({ state: 'in', user: r.user }),
      (err: unknown) => {
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) setMe({ state: 'out', why: err.status === 403 ? err.message : '' });
        else setFatal(messageOf(err));
      },
    );
  };
  useEffect(checkMe, []);

  // Logged out, every page but the login page goes there, and comes back after.
  useEffect(() => {
    if (me.state === 'out' && route.page !== 'login') navigate(loginUrl(location.pathname + location.search), { replace: true });
    if (me.state === 'in' && route.page === 'login') navigate(route.next, { replace: true });
  }, [me, route]);

  const chooseLang = (l: Lang): void => {
    setLang(l);
    setLangState(l);
  };
  const logout = async (): Promise<void> => {
    await api.logout().catch(() => {});
    setMe({ state: 'out', why: '' });
    navigate('/login', { replace: true });
  };

  let body;
  if (fatal) body = <p class="error-message" role="alert">{fatal}</p>;
  else if (me.state === 'unknown') body = <p class="muted">{t('loading')}</p>;
  else if (route.page === 'login') body = me.state === 'out' ? <Login why={me.why} onLoggedIn={checkMe} /> : null;
  else if (me.state === 'out') body = null;
  else if (route.page === 'library') body = <Library />;
  else if (route.page === 'watch') body = <Watch key={`${route.id}:${route.reel}`} id={route.id} reel={route.reel} />;
  else body = <p class="error-message" role="alert">{t('pageNotFound')}</p>;

  return (
    <div data-lang={lang}>
      <header>
        <a href="/" class="brand">WSOPTV</a>
        {me.state === 'in' && me.user.role === 'admin' && <a href="/console/" class="muted">{t('console')}</a>}
        <label class="lang">
          <span class="sr-only">{t('language')}</span>
          <select id="lang" value={lang} onChange={(e) => chooseLang((e.currentTarget as HTMLSelectElement).value as Lang)}>
            {LANGS.map((l) => <option value={l.id}>{l.name}</option>)}
          </select>
        </label>
        {me.state === 'in' && <span id="who">{me.user.username}</span>}
        {me.state === 'in' && <button id="logout" onClick={() => void logout()}>{t('logOut')}</button>}
      </header>
      <main>{body}</main>
    </div>
  );
}

const root = document.getElementById('view');
if (!root) throw new Error('the page has no #view');
root.replaceChildren();
interceptLinks(root);
// The watch page's head start answers for the page it was loaded on only.
onNavigate(dropHeadStart);
render(<App />, root);
