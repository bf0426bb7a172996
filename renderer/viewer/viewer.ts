// The viewer: log in or register, the library with resume positions, and the watch page with
// heartbeats, hand skipping, and an /end beacon when the page goes away.
import { HEARTBEAT_SECONDS, type ContentWire, type ProgressWire, type StartResponse, type StreamInfoWire, type ViewMode } from '../../app/contract/index.ts';
import { api, ApiError } from '../api/client.ts';
import { jumpTarget, nextHand, previousHand } from './hands.ts';
import './viewer.css';

const byId = (id: string): HTMLElement => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
};
const view = byId('view');
const who = byId('who');
const logoutButton = byId('logout') as HTMLButtonElement;
const HEARTBEAT_MS = HEARTBEAT_SECONDS * 1000;
let leaveWatch = (): void => {};

type Attrs = Record<string, string | number | boolean | undefined | null | ((e: Event) => void)>;
type Child = Node | string | number;

const h = (tag: string, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElement => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
};
const fmt = (s: number | null | undefined): string => {
  if (s === null || s === undefined || !isFinite(s)) return '–';
  s = Math.floor(s);
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  return (hh ? hh + ':' + String(mm).padStart(2, '0') : mm) + ':' + String(ss).padStart(2, '0');
};
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const errorBox = (message: string): HTMLElement => h('p', { class: 'error-message', role: 'alert' }, message);

async function route(): Promise<void> {
  leaveWatch();
  leaveWatch = () => {};
  let me;
  try {
    me = (await api.me()).user;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return showLogin(err.status === 403 ? err.message : '');
    view.replaceChildren(errorBox(messageOf(err)));
    return;
  }
  who.textContent = me.username;
  logoutButton.hidden = false;
  const m = /^#\/watch\/([A-Za-z0-9_-]+)/.exec(location.hash);
  if (m) return showWatch(m[1]!);
  return showLibrary();
}

function showLogin(message: string): void {
  who.textContent = '';
  logoutButton.hidden = true;
  const status = h('div', {}, message ? errorBox(message) : '');
  const login = h('form', { class: 'card', id: 'login-form' },
    h('h2', {}, 'Log in'),
    h('input', { name: 'username', placeholder: 'Username', autocomplete: 'username', required: true }),
    h('input', { name: 'password', type: 'password', placeholder: 'Password', autocomplete: 'current-password', required: true }),
    h('button', { type: 'submit' }, 'Log in')) as HTMLFormElement;
  const register = h('form', { class: 'card', id: 'register-form' },
    h('h2', {}, 'New account'),
    h('input', { name: 'username', placeholder: 'Username (3-32 letters or digits)', autocomplete: 'username', required: true }),
    h('input', { name: 'password', type: 'password', placeholder: 'Password (8+ characters)', autocomplete: 'new-password', required: true }),
    h('button', { type: 'submit' }, 'Register')) as HTMLFormElement;
  login.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(login);
    try {
      await api.login(String(f.get('username')), String(f.get('password')));
      void route();
    } catch (err) {
      status.replaceChildren(errorBox(messageOf(err)));
    }
  });
  register.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(register);
    try {
      await api.register(String(f.get('username')), String(f.get('password')));
      status.replaceChildren(h('p', { class: 'notice' }, 'Account created. An admin must approve it before you can log in.'));
    } catch (err) {
      status.replaceChildren(errorBox(messageOf(err)));
    }
  });
  view.replaceChildren(status, h('div', { class: 'forms' }, login, register));
}

async function showLibrary(): Promise<void> {
  const [{ items }, progress] = await Promise.all([api.contents(), api.allProgress()]);
  const byContent = new Map<string, ProgressWire>(progress.items.map((p) => [p.content_id, p]));
  const tiles = items.map((c: ContentWire) => {
    const p = byContent.get(c.id);
    return h('a', { class: 'tile', href: `#/watch/${c.id}`, 'data-content-id': c.id },
      h('span', { class: 'title' }, c.title),
      h('span', { class: 'muted' }, `${fmt(c.duration_seconds)} · ${c.hands_count} hands${c.best_hands_count ? ` · ${c.best_hands_count} best` : ''}`),
      c.playable ? '' : h('span', { class: 'error-message' }, c.unplayable_reason || 'not playable'),
      p ? h('div', { class: 'bar', title: `${p.progress_percent}% watched` }, h('span', { style: `width:${p.progress_percent}%` })) : '');
  });
  view.replaceChildren(h('h2', {}, 'Library'), items.length ? h('div', { class: 'grid' }, tiles) : h('p', { class: 'muted' }, 'The library is empty.'));
}

/** Seconds the player holds beyond the playhead. */
function bufferedAhead(video: HTMLVideoElement): number {
  const t = video.currentTime;
  for (let i = 0; i < video.buffered.length; i++) {
    if (t >= video.buffered.start(i) && t <= video.buffered.end(i)) return Math.round((video.buffered.end(i) - t) * 10) / 10;
  }
  return 0;
}

async function showWatch(id: string): Promise<void> {
  view.replaceChildren(h('p', { class: 'muted' }, 'Starting…'));
  let session: StartResponse;
  let info: StreamInfoWire;
  try {
    [info, session] = await Promise.all([api.info(id), api.start(id)]);
  } catch (err) {
    view.replaceChildren(h('p', {}, h('a', { href: '#/' }, '← Library')), errorBox(messageOf(err)));
    return;
  }
  const saved = await api.progress(id).catch(() => null);
  const video = h('video', { controls: true, autoplay: true, preload: 'auto', playsinline: true }) as HTMLVideoElement;
  const timeline = h('div', { class: 'timeline', title: 'Hands (red: best hands)' });
  const playhead = h('div', { class: 'playhead' });
  const duration = info.duration_seconds || 0;
  for (const hand of info.hands) {
    timeline.append(h('div', {
      class: 'hand' + (hand.is_best ? ' best' : ''),
      style: `left:${(hand.start / duration) * 100}%;width:${((hand.end - hand.start) / duration) * 100}%`,
      title: `Hand ${hand.index} (${fmt(hand.start)}-${fmt(hand.end)})${hand.is_best ? ' · best' : ''}`,
      onclick: (e) => { e.stopPropagation(); video.currentTime = hand.start; },
    }));
  }
  timeline.append(playhead);
  timeline.addEventListener('click', (e) => {
    const r = timeline.getBoundingClientRect();
    video.currentTime = ((e.clientX - r.left) / r.width) * duration;
  });

  let mode: ViewMode = 'all';
  const modes: [ViewMode, string][] = [['all', 'Everything'], ['skip', 'Skip dead time'], ['best', 'Best hands only']];
  const modeButtons: HTMLElement[] = modes.map(([m, label]) =>
    h('button', { 'data-mode': m, 'aria-pressed': m === mode ? 'true' : 'false', onclick: () => {
      mode = m;
      for (const b of modeButtons) b.setAttribute('aria-pressed', b.dataset.mode === mode ? 'true' : 'false');
    } }, label));
  const controls = h('div', { class: 'controls' },
    h('button', { id: 'prev-hand', onclick: () => { const p = previousHand(info.hands, video.currentTime); video.currentTime = p ? p.start : 0; } }, '◀ Previous hand'),
    h('button', { id: 'next-hand', onclick: () => { const n = nextHand(info.hands, video.currentTime, mode === 'best'); if (n) video.currentTime = n.start; } }, 'Next hand ▶'),
    ...modeButtons,
    h('span', { class: 'muted' }, `${info.hands.length} hands · ${info.best_hands_count} best · ${fmt(info.action_duration)} of action`));
  const status = h('div');
  view.replaceChildren(h('p', {}, h('a', { href: '#/' }, '← Library')), h('h2', {}, info.title), status, video, timeline, controls);

  // What the viewer experienced, reported with each heartbeat.
  const qoe: { ttff_ms?: number; stall_count: number; stall_ms: number; seek_ms?: number } = { stall_count: 0, stall_ms: 0 };
  const t0 = performance.now();
  let stallStart = 0;
  let seekStart = 0;
  video.addEventListener('playing', () => {
    if (qoe.ttff_ms === undefined) qoe.ttff_ms = Math.round(performance.now() - t0);
    if (stallStart) { qoe.stall_ms += performance.now() - stallStart; stallStart = 0; }
  });
  video.addEventListener('waiting', () => { if (qoe.ttff_ms !== undefined && !video.seeking) { qoe.stall_count++; stallStart = performance.now(); } });
  video.addEventListener('seeking', () => { seekStart = performance.now(); });
  video.addEventListener('seeked', () => { if (seekStart) qoe.seek_ms = Math.round(performance.now() - seekStart); });
  video.addEventListener('timeupdate', () => {
    playhead.style.left = `${(video.currentTime / (duration || 1)) * 100}%`;
    const to = jumpTarget(info.hands, video.currentTime, mode);
    if (to !== undefined && !video.seeking) video.currentTime = to;
  });
  video.addEventListener('loadedmetadata', () => {
    if (saved && saved.position > 1 && saved.position < video.duration - 5) video.currentTime = saved.position;
  }, { once: true });
  // A failed load may mean the session was ended (by an operator, say): ask at once, so the page says why.
  video.addEventListener('error', () => {
    status.replaceChildren(errorBox('The video could not be played.'));
    if (!ended) void beat();
  });

  let ended = false;
  const beat = async (): Promise<void> => {
    try {
      await api.heartbeat(id, {
        session_id: session.session_id,
        position: video.currentTime || 0,
        state: video.paused ? 'paused' : 'playing',
        qoe: { ...qoe, stall_ms: Math.round(qoe.stall_ms), buffer_ahead_s: bufferedAhead(video) },
        mode,
      });
    } catch (err) {
      if (err instanceof ApiError && (err.status === 410 || err.status === 404)) {
        ended = true;
        clearInterval(timer);
        video.pause();
        video.removeAttribute('src');
        video.load();
        status.replaceChildren(errorBox(err.message));
      }
    }
  };
  const timer = setInterval(() => void beat(), HEARTBEAT_MS);
  const leave = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    api.endOnLeave(id, session.session_id, video.currentTime || 0);
  };
  window.addEventListener('pagehide', leave);
  leaveWatch = () => {
    window.removeEventListener('pagehide', leave);
    leave();
    video.removeAttribute('src');
    video.load();
  };
  video.src = session.stream_url;
}

logoutButton.addEventListener('click', async () => {
  leaveWatch();
  leaveWatch = () => {};
  await api.logout();
  location.hash = '#/';
  showLogin('');
});
window.addEventListener('hashchange', () => void route());
void route();
