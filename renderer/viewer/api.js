// The viewer's one client of the server's API: every request goes through here, so errors come back
// in one shape ({ status, code, message, details }) and the page never builds fetch calls itself.

/** An API error carrying the server's envelope. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

async function call(method, path, body) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = data && data.error ? data.error : { code: 'HTTP_' + res.status, message: res.statusText };
    throw new ApiError(res.status, e.code, e.message, e.details);
  }
  return data;
}

const enc = encodeURIComponent;

export const api = {
  me: () => call('GET', '/api/auth/me'),
  login: (username, password) => call('POST', '/api/auth/login', { username, password }),
  register: (username, password) => call('POST', '/api/auth/register', { username, password }),
  logout: () => call('POST', '/api/auth/logout'),
  contents: () => call('GET', '/api/contents'),
  info: (id) => call('GET', `/api/stream/${enc(id)}/info`),
  start: (id) => call('POST', `/api/stream/${enc(id)}/start`),
  heartbeat: (id, body) => call('POST', `/api/stream/${enc(id)}/heartbeat`, body),
  progress: (id) => call('GET', `/api/progress/${enc(id)}`),
  allProgress: () => call('GET', '/api/progress'),
  /** Ends a session as the page goes away: a beacon survives the page, a fetch may not. */
  endOnLeave(id, sessionId, position) {
    const body = JSON.stringify({ session_id: sessionId, position });
    const url = `/api/stream/${enc(id)}/end`;
    if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: 'text/plain' }))) return;
    fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, keepalive: true, credentials: 'same-origin' }).catch(() => {});
  },
};
