/**
 * A bounded load test of stream starts: N users fire M concurrent `/start` calls in all against a
 * running server on loopback, then end every session they got. It reports the outcome by status and
 * the active-stream count at the end (which must be 0: no slot leaked). Then the churn phase
 * (scripts/load-churn.ts): bounded cycles of start, range requests cut at random points, and /end or
 * abandon, checked against a baseline of descriptors, sessions, in-flight responses and slots.
 *
 *   npm run load -- [--users 50] [--calls 150] [--cycles 2000] [--seconds 60] [--seed N]
 *
 * Each phase starts its own server on 127.0.0.1 over a temp library and data folder, and stops it after.
 * Exits non-zero on a 5xx, a leaked slot, or anything the churn did not give back.
 */
import { mkdtemp, rm, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../app/config/config.ts';
import { startServer } from '../app/compose.ts';
import { createLogger } from '../app/log.ts';
import { runChurn } from './load-churn.ts';

/** What one load run saw. */
export interface StartLoadResult {
  readonly calls: number;
  readonly byStatus: Readonly<Record<number, number>>;
  readonly byScope: Readonly<Record<string, number>>;
  readonly ended: number;
  readonly activeAfter: number;
  readonly ms: number;
}

async function json(url: string, init: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Creates `users` active viewers through the admin API and returns their tokens. */
export async function makeUsers(base: string, adminToken: string, users: number, prefix = 'load'): Promise<string[]> {
  const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const tokens: string[] = [];
  for (let i = 0; i < users; i++) {
    const username = `${prefix}${String(i).padStart(3, '0')}`;
    const password = `pw-${username}-pw`;
    const made = await json(`${base}/api/admin/users`, { method: 'POST', headers: admin, body: JSON.stringify({ username, password }) });
    if (made.status !== 201) throw new Error(`creating ${username}: ${made.status}`);
    const login = await json(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    if (login.status !== 200) throw new Error(`login ${username}: ${login.status}`);
    tokens.push(login.body.token as string);
  }
  return tokens;
}

/** Fires `calls` concurrent starts spread round-robin over the users' tokens, then ends every session. */
export async function runStartLoad(base: string, adminToken: string, tokens: readonly string[], contentId: string, calls: number): Promise<StartLoadResult> {
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: calls }, (_, i) => {
      const token = tokens[i % tokens.length]!;
      return json(`${base}/api/stream/${contentId}/start`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).then((r) => ({ ...r, token }));
    }),
  );
  const byStatus: Record<number, number> = {};
  const byScope: Record<string, number> = {};
  for (const r of results) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    if (r.status === 429) byScope[r.body.error.details.scope] = (byScope[r.body.error.details.scope] ?? 0) + 1;
  }
  const opened = results.filter((r) => r.status === 201);
  const ends = await Promise.all(
    opened.map((r) =>
      json(`${base}/api/stream/${contentId}/end`, {
        method: 'POST',
        headers: { authorization: `Bearer ${r.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ session_id: r.body.session_id }),
      }),
    ),
  );
  const metrics = await json(`${base}/api/admin/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
  return {
    calls,
    byStatus,
    byScope,
    ended: ends.filter((e) => e.status === 200).length,
    activeAfter: metrics.body.active_streams as number,
    ms: Math.round(performance.now() - t0),
  };
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: number, min = 1, max = 10_000): number => {
    const i = process.argv.indexOf(`--${name}`);
    const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${name} must be a whole number from ${min} to ${max}`);
    return v;
  };
  const users = arg('users', 50);
  const calls = arg('calls', 150);
  const churn = { cycles: arg('cycles', 2000, 1, 100_000), seconds: arg('seconds', 60, 30, 600), seed: arg('seed', Math.floor(Math.random() * 2 ** 31), 0, 2 ** 31 - 1) };
  // Whatever hangs, the run ends: the churn's own bound plus a margin for the start phase and set-up.
  const watchdog = setTimeout(() => {
    process.stderr.write(`load: still running after ${churn.seconds + 90} s; giving up\n`);
    process.exit(1);
  }, (churn.seconds + 90) * 1000);
  try {
    await startPhase(users, calls);
    const r = await runChurn(churn);
    process.stdout.write(`${JSON.stringify(r.report, null, 2)}\n`);
    process.stdout.write(`${r.table}\n`);
    if (r.failures.length > 0) {
      process.stdout.write(`churn: NOT back to baseline: ${r.failures.join('; ')}\n`);
      process.exitCode = 1;
    } else {
      process.stdout.write('churn: everything back to baseline\n');
    }
  } finally {
    clearTimeout(watchdog);
  }
}

async function startPhase(users: number, calls: number): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wsoptv-load-'));
  const library = path.join(dir, 'library');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(library);
  await copyFile(path.join(PROJECT_ROOT, 'samples', 'wsop-sample-heads-up.mp4'), path.join(library, 'clip.mp4'));
  const password = 'load-admin-password';
  const config = loadConfig(['--library', library, '--data', path.join(dir, 'data'), '--port', '0', '--host', '127.0.0.1'], { WSOPTV_ADMIN_PASSWORD: password });
  const server = await startServer(config, { log: createLogger('warn') });
  try {
    const login = await json(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    const adminToken = login.body.token as string;
    const tokens = await makeUsers(server.url, adminToken, users);
    const contentId = server.library.list()[0]!.id;
    const r = await runStartLoad(server.url, adminToken, tokens, contentId, calls);
    process.stdout.write(`${JSON.stringify({ users, limits: { server: config.maxStreams, per_user: config.maxStreamsPerUser }, ...r }, null, 2)}\n`);
    const fiveXX = Object.entries(r.byStatus).filter(([s]) => Number(s) >= 500).length;
    if (fiveXX > 0 || r.activeAfter !== 0) process.exitCode = 1;
  } finally {
    await server.close(500);
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) await main();
