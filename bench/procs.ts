/**
 * The child processes the bench starts (our server, nginx, wrk, the paced viewers), tracked by pid so
 * that exactly those, and nothing else on this shared machine, are stopped on success, error or Ctrl-C.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A child we started, with the tail of what it printed (for error messages). */
export interface Tracked {
  readonly child: ChildProcess;
  readonly name: string;
  readonly pid: number;
  /** Last few KiB of stdout+stderr. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the child has exited. */
  readonly exited: Promise<number | string>;
}

const OUTPUT_TAIL = 8 * 1024;
const live = new Set<Tracked>();

/** Starts a child and tracks it; stdout/stderr are drained into a small tail buffer. */
export function spawnTracked(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): Tracked {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(tracked);
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      keep(Buffer.from(`\n${err.message}`));
      live.delete(tracked);
      resolve('error');
    });
  });
  const tracked: Tracked = { child, name, pid: child.pid, output: () => tail, exited };
  live.add(tracked);
  return tracked;
}

/** Stops one child: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopTracked(t: Tracked, graceMs = 3_000): Promise<void> {
  if (!live.has(t)) return;
  t.child.kill('SIGTERM');
  const timer = setTimeout(() => t.child.kill('SIGKILL'), graceMs);
  await t.exited;
  clearTimeout(timer);
}

/** Stops every child still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((t) => stopTracked(t)));
}

/** Last resort from a synchronous 'exit' handler: SIGKILL whatever is left. */
export function killAllSync(): void {
  for (const t of live) t.child.kill('SIGKILL');
}

/** A TCP port free on loopback right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Resident set size of a process, from /proc/<pid>/status VmRSS, in KiB. */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux everywhere in practice). */
const USER_HZ = 100;

/** CPU seconds a process (all its threads) has used so far, user + system, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/** Direct children of a process (nginx's worker under its master), from /proc. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** Polls `probe` every 100 ms until it returns true; throws after `timeoutMs` or when `t` exits first. */
export async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>, t?: Tracked): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void t?.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${t!.name} exited before ${what}:\n${t!.output()}`);
    if (await probe().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${t ? `:\n${t.output()}` : ''}`);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
