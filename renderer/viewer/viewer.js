// The viewer: log in or register, the library with resume positions, and the watch page with
// heartbeats, hand skipping, and an /end beacon when the page goes away.
import { api, ApiError } from './api.js';
import { jumpTarget, nextHand, previousHand } from './hands.js';

const view = document.getElementById('view');
const who = document.getElementById('who');
const logoutButton = document.getElementById('logout');
const HEARTBEAT_MS = 15000;
let leaveWatch = () => {};

const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
};
const fmt = (s) => {
  if (s === null || s === undefined || !isFinite(s)) return '–';
  s = Math.floor(s);
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  return (hh ? hh + ':' + String(mm).padStart(2, '0') : mm) + ':' + String(ss).padStart(2, '0');
};
const errorBox = (message) => h('p', { class: 'error-message', role: 'alert' }, message);

async function route() {
  leaveWatch();
  leaveWatch = () => {};
  let me;
  try {
    me = (await api.me()).user;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return showLogin(err.status === 403 ? err.message : '');
    view.replaceChildren(errorBox(err.message));
    return;
  }
  who.textContent = me.username;
  logoutButton.hidden = false;
  const m = /^#\/watch\/([A-Za-z0-9_-]+)/.exec(location.hash);
  if (m) return showWatch(m[1]);
  return showLibrary();
}

function showLogin(message) {
  who.textContent = '';
  logoutButton.hidden = true;
  const status = h('div', {}, message ? errorBox(message) : '');
  const login = h('form', { class: 'card', id: 'login-form' },
    h('h2', {}, 'Log in'),
    h('input', { name: 'username', placeholder: 'Username', autocomplete: 'username', required: true }),
    h('input', { name: 'password', type: 'password', placeholder: 'Password', autocomplete: 'current-password', required: true }),
    h('button', { type: 'submit' }, 'Log in'));
  const register = h('form', { class: 'card', id: 'register-form' },
    h('h2', {}, 'New account'),
    h('input', { name: 'username', placeholder: 'Username (3-32 letters or digits)', autocomplete: 'username', required: true }),
    h('input', { name: 'password', type: 'password', placeholder: 'Password (8+ characters)', autocomplete: 'new-password', required: true }),
    h('button', { type: 'submit' }, 'Register'));
  login.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(login);
    try {
      await api.login(String(f.get('username')), String(f.get('password')));
      route();
    } catch (err) {
      status.replaceChildren(errorBox(err.message));
    }
  });
  register.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(register);
    try {
      await api.register(String(f.get('username')), String(f.get('password')));
      status.replaceChildren(h('p', { class: 'notice' }, 'Account created. An admin must approve it before you can log in.'));
    } catch (err) {
      status.replaceChildren(errorBox(err.message));
    }
  });
  view.replaceChildren(status, h('div', { class: 'forms' }, login, register));
}

async function showLibrary() {
  const [{ items }, progress] = await Promise.all([api.contents(), api.allProgress()]);
  const byId = new Map(progress.items.map((p) => [p.content_id, p]));
  const tiles = items.map((c) => {
    const p = byId.get(c.id);
    return h('a', { class: 'tile', href: `#/watch/${c.id}`, 'data-content-id': c.id },
      h('span', { class: 'title' }, c.title),
      h('span', { class: 'muted' }, `${fmt(c.duration_seconds)} · ${c.hands_count} hands${c.best_hands_count ? ` · ${c.best_hands_count} best` : ''}`),
      c.playable ? '' : h('span', { class: 'error-message' }, c.unplayable_reason || 'not playable'),
      p ? h('div', { class: 'bar', title: `${p.progress_percent}% watched` }, h('span', { style: `width:${p.progress_percent}%` })) : '');
  });
  view.replaceChildren(h('h2', {}, 'Library'), items.length ? h('div', { class: 'grid' }, tiles) : h('p', { class: 'muted' }, 'The library is empty.'));
}

async function showWatch(id) {
  view.replaceChildren(h('p', { class: 'muted' }, 'Starting…'));
  let session;
  let info;
  try {
    [info, session] = await Promise.all([api.info(id), api.start(id)]);
  } catch (err) {
    view.replaceChildren(h('p', {}, h('a', { href: '#/' }, '← Library')), errorBox(err.message));
    return;
  }
  const saved = await api.progress(id).catch(() => null);
  const video = h('video', { controls: true, autoplay: true, preload: 'auto', playsinline: true });
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

  let mode = 'all';
  const modeButtons = [['all', 'Everything'], ['skip', 'Skip dead time'], ['best', 'Best hands only']].map(([m, label]) =>
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
  const qoe = { stall_count: 0, stall_ms: 0 };
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
  video.addEventListener('error', () => status.replaceChildren(errorBox('The video could not be played.')));

  let ended = false;
  const beat = async () => {
    try {
      await api.heartbeat(id, { session_id: session.session_id, position: video.currentTime || 0, state: video.paused ? 'paused' : 'playing', qoe: { ...qoe, stall_ms: Math.round(qoe.stall_ms) } });
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
  const timer = setInterval(beat, HEARTBEAT_MS);
  const leave = () => {
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
window.addEventListener('hashchange', route);
route();
