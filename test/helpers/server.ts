/**
 * Starts a real server on an ephemeral loopback port over a temp library and a temp data folder,
 * and gives tests a raw HTTP client (node:http, so headers go out exactly as written).
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { loadConfig } from '../../app/config/config.ts';
import { startServer, type RunningServer } from '../../app/compose.ts';
import { createLogger } from '../../app/log.ts';
import type { Clock } from '../../app/model/clock.ts';
import type { Opener } from '../../app/library/index.ts';
import type { FeedOptions } from '../../app/server/console-feed.ts';
import type { Logger } from 'pino';
import { tempDir } from './fixtures.ts';

/** A raw HTTP answer. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The body parsed as JSON (throws when it is not). */
  json<T = any>(): T;
}

/** What a test gets back. */
export interface TestServer {
  readonly url: string;
  readonly libraryDir: string;
  readonly dataDir: string;
  readonly server: RunningServer;
  /** Sends one request; `headers` go out as given. */
  request(pathname: string, opts?: RequestOptions): Promise<RawResponse>;
  /** The id of the catalogued file at a library-relative path. */
  idOf(relPath: string): string;
  /** The first-run admin's Bearer token; `request` sends it unless told otherwise. */
  readonly adminToken: string;
  /** Logs a user in and returns their token. */
  login(username: string, password: string): Promise<string>;
  /** Stops the server and removes the temp folders. */
  close(): Promise<void>;
}

/** Options of one request. */
export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  /**
   * Which token to send as `Authorization: Bearer`: the admin's by default, another one as a string, or
   * none with `false`. A request whose headers already carry Authorization or Cookie sends only those.
   */
  readonly as?: string | false;
}

/** What a test may change about its server. */
export interface TestServerOptions {
  /** Clock for session timeouts (see ManualClock). */
  readonly clock?: Clock;
  readonly log?: Logger;
  /** Wraps the NAS opener, to play a slow or hung NAS. */
  readonly openNas?: Opener;
  /** Reuse the folders of an earlier server (a restart); they are then left in place on close. */
  readonly dirs?: { readonly libraryDir: string; readonly dataDir: string };
  /** Limits and tick periods of the console's live feed. */
  readonly feed?: FeedOptions;
}

/** A clock a test moves by hand. */
export class ManualClock {
  constructor(public ms = Date.now()) {}
  /** The clock function to hand to the server. */
  readonly now: Clock = () => this.ms;
  /** Moves time forward. */
  advance(ms: number): void {
    this.ms += ms;
  }
}

/**
 * `WSOPTV_TEST_BODIES=copy` runs a test file's servers with `--sendfile off`, so the copy path (platforms
 * without sendfile) is tested by the same tests as the default (see stream-range-http-copy.test.ts).
 */
const COPY_BODIES = process.env.WSOPTV_TEST_BODIES === 'copy' ? ['--sendfile', 'off'] : [];

/** The first-run admin's password in every test server. */
export const TEST_ADMIN_PASSWORD = 'test-admin-password';

/** Sends one HTTP request to `url` and reads the whole answer. */
export function rawRequest(url: string, opts: RequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const headers: Record<string, string> = { ...opts.headers };
    if (payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    // node:http sends a DELETE body with neither Content-Length nor chunking unless told its length.
    if (payload !== undefined && !Object.keys(headers).some((h) => ['content-length', 'transfer-encoding'].includes(h.toLowerCase()))) {
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const req = httpRequest(url, { method: opts.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          json: () => JSON.parse(body.toString('utf8')),
        });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Starts a server. `setup` fills the library folder before the first scan.
 * `flags` are extra command-line settings, exactly as an operator would pass them.
 */
export async function startTestServer(
  setup?: (libraryDir: string) => Promise<unknown>,
  flags: readonly string[] = [],
  opts: TestServerOptions = {},
): Promise<TestServer> {
  const tmp = opts.dirs ? { dir: '', cleanup: async () => undefined } : await tempDir();
  const libraryDir = opts.dirs?.libraryDir ?? path.join(tmp.dir, 'library');
  const dataDir = opts.dirs?.dataDir ?? path.join(tmp.dir, 'data');
  await mkdir(libraryDir, { recursive: true });
  await setup?.(libraryDir);
  const config = loadConfig(
    // Bare range requests open implicit sessions that hold a slot; tests about bytes would trip the per-user
    // limit of 3 after three files. Tests about limits pass their own --max-streams-per-user, which wins.
    // The SSD tier copies in the background; tests not about it keep it idle (no heads, no promotion) so
    // that what they serve is decided by what they do. Cache tests pass their own values, which win.
    [
      '--library', libraryDir, '--data', dataDir, '--port', '0', '--host', '127.0.0.1', '--log-level', 'silent',
      '--max-streams-per-user', '1000', '--head-bytes', '0', '--promote-after', '10000', '--cache-reserve', '0',
      ...COPY_BODIES,
      ...flags,
    ],
    { WSOPTV_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD },
  );
  const server = await startServer(config, { log: opts.log ?? createLogger('silent'), clock: opts.clock, openNas: opts.openNas, feed: opts.feed });
  const login = async (username: string, password: string): Promise<string> => {
    const res = await rawRequest(`${server.url}/api/auth/login`, { method: 'POST', body: { username, password } });
    if (res.status !== 200) throw new Error(`login as ${username} failed: ${res.status} ${res.body.toString()}`);
    return res.json<{ token: string }>().token;
  };
  const adminToken = await login('admin', TEST_ADMIN_PASSWORD);
  return {
    url: server.url,
    libraryDir,
    dataDir,
    server,
    adminToken,
    login,
    request(pathname, opts = {}) {
      const headers = { ...opts.headers };
      const carries = Object.keys(headers).some((h) => ['authorization', 'cookie'].includes(h.toLowerCase()));
      const token = opts.as === undefined ? adminToken : opts.as;
      if (!carries && token !== false) headers.authorization = `Bearer ${token}`;
      return rawRequest(server.url + pathname, { ...opts, headers });
    },
    idOf(relPath) {
      const c = server.library.list().find((x) => x.relPath === relPath);
      if (!c) throw new Error(`${relPath} is not catalogued`);
      return c.id;
    },
    async close() {
      await server.close(100);
      await tmp.cleanup();
    },
  };
}
