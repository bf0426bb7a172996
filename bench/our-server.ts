/**
 * Our server as the bench runs it: a child process on a free loopback port, started as `npm start`
 * would be, its first-run admin logged in, and small JSON calls over a raw connection carrying the
 * admin's Bearer token. Shared by the serving bench (run.ts) and the promotion bench (promotion.ts).
 */
import path from 'node:path';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { freePort, spawnTracked, waitUntil, type Tracked } from './procs.ts';
import { RawConnection } from './raw-http.ts';

/** The first-run admin's password, set on the server's environment; the bench logs in with it. */
export const ADMIN_PASSWORD = 'bench-admin-pass';

/** Every server the bench starts listens here, and nothing else is ever called. */
export const HOST = '127.0.0.1';

/** The admin's login token once logged in. */
let bearerToken: string | null = null;

/**
 * Headers that authenticate a bench request; every request to either server (seeker, viewers, wrk)
 * carries exactly these. nginx ignores them, so both servers get the same request bytes.
 */
export function authHeaders(): Record<string, string> {
  return bearerToken === null ? {} : { Authorization: `Bearer ${bearerToken}` };
}

/** Sends one request with the admin's headers over a short-lived raw connection; parses a JSON answer. */
export async function callJson<T>(port: number, method: string, pathname: string, body?: unknown): Promise<{ status: number; json: T | null }> {
  const conn = new RawConnection(HOST, port);
  try {
    const headers = body === undefined ? authHeaders() : { ...authHeaders(), 'Content-Type': 'application/json' };
    const r = await conn.request(method, pathname, { headers, body: body === undefined ? undefined : JSON.stringify(body), keepBody: true, timeoutMs: 10_000 });
    const text = r.body?.toString('utf8') ?? '';
    return { status: r.status, json: r.status >= 200 && r.status < 300 && text !== '' ? (JSON.parse(text) as T) : null };
  } finally {
    conn.close();
  }
}

/** Reads a JSON answer. */
export function getJson<T>(port: number, pathname: string): Promise<{ status: number; json: T | null }> {
  return callJson<T>(port, 'GET', pathname);
}

/** Logs in as the first-run admin; authHeaders() carries the token from then on (12 h, longer than any run). */
async function login(port: number): Promise<void> {
  bearerToken = null;
  const r = await callJson<{ token: string }>(port, 'POST', '/api/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
  if (r.status !== 200 || !r.json) throw new Error(`login as admin failed: status ${r.status}`);
  bearerToken = r.json.token;
}

/** A running server of ours. */
export interface OurServer {
  readonly proc: Tracked;
  readonly port: number;
}

/**
 * Starts our server on `libraryDir` with its database in `dataDir` and any further flags (`nodeArgs` go to
 * node itself, e.g. --cpu-prof), waits for
 * /api/health and logs in as the first-run admin.
 */
export async function startServer(libraryDir: string, dataDir: string, extraArgs: readonly string[] = [], nodeArgs: readonly string[] = []): Promise<OurServer> {
  const port = await freePort();
  const proc = spawnTracked(
    'server',
    process.execPath,
    [...nodeArgs, '--import', 'tsx', path.join(PROJECT_ROOT, 'app', 'cmd', 'serve.ts'), '--library', libraryDir, '--data', dataDir, '--port', String(port), '--host', HOST, '--log-level', 'warn', ...extraArgs],
    { cwd: PROJECT_ROOT, env: { ...process.env, WSOPTV_ADMIN_PASSWORD: ADMIN_PASSWORD } },
  );
  await waitUntil('/api/health 200', 60_000, async () => (await getJson(port, '/api/health')).status === 200, proc);
  await login(port);
  return { proc, port };
}

/** The content id of the catalogued file with this title and size; throws when it is not catalogued. */
export async function contentId(port: number, title: string, size: number): Promise<string> {
  const { json } = await getJson<{ items: { id: string; title: string; file_size: number }[] }>(port, '/api/contents');
  const item = json?.items.find((i) => i.title === title && i.file_size === size);
  if (!item) throw new Error(`${title} (${size} bytes) is not in /api/contents: ${JSON.stringify(json).slice(0, 300)}`);
  return item.id;
}

/** Opens `n` stream sessions of a video as the admin and returns their capability URLs, one per viewer. */
export async function openSessions(port: number, contentPath: string, n: number): Promise<string[]> {
  const id = contentPath.split('/').pop()!;
  const urls: string[] = [];
  const conn = new RawConnection(HOST, port);
  try {
    for (let i = 0; i < n; i++) {
      const r = await conn.request('POST', `/api/stream/${id}/start`, { headers: { ...authHeaders(), 'Content-Type': 'application/json' }, body: '{}', keepBody: true, timeoutMs: 10_000 });
      if (r.status !== 201) throw new Error(`start ${i + 1} answered ${r.status}: ${r.body?.toString('utf8').slice(0, 200)}`);
      urls.push((JSON.parse(r.body!.toString('utf8')) as { stream_url: string }).stream_url);
    }
  } finally {
    conn.close();
  }
  return urls;
}
