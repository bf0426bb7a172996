/**
 * The three loads the bench puts on a server: a seeker timing 64 KiB ranges at random offsets, paced
 * background viewers (a child process, bench/viewers.ts), and unpaced readers (wrk with a Lua script
 * asking for open-ended ranges at random offsets). Each is bounded by a count or a time limit.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { isOffsetSlice } from './fixtures.ts';
import { cpuSeconds, spawnTracked, stopTracked, type Tracked } from './procs.ts';
import { RawConnection } from './raw-http.ts';
import type { ConsolePlan, ConsoleStats } from './consoles.ts';
import type { ViewerPlan, ViewerStats } from './viewers.ts';

/** A server under test, reached on loopback. */
export interface Target {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Path of the large file on this server. */
  readonly path: string;
  readonly size: number;
  /** The process whose memory and CPU time are measured (our server; nginx's worker). */
  memoryPid(): number;
}

/** What a run of seeks measured. */
export interface SeekResult {
  readonly ttfbMs: readonly number[];
  readonly totalMs: readonly number[];
  readonly errors: number;
  /** Bodies that were not byte-exact. */
  readonly mismatches: number;
  readonly connects: number;
  readonly firstError: string | null;
}

/** Size of one seek's range, what a player asks for first after a seek. */
export const SEEK_BYTES = 64 * 1024;
/**
 * Pause between seeks, uniform in this range: about 80 seeks a second, a busy evening of a hundred
 * viewers scrubbing, not a flood that would measure the seeker's own load. Random pauses also spread the
 * samples over the viewers' bursts.
 */
const SEEK_GAP_MS = [5, 15] as const;
const SEEK_TIMEOUT_MS = 10_000;

/** Times `count` seeks, one after another on one keep-alive connection, and checks every body byte. */
export async function runSeeks(t: Target, count: number, headers: Record<string, string>): Promise<SeekResult> {
  const conn = new RawConnection(t.host, t.port);
  const ttfbMs: number[] = [];
  const totalMs: number[] = [];
  let errors = 0;
  let mismatches = 0;
  let firstError: string | null = null;
  try {
    for (let i = 0; i < count; i++) {
      const start = Math.floor(Math.random() * (t.size - SEEK_BYTES));
      const end = start + SEEK_BYTES - 1;
      try {
        const r = await conn.get(t.path, { headers: { ...headers, Range: `bytes=${start}-${end}` }, keepBody: true, timeoutMs: SEEK_TIMEOUT_MS });
        if (r.status !== 206) {
          errors++;
          firstError ??= `status ${r.status}`;
          continue;
        }
        ttfbMs.push(r.ttfbMs);
        totalMs.push(r.totalMs);
        if (r.body === null || r.body.length !== SEEK_BYTES || !isOffsetSlice(r.body, start)) mismatches++;
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, SEEK_GAP_MS[0] + Math.random() * (SEEK_GAP_MS[1] - SEEK_GAP_MS[0])));
    }
  } finally {
    conn.close();
  }
  return { ttfbMs, totalMs, errors, mismatches, connects: conn.connects, firstError };
}

/** Paced viewers running in a child process. */
export interface Viewers {
  /** Stops them and returns what they did. */
  stop(): Promise<ViewerStats>;
}

/** How fast a background viewer reads: a 1080p broadcast stream. */
export const VIEWER_BITS_PER_SECOND = 8.5e6;
/** One viewer read; at 8.5 Mbit/s one is due about every second. */
export const VIEWER_CHUNK = 1024 * 1024;

/** Waits for the child's next IPC message of `type`; rejects on timeout or when the child exits first. */
function childMessage<M extends { type: string }>(child: Tracked, what: string, type: string, timeoutMs: number): Promise<M> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${what}: no '${type}' within ${timeoutMs} ms:\n${child.output()}`)), timeoutMs);
    const onMessage = (m: M): void => {
      if (m.type === type) done(null, m);
    };
    const onExit = (): void => done(new Error(`${what} exited before '${type}':\n${child.output()}`));
    const done = (err: Error | null, m?: M): void => {
      clearTimeout(timer);
      child.child.off('message', onMessage);
      child.child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m!);
    };
    child.child.on('message', onMessage);
    child.child.once('exit', onExit);
  });
}

/**
 * Runs a bench child (`bench/<script>`) with an IPC plan: start it, wait for 'running'; `stop` asks for its
 * 'stats' and ends it.
 */
async function startChild<S>(script: string, what: string, plan: unknown): Promise<{ stop(): Promise<S> }> {
  const child: Tracked = spawnTracked(what, process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', script)], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  try {
    const running = childMessage(child, what, 'running', 30_000);
    child.child.send({ type: 'start', plan });
    await running;
  } catch (err) {
    await stopTracked(child);
    throw err;
  }
  return {
    async stop() {
      try {
        const stats = childMessage<{ type: string; stats?: S }>(child, what, 'stats', 30_000);
        child.child.send({ type: 'stop' });
        return (await stats).stats!;
      } finally {
        await stopTracked(child);
      }
    },
  };
}

/** Every response checked on one server: bodies compared with the file, and failures. */
export interface Checks {
  bodies: number;
  wrong: number;
  errors: number;
  firstProblem: string | null;
}

/** No response checked yet. */
export const newChecks = (): Checks => ({ bodies: 0, wrong: 0, errors: 0, firstProblem: null });

/** Adds a run of seeks to the checks. */
export function tallySeeks(c: Checks, r: SeekResult): void {
  c.bodies += r.ttfbMs.length;
  c.wrong += r.mismatches;
  c.errors += r.errors;
  c.firstProblem ??= r.firstError ?? (r.mismatches > 0 ? 'a seek body differed from the file' : null);
}

/** Adds what the viewers read to the checks. */
export function tallyViewers(c: Checks, v: ViewerStats): void {
  c.bodies += v.requests;
  c.wrong += v.wrongBodies;
  c.errors += v.errors;
  c.firstProblem ??= v.firstError ?? (v.wrongBodies > 0 ? 'a viewer body differed from the file' : null);
}

/** After viewers start, wait past one read period so every one of them has a connection and a read behind it. */
export const VIEWER_SETTLE_MS = 1_500;

/** Times `seeks` seeks while `viewers` paced viewers read (none when 0), then stops the viewers. */
export async function seeksWithViewers(t: Target, viewers: number, seeks: number, headers: Record<string, string>): Promise<{ seeks: SeekResult; viewers: ViewerStats | null }> {
  const running = viewers > 0 ? await startViewers(t, viewers, headers) : null;
  try {
    if (running) await new Promise((resolve) => setTimeout(resolve, VIEWER_SETTLE_MS));
    const r = await runSeeks(t, seeks, headers);
    return { seeks: r, viewers: running ? await running.stop() : null };
  } catch (err) {
    await running?.stop().catch(() => undefined);
    throw err;
  }
}

/** Starts `n` paced viewers against `t` (each on its own path when `paths` are given, seeking and aborting as `behaviour` says); resolves once they are running. */
export function startViewers(
  t: Target,
  n: number,
  headers: Record<string, string>,
  paths?: readonly string[],
  behaviour: Pick<ViewerPlan, 'seekShare' | 'abortShare' | 'checkAll'> = {},
): Promise<Viewers> {
  const plan: ViewerPlan = { host: t.host, port: t.port, path: t.path, paths, size: t.size, viewers: n, chunkBytes: VIEWER_CHUNK, bitsPerSecond: VIEWER_BITS_PER_SECOND, headers, ...behaviour };
  return startChild<ViewerStats>('viewers.ts', 'viewers', plan);
}

/** Opens `n` operator consoles (live feeds) on our server; resolves once each has its snapshot. */
export function startConsoles(t: Target, n: number, headers: Record<string, string>): Promise<{ stop(): Promise<ConsoleStats> }> {
  const plan: ConsolePlan = { host: t.host, port: t.port, consoles: n, headers };
  return startChild<ConsoleStats>('consoles.ts', 'consoles', plan);
}

/** What one wrk run measured. */
export interface ThroughputResult {
  readonly connections: number;
  /** Decimal megabytes (10^6 bytes) per second, body and headers as read off the socket. */
  readonly mbPerSecond: number;
  readonly bytes: number;
  readonly seconds: number;
  /** Responses completed (most are still running when the time is up). */
  readonly requests: number;
  readonly errors: number;
  /** CPU seconds the server process used during the run (user + system, every thread). */
  readonly serverCpuSeconds: number;
  /** Megabytes served per server CPU-second: what a small box's cores buy. */
  readonly mbPerCpuSecond: number;
}

/**
 * wrk script: every request is an open-ended Range (`bytes=N-`) from a random 4 KiB-aligned offset,
 * what a player sends when it starts or seeks and then reads as fast as the socket allows; the -H
 * headers (auth) are kept; `done` prints exact totals, which wrk's own summary rounds. wrk counts every
 * byte read, so a response still running when the time is up counts as far as it got.
 */
const WRK_LUA = `
local size
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  size = tonumber(args[1])
  math.randomseed(os.time() * 1000 + tid)
end
function request()
  local start = math.random(0, math.floor(size / 4096) - 1) * 4096
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  h["Range"] = string.format("bytes=%.0f-", start)
  return wrk.format("GET", wrk.path, h)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH bytes=%.0f duration_us=%.0f requests=%.0f errors=%.0f\\n",
    summary.bytes, summary.duration, summary.requests, e.connect + e.read + e.write + e.status + e.timeout))
end
`;

/** Writes the wrk script into `dir`; returns its path. */
export async function writeWrkScript(dir: string): Promise<string> {
  const file = path.join(dir, 'range.lua');
  await writeFile(file, WRK_LUA);
  return file;
}

/** Runs wrk with `connections` unpaced readers for `seconds` against `t`. */
export async function runWrk(t: Target, script: string, connections: number, seconds: number, headers: Record<string, string>): Promise<ThroughputResult> {
  // The timeout outlasts the run: an open-ended range of a slow reader is still a good response.
  const args = [`-t${Math.min(2, connections)}`, `-c${connections}`, `-d${seconds}s`, '--timeout', `${seconds + 30}s`, '-s', script];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(`http://${t.host}:${t.port}${t.path}`, '--', String(t.size));
  const pid = t.memoryPid();
  const cpu0 = cpuSeconds(pid);
  const wrk = spawnTracked('wrk', 'wrk', args);
  const timer = setTimeout(() => void stopTracked(wrk), (seconds + 30) * 1000);
  const code = await wrk.exited;
  const cpu = cpuSeconds(pid) - cpu0;
  clearTimeout(timer);
  const m = /BENCH bytes=(\d+) duration_us=(\d+) requests=(\d+) errors=(\d+)/.exec(wrk.output());
  if (code !== 0 || !m) throw new Error(`wrk failed (${code}):\n${wrk.output()}`);
  const bytes = Number(m[1]);
  const secondsRun = Number(m[2]) / 1e6;
  return {
    connections,
    mbPerSecond: bytes / 1e6 / secondsRun,
    bytes,
    seconds: secondsRun,
    requests: Number(m[3]),
    errors: Number(m[4]),
    serverCpuSeconds: cpu,
    mbPerCpuSecond: cpu > 0 ? bytes / 1e6 / cpu : NaN,
  };
}
