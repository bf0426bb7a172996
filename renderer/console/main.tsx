// The operator console: signs in (or says it is for admins only), opens the live feed, and shows the
// page the hash names: Now playing, Slots, Metrics, History, Users, Library, Cache, Share.
import { render } from 'preact';
import { useEffect, useReducer, useState } from 'preact/hooks';
import type { UserWire } from '../../app/contract/index.ts';
import { api, ApiError, openFeed } from '../api/client.ts';
import { AlertBanner, Metrics } from './pages/metrics.tsx';
import { Cache } from './pages/cache.tsx';
import { Hands } from './pages/hands.tsx';
import { History } from './pages/history.tsx';
import { Library } from './pages/library.tsx';
import { NowPlaying } from './pages/now-playing.tsx';
import { Share } from './pages/share.tsx';
import { Slots } from './pages/slots.tsx';
import { Users } from './pages/users.tsx';
import { INITIAL, reduce } from './store.ts';
import './console.css';

const PAGES = [
  ['now', 'Now playing'],
  ['slots', 'Slots'],
  ['metrics', 'Metrics'],
  ['history', 'History'],
  ['users', 'Users'],
  ['library', 'Library health'],
  ['hands', 'Hands'],
  ['cache', 'Cache'],
  ['share', 'Share'],
] as const;
type PageId = (typeof PAGES)[number][0];

const pageOf = (hash: string): PageId => PAGES.find(([id]) => hash === `#/${id}`)?.[0] ?? 'now';

function useHashPage(): PageId {
  const [page, setPage] = useState(pageOf(location.hash));
  useEffect(() => {
    const on = (): void => setPage(pageOf(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return page;
}

function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

function ConsoleApp({ me, onLogout }: { readonly me: UserWire; readonly onLogout: () => void }) {
  const [state, dispatch] = useReducer(reduce, INITIAL);
  const page = useHashPage();
  const now = useNow(1000);
  useEffect(
    () =>
      openFeed(
        {
          snapshot: (data) => dispatch({ type: 'snapshot', data }),
          'stream.started': (data) => dispatch({ type: 'stream.started', data }),
          'stream.ended': (data) => dispatch({ type: 'stream.ended', data }),
          'stream.error': (data) => dispatch({ type: 'stream.error', data }),
          'stream.refused': (data) => dispatch({ type: 'stream.refused', data }),
          'streams.tick': (data) => dispatch({ type: 'streams.tick', data }),
          'metrics.tick': (data) => dispatch({ type: 'metrics.tick', data }),
          'user.registered': (data) => dispatch({ type: 'user.registered', data }),
          'user.changed': (data) => dispatch({ type: 'user.changed', data }),
          'cache.promotion': (data) => dispatch({ type: 'cache.promotion', data }),
        },
        (open) => dispatch({ type: 'connection', open }),
      ),
    [],
  );

  return (
    <>
      <header>
        <a href="#/now" class="brand">WSOPTV console</a>
        <span class={`feed ${state.connected ? 'live' : 'down'}`} id="feed-state">{state.connected ? '● live' : '○ reconnecting…'}</span>
        <span class="muted">{state.streams.length} playing</span>
        <span id="who">{me.username}</span>
        <button onClick={onLogout}>Log out</button>
      </header>
      <nav>
        {PAGES.map(([id, label]) => (
          <a href={`#/${id}`} class={page === id ? 'active' : ''} key={id} data-page={id}>
            {label}
            {id === 'users' && state.pendingUsers > 0 ? <span class="badge" id="pending-badge">{state.pendingUsers}</span> : null}
          </a>
        ))}
      </nav>
      <main>
        <AlertBanner metrics={state.metrics} />
        {!state.loaded ? <p class="muted">Connecting to the server…</p> : null}
        {page === 'now' && <NowPlaying streams={state.streams} now={now} />}
        {page === 'slots' && <Slots slots={state.slots} />}
        {page === 'metrics' && <Metrics metrics={state.metrics} history={state.history} />}
        {page === 'history' && <History />}
        {page === 'users' && <Users version={state.usersVersion} me={me.username} />}
        {page === 'library' && <Library />}
        {page === 'hands' && <Hands />}
        {page === 'cache' && <Cache promotions={state.promotions} />}
        {page === 'share' && <Share />}
      </main>
    </>
  );
}

function Login({ message, onDone }: { readonly message: string; readonly onDone: () => void }) {
  const [error, setError] = useState(message);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    try {
      await api.login(String(f.get('username')), String(f.get('password')));
      onDone();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <main class="center">
      <form class="panel login" id="login-form" onSubmit={(e) => void submit(e)}>
        <h2>WSOPTV console</h2>
        <p class="muted">For the server’s admins.</p>
        {error && <p class="error-message">{error}</p>}
        <input name="username" placeholder="Username" autocomplete="username" required />
        <input name="password" type="password" placeholder="Password" autocomplete="current-password" required />
        <button type="submit">Log in</button>
      </form>
    </main>
  );
}

function Gate() {
  const [me, setMe] = useState<UserWire | null | undefined>(undefined);
  const [message, setMessage] = useState('');
  const check = (): void => {
    api.me().then(
      (r) => setMe(r.user),
      (err: unknown) => {
        setMessage(err instanceof ApiError && err.status === 403 ? err.message : '');
        setMe(null);
      },
    );
  };
  useEffect(check, []);
  const logout = async (): Promise<void> => {
    await api.logout().catch(() => null);
    setMe(null);
  };
  if (me === undefined) return <p class="muted">Loading…</p>;
  if (me === null) return <Login message={message} onDone={check} />;
  if (me.role !== 'admin') {
    return (
      <main class="center">
        <div class="panel admins-only" id="admins-only">
          <h2>Admins only</h2>
          <p>The console is for the server’s operators. You are logged in as <strong>{me.username}</strong>, a viewer.</p>
          <p><a href="/">Go to the library</a> · <button onClick={() => void logout()}>Log out</button></p>
        </div>
      </main>
    );
  }
  return <ConsoleApp me={me} onLogout={() => void logout()} />;
}

render(<Gate />, document.getElementById('app')!);
