/**
 * The churn phase of `npm run load`: many short viewings that end the way players and networks end
 * them, then a check that the server gave everything back.
 *
 *   npm run load -- [--cycles 2000] [--seconds 60] [--seed N]
 *
 * --seconds bounds the phase after set-up, the reaper wait included; --seed replays a run's choices.
 * The phase starts its own server in this process, on 127.0.0.1 only (so /proc/self/fd is the server's,
 * plus client sockets it has closed before counting), with the shortest session timings the
 * configuration allows (stale after 5 s, implicit idle 5 s, timeout 10 s), 200 slots, 5 per user, over
 * a real clip and a 24 MiB offset file (large enough that a cut inside the body happens while the
 * server is still sending). One cycle, for one of 40 viewers:
 *
 *   POST /start ─► 1-4 parallel range requests on raw sockets, each cut at a random point ─► /end (7 in 10) or nothing
 *   (one cycle in seven sends no /start: bare range requests with the user's token join or open an implicit session)
 *
 * Cuts, each a plain close (FIN) or a reset (RST) at random:
 *   sent          whole request written, socket destroyed 0-2 ms later, before any response byte
 *                 (at once, in the write callback, on setImmediate, or on a 1 or 2 ms timer; timers run
 *                 late when the shared event loop is busy, and the report says how many kept to 2 ms)
 *   request-head  part of the request head written, then destroyed the same ways
 *   at-head       destroyed on the first response bytes (the server sends its head with the first body chunk)
 *   mid-body      destroyed after a random share of the body
 *   after-body    destroyed right after the last body byte
 *   complete      read to the end, then closed politely
 *
 * Abandoned sessions are left to the server: the phase waits (bounded) for the reaper to end them, then
 * up to 3 s for descriptors to settle, and compares with the baseline taken before the churn: open
 * descriptors (and those Node had to close on garbage collection), server-side connections, active
 * sessions, sessions pinned by a response that never finished, and slots taken server-wide (probed: how
 * many starts the server still admits). Any 5xx, hung request or misplaced body byte fails it too.
 */
import { mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeOffsetFile } from '../bench/fixtures.ts';
import { generator } from '../bench/random.ts';
import { startServer, type RunningServer } from '../app/compose.ts';
import { loadConfig, type Config } from '../app/config/config.ts';
import { createLogger } from '../app/log.ts';
import type { EndReason } from '../app/model/stream.ts';
import { copySample } from '../test/helpers/fixtures.ts';

/** Every byte of the churn goes to this address. */
const HOST = '127.0.0.1';
/** Cycles running at once. */
const CONCURRENCY = 16;
/** Viewers the cycles are spread over; with LIMITS below they can hold every slot between them. */
const CHURN_USERS = 40;
/**
 * More slots than the defaults: an abandoned session holds its slot until stale-after (5 s) or the
 * timeout (10 s), so at the defaults most cycles would be refused and cut nothing.
 */
const LIMITS = ['--max-streams', '200', '--max-streams-per-user', '5'] as const;
const OFFSET_FILE_BYTES = 24 * 1024 * 1024;
/** A control call (start, end, metrics) or a range request that takes longer than this is a failure. */
const CALL_TIMEOUT_MS = 5_000;
const RANGE_TIMEOUT_MS = 5_000;
/** Longest wait for descriptors to settle once the reaper is done (a destroyed socket's response closes asynchronously). */
const SETTLE_MS = 3_000;
/** Longest wait for leftovers of whatever ran before the baseline. */
const BASELINE_SETTLE_MS = 8_000;
/** The shortest timings app/config/config.ts accepts. */
const TIMINGS = ['--stale-after', '5s', '--implicit-idle', '5s', '--session-timeout', '10s'] as const;
const PASSWORD = 'churn-admin-password';

/** How the phase is bounded. */
export interface ChurnOptions {
  readonly cycles: number;
  /** Whole phase, reaper wait included; traffic stops early enough to leave room for the wait. */
  readonly seconds: number;
  readonly seed: number;
}

/** The server's resources at one moment. */
interface Snapshot {
  /** Open descriptors of this process; null where /proc/self/fd does not exist. */
  readonly fds: number | null;
  /** Descriptors open on files of the library (video files the server reads). */
  readonly libraryFds: number | null;
  /** TCP connections whose server end is still open. */
  readonly serverConnections: number | null;
  readonly sessions: number;
  readonly metricsActive: number;
  /** Sessions silent for longer than stale-after that are still not stale: only an unfinished response does that. */
  readonly pinned: number;
  /** File handles Node closed on garbage collection so far: each one a handle the server never closed. */
  readonly gcClosed: number;
}

/** The slot probe: how many starts the server admitted when asked for all of them. */
interface SlotProbe {
  readonly admitted: number;
  readonly taken: number;
  /** False when a user-scope refusal made the count a bound rather than a figure. */
  readonly exact: boolean;
}

type Kind = 'sent' | 'request-head' | 'at-head' | 'mid-body' | 'after-body' | 'complete';
/** Where the response was when the connection ended, as the client saw it. */
type Stage = 'no-response' | 'in-head' | 'in-body' | 'after-body' | 'closed-by-server' | 'connect-failed' | 'timeout';

const KINDS: readonly (readonly [Kind, number])[] = [
  ['sent', 30],
  ['request-head', 8],
  ['at-head', 14],
  ['mid-body', 24],
  ['after-body', 10],
  ['complete', 14],
];
type SendDelay = 'sync' | 'write-callback' | 'immediate' | '1ms' | '2ms';
const SEND_DELAYS: readonly SendDelay[] = ['sync', 'write-callback', 'immediate', '1ms', '2ms'];

/** Everything one range request will do, drawn before it starts so a cycle's choices follow from its seed. */
interface Plan {
  readonly kind: Kind;
  readonly range: string | undefined;
  readonly reset: boolean;
  readonly delay: SendDelay;
  /** Share of the request head written (request-head) or of the body read (mid-body). */
  readonly share: number;
}

interface RangeOutcome {
  readonly stage: Stage;
  readonly status: number | null;
  /** Body bytes received of Content-Length. */
  readonly received: string;
  readonly badBytes: number;
  /** Request written → socket destroyed, for the cuts before the response. */
  readonly sendToDestroyMs: number | null;
}


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const bump = <K extends string | number>(m: Partial<Record<K, number>>, k: K): void => {
  m[k] = (m[k] ?? 0) + 1;
};

/**
 * One request on a connection of its own with `Connection: close`: nothing is pooled, so an idle
 * keep-alive socket (the server keeps them 65 s) never shows up in the descriptor count.
 */
function call(port: number, method: string, pathname: string, opts: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = { connection: 'close' };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const req = httpRequest({ host: HOST, port, method, path: pathname, headers, agent: false, timeout: CALL_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
        } catch {
          reject(new Error(`${method} ${pathname}: ${res.statusCode} with a body that is not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${pathname}: no answer within ${CALL_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Creates active viewers and logs them in, a few at a time (each costs two scrypt runs). */
async function makeViewers(port: number, adminToken: string, n: number, prefix: string): Promise<string[]> {
  const tokens: string[] = new Array(n);
  let next = 0;
  const one = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) {
      const username = `${prefix}${String(i).padStart(3, '0')}`;
      const password = `pw-${username}-pw`;
      const made = await call(port, 'POST', '/api/admin/users', { token: adminToken, body: { username, password } });
      if (made.status !== 201) throw new Error(`creating ${username}: ${made.status}`);
      const login = await call(port, 'POST', '/api/auth/login', { body: { username, password } });
      if (login.status !== 200) throw new Error(`login ${username}: ${login.status}`);
      tokens[i] = login.body.token as string;
    }
  };
  await Promise.all(Array.from({ length: 4 }, one));
  return tokens;
}

/** Socket inodes whose local port is `port` and that are not listening, from /proc/net/tcp{,6}. */
async function serverSideInodes(port: number): Promise<Set<string>> {
  const out = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (!local || f[3] === '0A') continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && f[9]) out.add(f[9]);
    }
  }
  return out;
}

let gcClosed = 0;

/**
 * Counts Node's "Closing file descriptor N on garbage collection" warnings instead of printing them (a
 * leak prints one per handle); other warnings print as before. Returns the undo.
 */
function countGcCloses(): () => void {
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  const onWarning = (w: Error): void => {
    if (/^Closing file descriptor \d+ on garbage collection/.test(w.message)) gcClosed++;
    else for (const print of printers) print(w);
  };
  process.on('warning', onWarning);
  return () => {
    process.off('warning', onWarning);
    for (const print of printers) process.on('warning', print);
  };
}

/** Counts this process's descriptors (the server runs here); null off Linux. */
async function countFds(libraryDir: string, port: number): Promise<Pick<Snapshot, 'fds' | 'libraryFds' | 'serverConnections'>> {
  let names: string[];
  try {
    names = await readdir('/proc/self/fd');
  } catch {
    return { fds: null, libraryFds: null, serverConnections: null };
  }
  const serverInodes = await serverSideInodes(port);
  let fds = 0;
  let libraryFds = 0;
  let serverConnections = 0;
  for (const n of names) {
    let target: string;
    try {
      target = await readlink(`/proc/self/fd/${n}`);
    } catch {
      continue; // the descriptor of the listing itself, closed by now
    }
    fds++;
    if (target.startsWith(`${libraryDir}${path.sep}`)) libraryFds++;
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m && serverInodes.has(m[1]!)) serverConnections++;
  }
  return { fds, libraryFds, serverConnections };
}

/** A full snapshot: descriptors, the session table in process, and the operator's metrics over HTTP. */
async function snapshot(server: RunningServer, config: Config, adminToken: string, libraryDir: string): Promise<Snapshot> {
  const metrics = await call(server.port, 'GET', '/api/admin/metrics', { token: adminToken });
  const now = Date.now();
  const active = server.streams.activeSessions();
  const pinned = active.filter((s) => !s.stale && now - s.lastActivity > config.staleAfterSeconds * 1000).length;
  const fds = await countFds(libraryDir, server.port);
  return { ...fds, sessions: active.length, metricsActive: metrics.body.active_streams as number, pinned, gcClosed };
}

/** Polls until `done` holds or `ms` pass; returns how long it waited. */
async function waitFor(ms: number, done: () => Promise<boolean>, every = 100): Promise<number> {
  const t0 = performance.now();
  while (!(await done()) && performance.now() - t0 < ms) await sleep(every);
  return Math.round(performance.now() - t0);
}

/**
 * Asks for every slot at once from users who hold none: with one user per `perUser` slots, the starts
 * admitted are exactly the free slots. Ends what it opened.
 */
async function probeSlots(port: number, tokens: readonly string[], contentId: string, maxStreams: number, perUser: number): Promise<SlotProbe> {
  const tries = tokens.flatMap((token) => Array.from({ length: perUser }, () => token));
  const got = await Promise.all(tries.map((token) => call(port, 'POST', `/api/stream/${contentId}/start`, { token }).then((r) => ({ ...r, token }))));
  const opened = got.filter((r) => r.status === 201);
  const userRefusals = got.filter((r) => r.status === 429 && r.body?.error?.details?.scope === 'user').length;
  const ends = await Promise.all(opened.map((r) => call(port, 'POST', `/api/stream/${contentId}/end`, { token: r.token, body: { session_id: r.body.session_id } })));
  const notEnded = ends.filter((e) => e.status !== 200).length;
  if (notEnded > 0) throw new Error(`slot probe: ${notEnded} of its own sessions did not end`);
  return { admitted: opened.length, taken: maxStreams - opened.length, exact: userRefusals === 0 };
}

function pick<T>(items: readonly (readonly [T, number])[], r: number): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = r * total;
  for (const [item, w] of items) {
    if ((x -= w) < 0) return item;
  }
  return items[items.length - 1]![0];
}

/** A Range header the way players send them, with a few whole-file and unsatisfiable requests among them. */
function pickRange(size: number, rnd: () => number): string | undefined {
  const r = rnd();
  const at = Math.floor(rnd() * size);
  if (r < 0.35) return `bytes=${at}-`;
  if (r < 0.7) return `bytes=${at}-${Math.min(size - 1, at + Math.floor(rnd() * 512 * 1024))}`;
  if (r < 0.8) return undefined;
  if (r < 0.92) return `bytes=-${1 + Math.floor(rnd() * 1024 * 1024)}`;
  return `bytes=${size}-`;
}

function plan(size: number, rnd: () => number): Plan {
  return {
    kind: pick(KINDS, rnd()),
    range: pickRange(size, rnd),
    reset: rnd() < 0.5,
    delay: SEND_DELAYS[Math.floor(rnd() * SEND_DELAYS.length)]!,
    share: rnd(),
  };
}

/** One range request on a raw socket of its own, cut as the plan says. Resolves when the socket has closed. */
function rangeRequest(port: number, pathname: string, headers: Record<string, string>, p: Plan, offsetFile: boolean): Promise<RangeOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port, noDelay: true });
    let connected = false;
    let head: Buffer | null = null;
    let headDone = false;
    let status: number | null = null;
    let length = 0;
    let first = 0;
    let body = 0;
    let target = 0;
    let badBytes = 0;
    let seenByte = false;
    let stage: Stage | null = null;
    let tWrite = -1;
    let sendToDestroyMs: number | null = null;

    const hangUp = (): void => {
      if (stage !== null) return;
      stage = !seenByte ? 'no-response' : !headDone ? 'in-head' : body < length ? 'in-body' : 'after-body';
      if (p.kind === 'sent' || p.kind === 'request-head') sendToDestroyMs = performance.now() - tWrite;
      if (p.reset) socket.resetAndDestroy();
      else socket.destroy();
    };
    const later = (): void => {
      switch (p.delay) {
        case 'sync':
          hangUp();
          return;
        case 'write-callback':
          return; // see the write below
        case 'immediate':
          setImmediate(hangUp);
          return;
        case '1ms':
          setTimeout(hangUp, 1);
          return;
        case '2ms':
          setTimeout(hangUp, 2);
          return;
      }
    };
    const guard = setTimeout(() => {
      if (stage !== null) return;
      stage = 'timeout';
      socket.destroy();
    }, RANGE_TIMEOUT_MS);

    // A reset that follows our own hang-up is expected; one before it shows as closed-by-server.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ stage: stage ?? (connected ? 'closed-by-server' : 'connect-failed'), status, received: `${body}/${length}`, badBytes, sendToDestroyMs });
    });
    socket.on('connect', () => {
      connected = true;
      const lines = [`GET ${pathname} HTTP/1.1`, `Host: ${HOST}:${port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      if (p.range !== undefined) lines.push(`Range: ${p.range}`);
      const bytes = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
      tWrite = performance.now();
      if (p.kind === 'request-head') {
        // Never the whole head: the closing CRLF CRLF is always cut short.
        socket.write(bytes.subarray(0, 1 + Math.floor(p.share * (bytes.length - 4))), p.delay === 'write-callback' ? hangUp : undefined);
        later();
      } else if (p.kind === 'sent') {
        socket.write(bytes, p.delay === 'write-callback' ? hangUp : undefined);
        later();
      } else {
        socket.write(bytes);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      if (stage !== null) return;
      seenByte = true;
      let piece = chunk;
      if (!headDone) {
        head = head ? Buffer.concat([head, chunk]) : chunk;
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (p.kind === 'at-head' || head.length > 16 * 1024) hangUp();
          return;
        }
        const text = head.toString('latin1', 0, end);
        status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
        const len = /\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1];
        length = len === undefined ? Infinity : Number(len);
        first = Number(/\r\ncontent-range:\s*bytes (\d+)-/i.exec(text)?.[1] ?? 0);
        headDone = true;
        piece = head.subarray(end + 4);
        target = Math.min(Math.max(1, Math.floor(p.share * length)), Math.max(1, length - 1));
      }
      if (piece.length > 0) {
        if (offsetFile && (status === 200 || status === 206)) {
          // Spot checks: the first and last byte of every piece is where the offset pattern says.
          if (piece[0] !== (first + body) % 251) badBytes++;
          if (piece[piece.length - 1] !== (first + body + piece.length - 1) % 251) badBytes++;
        }
        body += piece.length;
      }
      switch (p.kind) {
        case 'sent':
        case 'request-head':
          return; // the hang-up is on its timer; what arrived before it shows in the stage
        case 'at-head':
          hangUp();
          return;
        case 'mid-body':
          if (body >= target) hangUp();
          return;
        case 'after-body':
          if (body >= length) hangUp();
          return;
        case 'complete':
          if (body >= length) {
            stage = 'after-body';
            socket.end();
          }
          return;
      }
    });
  });
}

/** What the traffic saw. */
interface Traffic {
  cycles: number;
  bareCycles: number;
  starts: Partial<Record<string, number>>;
  ends: Partial<Record<number, number>>;
  abandoned: number;
  rangeRequests: number;
  rangeStatus: Partial<Record<number, number>>;
  stages: Record<Kind, Partial<Record<Stage, number>>>;
  sendToDestroyMs: number[];
  /** The first few connections the server closed before the client was done with them. */
  closedByServer: string[];
  badBytes: number;
  errors: Partial<Record<string, number>>;
}

interface Target {
  readonly id: string;
  readonly size: number;
  readonly offsetFile: boolean;
}

async function cycle(port: number, i: number, seed: number, tokens: readonly string[], targets: readonly [Target, Target], t: Traffic): Promise<void> {
  const rnd = generator(seed ^ Math.imul(i + 1, 0x9e3779b1));
  const target = rnd() < 0.7 ? targets[0] : targets[1];
  const token = tokens[Math.floor(rnd() * tokens.length)]!;
  const bare = rnd() < 1 / 7;
  const plans = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => plan(target.size, rnd));
  const stagger = plans.map(() => rnd() * 3);
  const endIt = rnd() < 0.7;
  const position = Math.round(rnd() * 600);
  t.cycles++;
  let pathname = `/api/stream/${target.id}`;
  let headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let sessionId: string | undefined;
  if (bare) {
    t.bareCycles++;
  } else {
    const r = await call(port, 'POST', `/api/stream/${target.id}/start`, { token });
    bump(t.starts, r.status === 429 ? `429 ${r.body?.error?.details?.scope}` : String(r.status));
    if (r.status !== 201) {
      await sleep(50 + rnd() * 100); // a player backs off a refusal
      return;
    }
    sessionId = r.body.session_id as string;
    pathname = r.body.stream_url as string;
    headers = {};
  }
  const outcomes = await Promise.all(plans.map((p, j) => sleep(stagger[j]!).then(() => rangeRequest(port, pathname, headers, p, target.offsetFile))));
  outcomes.forEach((o, j) => {
    const p = plans[j]!;
    t.rangeRequests++;
    if (o.status !== null) bump(t.rangeStatus, o.status);
    bump(t.stages[p.kind], o.stage);
    if (o.sendToDestroyMs !== null) t.sendToDestroyMs.push(o.sendToDestroyMs);
    if (o.stage === 'closed-by-server' && t.closedByServer.length < 5) t.closedByServer.push(`${p.kind} ${bare ? 'token' : 'session'} range=${p.range ?? 'none'} status=${o.status ?? 'none'} body=${o.received}`);
    t.badBytes += o.badBytes;
  });
  if (sessionId === undefined) return;
  if (endIt) {
    const e = await call(port, 'POST', `/api/stream/${target.id}/end`, { token, body: { session_id: sessionId, position } });
    bump(t.ends, e.status);
  } else {
    t.abandoned++;
  }
}

/** What the phase found; `failures` names whatever did not come back to the baseline. */
export interface ChurnResult {
  readonly report: Record<string, unknown>;
  readonly table: string;
  readonly failures: readonly string[];
}

/** Runs the whole phase on a server of its own and stops it. */
export async function runChurn(opts: ChurnOptions): Promise<ChurnResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wsoptv-churn-'));
  const libraryDir = path.join(dir, 'library');
  await mkdir(libraryDir);
  await copySample(libraryDir, 'final-table.mp4');
  await writeOffsetFile(path.join(libraryDir, 'offset-24mib.mp4'), OFFSET_FILE_BYTES);
  const config = loadConfig(['--library', libraryDir, '--data', path.join(dir, 'data'), '--port', '0', '--host', HOST, ...TIMINGS, ...LIMITS], { WSOPTV_ADMIN_PASSWORD: PASSWORD });
  const server = await startServer(config, { log: createLogger('warn') });
  const restoreWarnings = countGcCloses();
  try {
    if (!server.url.startsWith(`http://${HOST}:`)) throw new Error(`the churn server answers on ${server.url}, not ${HOST}`);
    return await churnAgainst(server, config, await realpath(libraryDir), opts);
  } finally {
    await server.close(500);
    restoreWarnings();
    await rm(dir, { recursive: true, force: true });
  }
}

async function churnAgainst(server: RunningServer, config: Config, libraryDir: string, opts: ChurnOptions): Promise<ChurnResult> {
  const port = server.port;
  const tSetup = performance.now();
  const admin = await call(port, 'POST', '/api/auth/login', { body: { username: 'admin', password: PASSWORD } });
  const adminToken = admin.body.token as string;
  const tokens = await makeViewers(port, adminToken, CHURN_USERS, 'churn');
  const probeTokens = await makeViewers(port, adminToken, Math.ceil(config.maxStreams / config.maxStreamsPerUser), 'probe');
  const byPath = (rel: string): Target => {
    const c = server.library.list().find((x) => x.relPath === rel);
    if (!c) throw new Error(`${rel} is not in the catalogue`);
    return { id: c.id, size: c.size, offsetFile: rel.startsWith('offset') };
  };
  const targets = [byPath('offset-24mib.mp4'), byPath('final-table.mp4')] as const;
  const probe = (): Promise<SlotProbe> => probeSlots(port, probeTokens, targets[1].id, config.maxStreams, config.maxStreamsPerUser);
  const snap = (): Promise<Snapshot> => snapshot(server, config, adminToken, libraryDir);
  const setupMs = Math.round(performance.now() - tSetup);

  // Baseline: once whatever ran before has let go of its connections and the count holds still.
  const slotsBefore = await probe();
  let last = -1;
  await waitFor(BASELINE_SETTLE_MS, async () => {
    const c = await countFds(libraryDir, port);
    const still = c.fds === last && (c.serverConnections ?? 0) === 0;
    last = c.fds ?? -1;
    return still;
  }, 250);
  const before = await snap();

  const reapRoundMs = Math.min(5_000, Math.max(250, (config.staleAfterSeconds * 1000) / 4)); // app/stream/index.ts
  const reapBoundMs = config.sessionTimeoutSeconds * 1000 + 2 * reapRoundMs + 1_000;
  const tailMs = reapBoundMs + SETTLE_MS + 5_000;
  if (opts.seconds * 1000 < tailMs + 5_000) throw new Error(`--seconds must be at least ${Math.ceil((tailMs + 5_000) / 1000)}: the reaper wait alone takes up to ${reapBoundMs / 1000} s`);
  const t0 = performance.now();
  const trafficDeadline = t0 + opts.seconds * 1000 - tailMs;

  const ended: Partial<Record<EndReason, number>> = {};
  const unsubscribe = server.streams.bus.on('stream.ended', (e) => bump(ended, e.reason));
  const t: Traffic = {
    cycles: 0,
    bareCycles: 0,
    starts: {},
    ends: {},
    abandoned: 0,
    rangeRequests: 0,
    rangeStatus: {},
    stages: { sent: {}, 'request-head': {}, 'at-head': {}, 'mid-body': {}, 'after-body': {}, complete: {} },
    sendToDestroyMs: [],
    closedByServer: [],
    badBytes: 0,
    errors: {},
  };
  let next = 0;
  let deadlineHit = false;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < opts.cycles) {
        if (performance.now() >= trafficDeadline) {
          deadlineHit = true;
          return;
        }
        const i = next++;
        await cycle(port, i, opts.seed, tokens, targets, t).catch((err: Error) => bump(t.errors, err.message.slice(0, 120)));
      }
    }),
  );
  const trafficMs = Math.round(performance.now() - t0);

  // Abandoned sessions are the reaper's: wait until the table is back to its size, at most one timeout and two rounds.
  const reapWaitMs = await waitFor(reapBoundMs, async () => server.streams.activeSessions().length <= before.sessions, 250);
  const settleMs = await waitFor(SETTLE_MS, async () => {
    const c = await countFds(libraryDir, port);
    return (c.fds ?? 0) <= (before.fds ?? 0) && (c.serverConnections ?? 0) <= (before.serverConnections ?? 0);
  });
  unsubscribe();
  const after = await snap();
  const slotsAfter = await probe();

  // Leftovers, if any, end by admin DELETE: shows whether their slots come back once the session is gone.
  let leftovers: Record<string, unknown> | null = null;
  const left = server.streams.activeSessions();
  if (left.length > before.sessions) {
    let deleted = 0;
    for (const s of left) {
      if ((await call(port, 'DELETE', `/api/admin/streams/${s.sessionId}`, { token: adminToken })).status === 200) deleted++;
    }
    await sleep(500);
    const s = await snap();
    const p = await probe();
    leftovers = { ended_by_admin_delete: deleted, then: { fds: s.fds, library_fds: s.libraryFds, server_connections: s.serverConnections, sessions: s.sessions, slots_taken: p.taken } };
  }

  const failures: string[] = [];
  const rows: [string, number | null, number | null, string][] = [
    ['open fds', before.fds, after.fds, '/proc/self/fd'],
    ['  on library files', before.libraryFds, after.libraryFds, 'video files held open'],
    ['  server connections', before.serverConnections, after.serverConnections, 'server-side TCP sockets'],
    ['  closed by the GC, not by code', before.gcClosed, after.gcClosed, 'file handles nothing closed'],
    ['active sessions', before.sessions, after.sessions, `metrics active_streams ${after.metricsActive}`],
    ['slots taken (server)', slotsBefore.taken, slotsAfter.taken, `probe admitted ${slotsAfter.admitted} of ${config.maxStreams}${slotsAfter.exact ? '' : ', inexact'}`],
    ['in-flight (pinned sessions)', before.pinned, after.pinned, `sessions silent > ${config.staleAfterSeconds}s yet not stale`],
  ];
  const lines = rows
    .map(([name, b, a, note]) => {
      const ok = a === null || b === null || a <= b;
      if (!ok) failures.push(`${name.trim()} ${b} -> ${a}${note ? ` (${note})` : ''}`);
      const cell = (v: number | null): string => (v === null ? 'n/a' : String(v)).padStart(8);
      return `  ${name.padEnd(32)}${cell(b)}${cell(a)}  ${ok ? 'ok  ' : 'LEAK'}  ${note}`;
    })
    .join('\n');
  const table = `churn: baseline vs after (abandoned sessions left to the reaper)\n  ${''.padEnd(32)}${'baseline'.padStart(8)}${'after'.padStart(8)}\n${lines}`;
  if (after.metricsActive !== after.sessions) failures.push(`metrics active_streams ${after.metricsActive} but ${after.sessions} sessions in the table`);
  const fiveXX = [t.rangeStatus, t.ends, t.starts].reduce((n, m) => n + Object.entries(m).reduce((k, [s, c]) => k + (Number.parseInt(s, 10) >= 500 ? (c ?? 0) : 0), 0), 0);
  if (fiveXX > 0) failures.push(`${fiveXX} answers with status 5xx`);
  const timeouts = Object.values(t.stages).reduce((n, s) => n + (s.timeout ?? 0), 0);
  if (timeouts > 0) failures.push(`${timeouts} range requests got no complete answer within ${RANGE_TIMEOUT_MS} ms`);
  if (t.badBytes > 0) failures.push(`${t.badBytes} body bytes not where the offset file has them`);
  const errorCount = Object.values(t.errors).reduce<number>((n, c) => n + (c ?? 0), 0);
  if (errorCount > 0) failures.push(`${errorCount} cycles failed: ${Object.keys(t.errors).join('; ')}`);
  if (t.cycles === 0) failures.push('no cycle ran');

  const sorted = [...t.sendToDestroyMs].sort((a, b) => a - b);
  const q = (f: number): number => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] ?? 0) * 100) / 100;
  const report = {
    phase: 'churn',
    server: server.url,
    seed: opts.seed,
    limits: { server: config.maxStreams, per_user: config.maxStreamsPerUser },
    timings: { stale_after_s: config.staleAfterSeconds, implicit_idle_s: config.implicitIdleSeconds, session_timeout_s: config.sessionTimeoutSeconds },
    files: { [targets[0].id]: `offset file, ${targets[0].size} bytes`, [targets[1].id]: `sample clip, ${targets[1].size} bytes` },
    users: CHURN_USERS,
    concurrency: CONCURRENCY,
    cycles: { asked: opts.cycles, ran: t.cycles, bare: t.bareCycles, stopped_by_deadline: deadlineHit },
    starts: t.starts,
    ends: t.ends,
    abandoned: t.abandoned + t.bareCycles,
    range_requests: t.rangeRequests,
    range_status: t.rangeStatus,
    cut_by_kind: t.stages,
    closed_by_server_examples: t.closedByServer,
    // The 1 ms and 2 ms timers run late when the event loop is busy (client and server share it).
    send_to_destroy_ms: { p50: q(0.5), p99: q(0.99), max: q(1), within_2ms: `${sorted.filter((x) => x <= 2).length} of ${sorted.length}` },
    sessions_ended_by_reason: ended,
    abandoned_sessions: 'left to the reaper (bounded wait); leftovers, if any, ended by admin DELETE after the final numbers',
    ms: { setup: setupMs, traffic: trafficMs, reaper_wait: reapWaitMs, reaper_wait_bound: reapBoundMs, fd_settle: settleMs },
    leftovers,
  };
  return { report, table, failures };
}
