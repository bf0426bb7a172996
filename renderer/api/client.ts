/**
 * The web UIs' one client of the server: every `fetch`, `EventSource` and `sendBeacon` of the viewer and
 * the console goes through here, typed by the wire contract, so errors come back in one shape
 * ({ status, code, message, details }) and no page builds a request itself.
 */
import type {
  ActiveStreamListResponse,
  CacheActionWire,
  CacheWire,
  ConsoleEventName,
  ConsoleEvents,
  ContentListResponse,
  EndStreamRequest,
  ErrorEnvelope,
  HeartbeatRequest,
  HandsReplacedWire,
  HistoryPageWire,
  HistoryStatsWire,
  LoginResponse,
  MetricsWire,
  ProgressListResponse,
  ProgressWire,
  RescanWire,
  SessionWire,
  ShareWire,
  StartResponse,
  StreamInfoWire,
  UserListResponse,
  UserResponse,
} from '../../app/contract/index.ts';

/** An API error carrying the server's envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

let language: string | null = null;

/** The language the server's messages should come in (sent as Accept-Language); null for the browser's own. */
export function setApiLanguage(lang: string | null): void {
  language = lang;
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  return language ? { 'accept-language': language, ...extra } : extra;
}

async function failure(res: Response): Promise<ApiError> {
  const data: unknown = await res.json().catch(() => null);
  const env = data as Partial<ErrorEnvelope> | null;
  const e = env?.error ?? { code: `HTTP_${res.status}`, message: res.statusText };
  return new ApiError(res.status, e.code, e.message, e.details);
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: headers(), credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers = headers({ 'content-type': 'application/json' });
    init.body = JSON.stringify(body);
  }
  const res = await ((body === undefined && takeHeadStart(method, path)) || fetch(path, init));
  if (!res.ok) throw await failure(res);
  if (res.status === 204) return null as T;
  return (await res.json().catch(() => null)) as T;
}

/**
 * The answer the watch page's head start (renderer/viewer/head-start.ts) already asked for, taken once;
 * undefined when there is none (another page, taken before, or dropped).
 */
function takeHeadStart(method: string, path: string): Promise<Response> | undefined {
  const answers = window.__wsoptvHeadStart?.answers;
  const key = `${method} ${path}`;
  const answer = answers?.get(key);
  answers?.delete(key);
  return answer;
}

/** The head start's <video>, already loading `streamUrl`; null when there is none for this session. */
export function takeHeadStartVideo(streamUrl: string): HTMLVideoElement | null {
  const hs = window.__wsoptvHeadStart;
  const v = hs?.video;
  if (!hs || !v || v.src !== new URL(streamUrl, location.href).href) return null;
  hs.video = null;
  return v;
}

/**
 * Forgets what the head start asked and the page did not take, and stops its <video>: its answers
 * describe the page it was loaded on, not the next (a login in between changes every one of them).
 */
export function dropHeadStart(): void {
  const hs = window.__wsoptvHeadStart;
  if (!hs) return;
  delete window.__wsoptvHeadStart;
  if (hs.video) {
    hs.video.removeAttribute('src');
    hs.video.load();
    hs.video.remove();
  }
}

const enc = encodeURIComponent;

/** Filters of the history page. */
export interface HistoryQuery {
  readonly page: number;
  readonly user?: string;
  readonly title?: string;
  readonly reason?: string;
}

/** The server's API, one method per route. */
export const api = {
  me: () => call<UserResponse>('GET', '/api/auth/me'),
  login: (username: string, password: string) => call<LoginResponse>('POST', '/api/auth/login', { username, password }),
  register: (username: string, password: string) => call<UserResponse>('POST', '/api/auth/register', { username, password }),
  logout: () => call<null>('POST', '/api/auth/logout'),
  contents: () => call<ContentListResponse>('GET', '/api/contents'),
  info: (id: string) => call<StreamInfoWire>('GET', `/api/stream/${enc(id)}/info`),
  start: (id: string) => call<StartResponse>('POST', `/api/stream/${enc(id)}/start`),
  heartbeat: (id: string, body: HeartbeatRequest) => call<SessionWire>('POST', `/api/stream/${enc(id)}/heartbeat`, body),
  progress: (id: string) => call<ProgressWire>('GET', `/api/progress/${enc(id)}`),
  allProgress: () => call<ProgressListResponse>('GET', '/api/progress'),
  /**
   * Asks the stream URL for its first byte, to learn why a <video> failed: the element reports only
   * "error", the server's envelope says which (session ended, file unavailable, limit).
   */
  async probeStream(url: string): Promise<void> {
    const res = await fetch(url, { headers: headers({ range: 'bytes=0-0' }), credentials: 'same-origin', cache: 'no-store' });
    if (!res.ok) throw await failure(res);
    await res.body?.cancel();
  },
  /** Ends a session as the page goes away: a beacon survives the page, a fetch may not. */
  endOnLeave(id: string, sessionId: string, position: number): void {
    const body = JSON.stringify({ session_id: sessionId, position });
    const url = `/api/stream/${enc(id)}/end`;
    if (typeof navigator.sendBeacon === 'function' && navigator.sendBeacon(url, new Blob([body], { type: 'text/plain' }))) return;
    fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, keepalive: true, credentials: 'same-origin' }).catch(() => {});
  },

  // The operator's routes.
  streams: () => call<ActiveStreamListResponse>('GET', '/api/admin/streams'),
  endStream: (sessionId: string, reason: string) => call<SessionWire>('DELETE', `/api/admin/streams/${enc(sessionId)}`, { reason } satisfies EndStreamRequest),
  metrics: () => call<MetricsWire>('GET', '/api/admin/metrics'),
  users: () => call<UserListResponse>('GET', '/api/admin/users'),
  approveUser: (id: string) => call<UserResponse>('POST', `/api/admin/users/${enc(id)}/approve`),
  enableUser: (id: string) => call<UserResponse>('POST', `/api/admin/users/${enc(id)}/enable`),
  disableUser: (id: string) => call<UserResponse>('POST', `/api/admin/users/${enc(id)}/disable`),
  setRole: (id: string, role: 'admin' | 'viewer') => call<UserResponse>('PUT', `/api/admin/users/${enc(id)}/role`, { role }),
  history(q: HistoryQuery) {
    const p = new URLSearchParams({ page: String(q.page) });
    if (q.user) p.set('user', q.user);
    if (q.title) p.set('title', q.title);
    if (q.reason) p.set('reason', q.reason);
    return call<HistoryPageWire>('GET', `/api/admin/history?${p.toString()}`);
  },
  historyStats: () => call<HistoryStatsWire>('GET', '/api/admin/history/stats'),
  rescan: () => call<RescanWire>('POST', '/api/admin/library/rescan'),
  share: () => call<ShareWire>('GET', '/api/admin/share'),
  cache: () => call<CacheWire>('GET', '/api/admin/cache'),
  pin: (id: string) => call<CacheActionWire>('POST', `/api/admin/cache/${enc(id)}/pin`),
  unpin: (id: string) => call<CacheActionWire>('DELETE', `/api/admin/cache/${enc(id)}/pin`),
  /** Replaces a video's hands with a sidecar-shaped document ({ "hands": [...] }); the server checks it whole. */
  replaceHands: (id: string, doc: unknown) => call<HandsReplacedWire>('PUT', `/api/admin/contents/${enc(id)}/hands`, doc),
  evict: (id: string) => call<CacheActionWire>('DELETE', `/api/admin/cache/${enc(id)}`),
};

/** Handlers for the events of the live feed; each gets the parsed data and the event id. */
export type FeedHandlers = { readonly [K in ConsoleEventName]?: (data: ConsoleEvents[K], id: string) => void };

/** Every event name of the feed (a record, so a name added to the contract must be added here). */
const FEED_EVENTS: { readonly [K in ConsoleEventName]: true } = {
  snapshot: true,
  'stream.started': true,
  'stream.ended': true,
  'stream.error': true,
  'stream.refused': true,
  'streams.tick': true,
  'metrics.tick': true,
  'user.registered': true,
  'user.changed': true,
  'cache.promotion': true,
};

/**
 * Opens the console's live feed. The browser reconnects by itself after a drop and sends Last-Event-ID,
 * so the server resumes where the feed left off. Returns a function that closes it.
 */
export function openFeed(handlers: FeedHandlers, onState: (open: boolean) => void): () => void {
  const source = new EventSource('/api/admin/events', { withCredentials: true });
  source.onopen = () => onState(true);
  source.onerror = () => onState(false);
  for (const name of Object.keys(FEED_EVENTS) as ConsoleEventName[]) {
    source.addEventListener(name, (e) => {
      const handler = handlers[name] as ((data: unknown, id: string) => void) | undefined;
      const msg = e as MessageEvent<string>;
      handler?.(JSON.parse(msg.data) as unknown, msg.lastEventId);
    });
  }
  return () => source.close();
}
