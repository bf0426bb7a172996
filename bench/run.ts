/**
 * `npm run bench`: how the server serves video ranges on this machine, next to nginx serving the same
 * file in the same run. Measures seek time-to-first-byte under paced background viewers, aggregate
 * throughput of unpaced readers (wrk), memory per stream, and a 1,000-file catalogue scan; prints a
 * table and rewrites the results section of docs/performance.md.
 *
 * Everything is bounded (counts and time limits), talks only to 127.0.0.1, and stops exactly the
 * processes it started, also on error or Ctrl-C. Every seek body is compared with the file byte for byte
 * and viewer bodies by sampling; a wrong byte makes the run exit 1. Options (after `npm run bench --`):
 * --rounds N (default 3), --seconds S per wrk run (default 6), --seeks N per level (default 500),
 * --size-mib N (default 1024), --no-nginx, --no-write (leave docs/performance.md alone). --sendfile off (our server copies bodies, for the A/B).
 * `npm run bench -- cache [--seed N --seeds K --no-write]` runs only the SSD tier's simulation (bench/cache-sim.ts).
 * `npm run bench -- hosts [--seed N --seeds K --viewers-per-host V --no-write]` routes that month across 2, 4 and 8 hosts
 * (bench/hosts-sim.ts) and rewrites its section of docs/scaling.md.
 * `npm run bench -- promotion [--rounds N --seeks N --promote-mib N --no-write]` runs only the promotion under
 * load (bench/promotion.ts); it is its own step, not part of the full run, whose time it would nearly double.
 * `npm run bench -- ttff [--rounds N --spin-up S --no-write]` runs only the time to first frame from a sleeping
 * NAS in headless Chromium (bench/ttff.ts).
 *
 * `npm run bench -- soak [--minutes N --no-write]` runs only the soak (bench/soak.ts, default 10 minutes): 100 paced
 * viewers with seeks and aborts, every body byte checked, the server's RSS, fds and event-loop delay sampled
 * every 10 s; the full run includes it only with `--soak` (and `--minutes N`), since it would triple its length.
 * Every wrk run also reads the server's CPU time, for MB per server CPU-second. The run ends with the list of
 * the bars it missed (issue 11's: seek p50/p99 against nginx, throughput at 8 and 100 readers, CPU per byte,
 * RSS per stream, the soak).
 *
 * `npm run bench -- console` is a separate step: seek p99 with 100 paced streams (each its own session),
 * without and then with 10 operator consoles on the live feed, alternating, to show the feed costs the
 * streams nothing that matters (bar: less than 10 % higher p99).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { runCacheSimulation } from './cache-sim.ts';
import { runHostsSimulation } from './hosts-sim.ts';
import { warmPageCache, writeOffsetFile } from './fixtures.ts';
import { type Checks, newChecks, runSeeks, runWrk, SEEK_BYTES, type SeekResult, seeksWithViewers, startConsoles, startViewers, tallySeeks, tallyViewers, VIEWER_BITS_PER_SECOND, VIEWER_CHUNK, VIEWER_SETTLE_MS, writeWrkScript, type Target, type ThroughputResult } from './load.ts';
import { childPids, freePort, killAllSync, rssKiB, sleep, spawnTracked, stopAll, waitUntil, type Tracked } from './procs.ts';
import { RawConnection } from './raw-http.ts';
import { authHeaders, contentId, HOST, openSessions, startServer } from './our-server.ts';
import { runPromotionBench } from './promotion.ts';
import { runTtffBench } from './ttff.ts';
import { codeVersion, CONSOLE_RESULTS, fmt, machine, markdownTable, median, percentile, textTable, wholeNumber, writeMarkedSection, writeResultsSection, type Row } from './report.ts';
import { runScanBench, type ScanFigures } from './scan.ts';
import { parseSoakOptions, runSoak, type SoakResult } from './soak.ts';

const DOC = path.join(PROJECT_ROOT, 'docs', 'performance.md');
/** Background viewers per seek level. */
const VIEWER_LEVELS = [0, 20, 100] as const;
/** Unpaced readers per throughput run. */
const READER_LEVELS = [1, 8, 100] as const;
const RSS_SAMPLE_MS = 200;
/** Paced viewers in the memory measurement, and how long their RSS is sampled after they settle. */
const MEMORY_VIEWERS = 100;
const MEMORY_SAMPLE_MS = 4_000;
const SCAN_FILES = 1_000;
const SCAN_CORRUPT = 8;
/** Acceptance bars (issue 11, docs/performance.md); ratios are ours ÷ nginx's in the same run. */
const BAR = {
  seekP50Ratio: 2,
  seekP99Ratio: 1.5,
  seekP99Ms: 10,
  throughputRatio: { 8: 0.9, 100: 0.8 } as Readonly<Record<number, number>>,
  cpuRatio: 0.75,
  rssPerStreamKiB: 256,
  scanMs: 10_000,
  probeBytes: 4 * 1024 * 1024,
} as const;

/** Defaults sized so a full run stays under six minutes on a 2-core machine. */
const DEFAULTS = { rounds: 3, seconds: 6, seeks: 500 } as const;

interface Options {
  readonly rounds: number;
  readonly seconds: number;
  readonly seeks: number;
  readonly sizeBytes: number;
  readonly nginx: boolean;
  readonly write: boolean;
  /** Run the soak at the end of the full run, for `minutes`. */
  readonly soak: boolean;
  readonly minutes: number;
  /** `console`: the live-feed step instead of the full run. */
  readonly step: 'all' | 'console';
  /** Our server's --sendfile (off: bodies read and written, the path of platforms without sendfile). */
  readonly sendfile: 'on' | 'off';
}

function stepOf(positionals: readonly string[]): Options['step'] {
  if (positionals.length === 0) return 'all';
  if (positionals.length === 1 && positionals[0] === 'console') return 'console';
  throw new Error(`unknown bench step ${positionals.join(' ')}: the only one is \`console\``);
}

function parseOptions(): Options {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: String(DEFAULTS.rounds) },
      seconds: { type: 'string', default: String(DEFAULTS.seconds) },
      seeks: { type: 'string', default: String(DEFAULTS.seeks) },
      'size-mib': { type: 'string', default: '1024' },
      'no-nginx': { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      soak: { type: 'boolean', default: false },
      minutes: { type: 'string', default: '10' },
      sendfile: { type: 'string', default: 'on' },
    },
  });
  if (values.sendfile !== 'on' && values.sendfile !== 'off') throw new Error(`--sendfile takes on or off, not ${values.sendfile}`);
  return {
    rounds: wholeNumber('rounds', values.rounds, 1, 9),
    seconds: wholeNumber('seconds', values.seconds, 1, 30),
    seeks: wholeNumber('seeks', values.seeks, 100, 5_000),
    sizeBytes: wholeNumber('size-mib', values['size-mib'], 64, 8_192) * 1024 * 1024,
    nginx: !values['no-nginx'],
    write: !values['no-write'],
    soak: values.soak,
    minutes: wholeNumber('minutes', values.minutes, 1, 600),
    step: stepOf(positionals),
    sendfile: values.sendfile,
  };
}

/** Seek figures at one viewer level. */
interface SeekLevel {
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
  /** Viewer reads that finished after the next was due (the viewer fell behind 8.5 Mbit/s), as a share. */
  readonly lateShare: number;
}

/** Everything measured on one server in one round. */
interface TargetRound {
  readonly seeks: Map<number, SeekLevel>;
  readonly throughput: Map<number, ThroughputResult>;
}

/** Resident memory of a server idle and with the paced viewers, measured once, before any unpaced load. */
interface Memory {
  readonly idleKiB: number;
  readonly loadedKiB: number;
  readonly viewers: number;
}

interface Round {
  readonly ours: TargetRound;
  readonly nginx: TargetRound | null;
}

const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** Starts our server on the bench library and finds the large file's stream path. */
async function startOurs(tmp: string, libraryDir: string, size: number, flags: readonly string[] = []): Promise<{ proc: Tracked; target: Target }> {
  const { proc, port } = await startServer(libraryDir, path.join(tmp, 'data'), flags);
  const id = await contentId(port, 'big', size);
  return { proc, target: { name: 'WSOPTV', host: HOST, port, path: `/api/stream/${id}`, size, memoryPid: () => proc.pid } };
}

/** Stops early, with the fix in one line, when wrk is missing: it is the throughput client of both servers. */
function requireWrk(): void {
  const r = spawnSync('wrk', ['--version'], { stdio: 'ignore' });
  if (r.error) throw new Error('wrk is not installed: run `bash scripts/require-tools.sh wrk nginx` (Debian packages wrk, nginx-light)');
}

/** nginx on PATH (or in /usr/sbin, which a non-root PATH may lack), else null. */
function findNginx(): string | null {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    try {
      execFileSync(candidate, ['-v'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // not this one
    }
  }
  return null;
}

/** The bench-only bare node:http server of the large file (bench/bare-node.ts): the floor under any Node server. */
async function startBareNode(file: string, size: number): Promise<{ proc: Tracked; target: Target }> {
  const port = await freePort();
  const proc = spawnTracked('bare node', process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'bare-node.ts'), file, String(port)], { cwd: PROJECT_ROOT });
  await waitUntil('the bare node:http server listening', 30_000, async () => proc.output().includes('listening on'), proc);
  return { proc, target: { name: 'node', host: HOST, port, path: '/big.mp4', size, memoryPid: () => proc.pid } };
}

/** Serves the library folder from nginx (sendfile, one worker, keep-alive) in a temp prefix. */
async function startNginx(bin: string, tmp: string, libraryDir: string, size: number): Promise<{ proc: Tracked; target: Target }> {
  const port = await freePort();
  const prefix = path.join(tmp, 'nginx');
  await mkdir(path.join(prefix, 'logs'), { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  const runningAsRoot = process.getuid?.() === 0;
  await writeFile(
    conf,
    [
      // As root, workers would drop to `nobody`, who may not read files under the temp folder.
      runningAsRoot ? 'user root;' : '',
      'worker_processes 1;',
      `pid ${prefix}/nginx.pid;`,
      `error_log ${prefix}/logs/error.log warn;`,
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      '  sendfile on;',
      '  keepalive_timeout 65s;',
      '  keepalive_requests 1000000;',
      '  types { video/mp4 mp4; }',
      '  default_type application/octet-stream;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${prefix}/${k};`),
      `  server { listen ${HOST}:${port}; root ${libraryDir}; location / { } }`,
      '}',
      '',
    ].join('\n'),
  );
  const proc = spawnTracked('nginx', bin, ['-p', prefix, '-e', path.join(prefix, 'logs', 'error.log'), '-c', conf, '-g', 'daemon off;']);
  const target: Target = {
    name: 'nginx',
    host: HOST,
    port,
    path: '/big.mp4',
    size,
    memoryPid: () => childPids(proc.pid)[0] ?? proc.pid,
  };
  await waitUntil('nginx to answer', 15_000, async () => {
    const conn = new RawConnection(HOST, port);
    try {
      return (await conn.get(target.path, { headers: { Range: 'bytes=0-0' }, timeoutMs: 2_000 })).status === 206;
    } finally {
      conn.close();
    }
  }, proc);
  return { proc, target };
}

/** Samples a process's RSS until stopped; returns the largest sample. */
function sampleRss(pid: number): { stop(): number } {
  let peak = rssKiB(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKiB(pid));
  }, RSS_SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssKiB(pid));
    },
  };
}

/**
 * Memory per stream: RSS idle, then the peak with MEMORY_VIEWERS paced viewers reading. Measured on a
 * fresh server before wrk runs: unpaced readers leave freed buffers the allocator keeps for a while,
 * which would raise the idle figure and hide what a stream costs.
 */
async function measureMemory(t: Target, c: Checks): Promise<Memory> {
  const headers = authHeaders();
  tallySeeks(c, await runSeeks(t, 100, headers));
  await sleep(500);
  const idle: number[] = [];
  for (let i = 0; i < 5; i++) {
    idle.push(rssKiB(t.memoryPid()));
    await sleep(100);
  }
  const viewers = await startViewers(t, MEMORY_VIEWERS, headers);
  const sampler = sampleRss(t.memoryPid());
  await sleep(VIEWER_SETTLE_MS + MEMORY_SAMPLE_MS);
  const loadedKiB = sampler.stop();
  tallyViewers(c, await viewers.stop());
  const m = { idleKiB: median(idle), loadedKiB, viewers: MEMORY_VIEWERS };
  say(`  ${t.name.padEnd(6)} RSS idle ${m.idleKiB} KiB, peak with ${m.viewers} paced viewers ${m.loadedKiB} KiB: ${fmt(perStream(m), 0)} KiB per stream`);
  return m;
}

/** A server under test with what is tallied about it. */
interface Subject {
  readonly target: Target;
  readonly checks: Checks;
}

/** Seeks at one viewer level on one server. */
async function measureSeeks(t: Target, level: number, o: Options, c: Checks): Promise<SeekLevel> {
  const { seeks: r, viewers: v } = await seeksWithViewers(t, level, o.seeks, authHeaders());
  tallySeeks(c, r);
  if (v) tallyViewers(c, v);
  const s: SeekLevel = {
    p50: percentile(r.ttfbMs, 50),
    p99: percentile(r.ttfbMs, 99),
    samples: r.ttfbMs.length,
    lateShare: v && v.requests > 0 ? v.late / v.requests : 0,
  };
  say(
    `  ${t.name.padEnd(6)} seek, ${String(level).padStart(3)} viewers: p50 ${fmt(s.p50, 2)} ms, p99 ${fmt(s.p99, 2)} ms (${s.samples} seeks` +
      `${r.errors ? `, ${r.errors} errors: ${r.firstError}` : ''}${r.mismatches ? `, ${r.mismatches} WRONG BODIES` : ''}` +
      (v
        ? `; viewers ${fmt((v.bytes * 8) / v.seconds / 1e6, 0)} Mbit/s, ${fmt(s.lateShare * 100, 1)} % late` +
          `${v.errors ? `, ${v.errors} errors: ${v.firstError}` : ''}${v.wrongBodies ? `, ${v.wrongBodies} WRONG BODIES` : ''}`
        : '') +
      ')',
  );
  return s;
}

/** Unpaced readers on one server. */
async function measureThroughput(t: Target, readers: number, o: Options, wrkScript: string, c: Checks): Promise<ThroughputResult> {
  const r = await runWrk(t, wrkScript, readers, o.seconds, authHeaders());
  c.errors += r.errors;
  c.firstProblem ??= r.errors > 0 ? `wrk counted ${r.errors} errors` : null;
  say(`  ${t.name.padEnd(6)} ${String(readers).padStart(3)} readers: ${fmt(r.mbPerSecond, 0)} MB/s (${r.requests} responses completed${r.errors ? `, ${r.errors} errors` : ''})`);
  return r;
}

/**
 * One round of every load. Each measurement runs on both servers back to back, the order flipping from
 * one measurement to the next, so a ratio compares two runs seconds apart: on a shared machine the
 * background load drifts over a minute, and a ratio of runs far apart measures the drift.
 */
async function measureRound(ours: Subject, nginx: Subject | null, round: number, o: Options, wrkScript: string): Promise<Round> {
  const a: TargetRound = { seeks: new Map(), throughput: new Map() };
  const b: TargetRound | null = nginx ? { seeks: new Map(), throughput: new Map() } : null;
  const pair = async (i: number, run: (s: Subject, into: TargetRound) => Promise<void>): Promise<void> => {
    const both: [Subject, TargetRound][] = nginx && b ? [[ours, a], [nginx, b]] : [[ours, a]];
    if ((round + i) % 2 === 1) both.reverse();
    for (const [s, into] of both) await run(s, into);
  };
  let i = 0;
  for (const level of VIEWER_LEVELS) {
    await pair(i++, async (s, into) => {
      into.seeks.set(level, await measureSeeks(s.target, level, o, s.checks));
    });
  }
  for (const n of READER_LEVELS) {
    await pair(i++, async (s, into) => {
      into.throughput.set(n, await measureThroughput(s.target, n, o, wrkScript, s.checks));
    });
  }
  return { ours: a, nginx: b };
}

/** Medians over rounds of one figure, for us and nginx, and the median of the per-round ratios. */
function figure(rounds: readonly Round[], pick: (r: TargetRound) => number): { ours: number; nginx: number; ratio: number } {
  return {
    ours: median(rounds.map((r) => pick(r.ours))),
    nginx: median(rounds.map((r) => (r.nginx ? pick(r.nginx) : NaN))),
    ratio: median(rounds.map((r) => (r.nginx ? pick(r.ours) / pick(r.nginx) : NaN))),
  };
}

const perStream = (m: Memory): number => (m.loadedKiB - m.idleKiB) / m.viewers;
const verdict = (ok: boolean): string => (ok ? 'pass' : 'FAIL');

/** A ratio bar's verdict: FAIL or pass, or "no nginx" when there was nothing to compare with. */
const ratioVerdict = (ratio: number, ok: (r: number) => boolean): string => (Number.isFinite(ratio) ? verdict(ok(ratio)) : 'no nginx');

/** The results table; a row whose verdict is FAIL is a missed bar (see missedBars). */
function buildRows(
  rounds: readonly Round[],
  memory: { ours: Memory; nginx: Memory | null },
  checks: { ours: Checks; nginx: Checks | null },
  scan: ScanFigures,
  soak: SoakResult | null,
  bareSeeks: ReadonlyMap<number, SeekLevel>,
): Row[] {
  const rows: Row[] = [];
  const ratioText = (r: number): string => (Number.isFinite(r) ? `${fmt(r, 2)}×` : '—');
  for (const level of VIEWER_LEVELS) {
    for (const p of ['p50', 'p99'] as const) {
      const f = figure(rounds, (r) => r.seeks.get(level)![p]);
      const row = { measure: `seek TTFB ${p}, ${level} viewers (ms)`, ours: fmt(f.ours, 2), nginx: fmt(f.nginx, 2), ratio: ratioText(f.ratio), bar: '', verdict: '' };
      if (level === 100 && p === 'p50') rows.push({ ...row, bar: `≤ ${BAR.seekP50Ratio}× nginx`, verdict: ratioVerdict(f.ratio, (r) => r <= BAR.seekP50Ratio) });
      else if (level === 100) {
        rows.push({ ...row, bar: `< ${BAR.seekP99Ms} ms`, verdict: verdict(f.ours < BAR.seekP99Ms) });
        rows.push({ ...row, measure: `seek TTFB p99, ${level} viewers, ÷ nginx`, ours: '', nginx: '', bar: `≤ ${BAR.seekP99Ratio}× nginx`, verdict: ratioVerdict(f.ratio, (r) => r <= BAR.seekP99Ratio) });
      } else rows.push(row);
    }
  }
  for (const level of VIEWER_LEVELS) {
    const bare = bareSeeks.get(level);
    if (!bare) continue;
    const nginxP50 = figure(rounds, (r) => r.seeks.get(level)!.p50).nginx;
    rows.push({
      measure: `reference, not a bar: seek TTFB p50, ${level} viewers, on a bare node:http server (ms)`,
      ours: fmt(bare.p50, 2),
      nginx: fmt(nginxP50, 2),
      ratio: ratioText(bare.p50 / nginxP50),
      bar: '',
      verdict: '',
    });
  }
  for (const n of READER_LEVELS) {
    const f = figure(rounds, (r) => r.throughput.get(n)!.mbPerSecond);
    const bar = BAR.throughputRatio[n];
    rows.push({
      measure: `throughput, ${n} reader${n > 1 ? 's' : ''} (MB/s)`,
      ours: fmt(f.ours, 0),
      nginx: fmt(f.nginx, 0),
      ratio: ratioText(f.ratio),
      bar: bar === undefined ? '' : `≥ ${bar}× nginx`,
      verdict: bar === undefined ? '' : ratioVerdict(f.ratio, (r) => r >= bar),
    });
  }
  for (const n of READER_LEVELS) {
    const f = figure(rounds, (r) => r.throughput.get(n)!.mbPerCpuSecond);
    const barred = n === 100;
    rows.push({
      measure: `MB per server CPU-second, ${n} reader${n > 1 ? 's' : ''}`,
      ours: fmt(f.ours, 0),
      nginx: fmt(f.nginx, 0),
      ratio: ratioText(f.ratio),
      bar: barred ? `≥ ${BAR.cpuRatio}× nginx` : '',
      verdict: barred ? ratioVerdict(f.ratio, (r) => r >= BAR.cpuRatio) : '',
    });
  }
  const oursPerStream = perStream(memory.ours);
  rows.push({
    measure: `RSS growth per paced stream, ${memory.ours.viewers} viewers (KiB)`,
    ours: fmt(oursPerStream, 0),
    nginx: memory.nginx ? fmt(perStream(memory.nginx), 0) : '—',
    ratio: '',
    bar: `≤ ${BAR.rssPerStreamKiB} KiB`,
    verdict: verdict(oursPerStream <= BAR.rssPerStreamKiB),
  });
  rows.push({
    measure: 'responses checked against the file: wrong / failed',
    ours: `${checks.ours.wrong} / ${checks.ours.errors} of ${checks.ours.bodies}`,
    nginx: checks.nginx ? `${checks.nginx.wrong} / ${checks.nginx.errors} of ${checks.nginx.bodies}` : '—',
    ratio: '',
    bar: '0 / 0',
    verdict: verdict(checks.ours.wrong === 0 && checks.ours.errors === 0),
  });
  rows.push({
    measure: `catalogue scan, ${scan.files} files (ms)`,
    ours: fmt(scan.ms, 0),
    nginx: '',
    ratio: '',
    bar: `< ${BAR.scanMs / 1000} s`,
    verdict: verdict(scan.ms < BAR.scanMs && scan.files === SCAN_FILES),
  });
  rows.push({ measure: 'catalogue rescan, nothing changed (ms)', ours: fmt(scan.rescanMs, 0), nginx: '', ratio: '', bar: '', verdict: '' });
  rows.push({
    measure: 'probe bytes read per file, max / avg',
    ours: `${fmt(scan.maxProbeBytes, 0)} / ${fmt(scan.avgProbeBytes, 0)}`,
    nginx: '',
    ratio: '',
    bar: `≤ ${BAR.probeBytes / 1024 / 1024} MiB`,
    verdict: verdict(scan.maxProbeBytes <= BAR.probeBytes),
  });
  rows.push(
    soak
      ? { measure: 'soak: RSS, fds, event-loop delay, end vs after warm-up', ours: soak.summary, nginx: '', ratio: '', bar: 'each within 10 %', verdict: verdict(soak.pass) }
      : { measure: 'soak (run with --soak, or `npm run bench -- soak`)', ours: 'not run', nginx: '', ratio: '', bar: 'each within 10 %', verdict: 'not run' },
  );
  return rows;
}

/** One line per bar the run missed, naming the measure, the figure and the bar. */
function missedBars(rows: readonly Row[], soak: SoakResult | null): string[] {
  const missed = rows.filter((r) => r.verdict === 'FAIL' && !r.measure.startsWith('soak')).map((r) => `${r.measure}: ${r.ratio && !r.ours ? r.ratio : r.ours}${r.ratio && r.ours ? ` (${r.ratio})` : ''}, bar ${r.bar}`);
  return [...missed, ...(soak?.missed ?? [])];
}

/** First line a tool prints about its version (nginx writes it to stderr, wrk exits 1 after it). */
function toolVersion(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]!.trim();
}

function markdown(rounds: readonly Round[], rows: readonly Row[], missed: readonly string[], scan: ScanFigures, o: Options, m: ReturnType<typeof machine>, nginxVersion: string | null, wallSeconds: number): string {
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const perRound = rounds.map((r, i) => {
    const ours = `p99 ${fmt(r.ours.seeks.get(100)!.p99, 2)} ms, ${fmt(r.ours.throughput.get(100)!.mbPerSecond, 0)} MB/s`;
    const ng = r.nginx ? `p99 ${fmt(r.nginx.seeks.get(100)!.p99, 2)} ms, ${fmt(r.nginx.throughput.get(100)!.mbPerSecond, 0)} MB/s` : '—';
    const ratio = r.nginx ? `${fmt(r.ours.throughput.get(100)!.mbPerSecond / r.nginx.throughput.get(100)!.mbPerSecond, 2)}×` : '—';
    return `| ${i + 1} | ${ours} | ${ng} | ${ratio} |`;
  });
  return [
    '## Latest results',
    '',
    `- Date: ${date}; command: \`npm run bench\`${o.soak ? ` (--soak --minutes ${o.minutes})` : ''}${o.sendfile === 'off' ? ' (--sendfile off)' : ''}${o.rounds !== DEFAULTS.rounds || o.seconds !== DEFAULTS.seconds || o.seeks !== DEFAULTS.seeks ? ` (--rounds ${o.rounds} --seconds ${o.seconds} --seeks ${o.seeks})` : ''}; wall time ${fmt(wallSeconds, 0)} s.`,
    `- Code: ${codeVersion()}.`,
    `- Machine: ${m.detail}.`,
    `- Tools: ${nginxVersion ?? 'nginx not found (no comparison)'}; ${toolVersion('wrk', ['--version'])}.`,
    `- File: ${fmt(o.sizeBytes / 1024 / 1024, 0)} MiB in the page cache. Seeks: ${o.seeks} × ${SEEK_BYTES / 1024} KiB ranges per level, every body checked byte for byte.`,
    `  Viewers: ${fmt(VIEWER_BITS_PER_SECOND / 1e6, 1)} Mbit/s each, ${VIEWER_CHUNK / 1024 / 1024} MiB ranges. Readers: wrk, ${o.seconds} s per level, open-ended ranges (\`bytes=N-\`) from random offsets.`,
    `- ${o.rounds} round${o.rounds > 1 ? 's' : ''}; each measurement runs on both servers back to back, the order flipping each time; figures are medians over rounds, ratios are medians of the per-round ratios.`,
    `- Memory: VmRSS of the server process (nginx: its worker), median idle vs peak with ${MEMORY_VIEWERS} paced viewers, once per server before any unpaced load.`,
    `- Scan: ${scan.files} files (${scan.corrupt} corrupt, ${scan.unplayable} catalogued unplayable), warm page cache.`,
    '- Server CPU: user + system seconds of the server process (nginx: its worker) from /proc/PID/stat over each wrk run.',
    `- Soak: ${o.soak ? `${o.minutes} min, its own section below` : 'not part of this run (`npm run bench -- soak`, or `--soak`)'}.`,
    '',
    markdownTable(rows),
    '',
    missed.length === 0 ? 'Every bar held.' : `Missed bars:\n\n${missed.map((x) => `- ${x}`).join('\n')}`,
    '',
    'Per round, 100 viewers / 100 readers:',
    '',
    '| round | WSOPTV | nginx | throughput ratio |',
    '|---|---|---|---:|',
    ...perRound,
    '',
  ].join('\n');
}

let tmpRoot: string | null = null;
let cleaning: Promise<void> | null = null;

/** Stops our children and removes the temp folder; safe to call twice. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll();
    if (tmpRoot) await rm(tmpRoot, { recursive: true, force: true });
    tmpRoot = null;
  })();
  return cleaning;
}

/** Consoles in the console step, and the streams they watch. */
const CONSOLES = 10;
const CONSOLE_STREAMS = 100;
/** The console step's bar: seek p99 with consoles over seek p99 without. */
const CONSOLE_BAR = 1.1;

/**
 * The console step: per round, seeks with 100 paced streams and no console, then with 10 consoles on the
 * live feed (the order flipping each round); each measurement with fresh viewers.
 */
async function consoleStep(o: Options, tmp: string, libraryDir: string): Promise<void> {
  const ours = await startOurs(tmp, libraryDir, o.sizeBytes, ['--max-streams-per-user', String(CONSOLE_STREAMS)]);
  say(`WSOPTV server pid ${ours.proc.pid} on port ${ours.target.port}`);
  const paths = await openSessions(ours.target.port, ours.target.path, CONSOLE_STREAMS);
  const checks = newChecks();
  tallySeeks(checks, await runSeeks(ours.target, 100, authHeaders())); // warm-up, not recorded
  const without: number[] = [];
  const withConsoles: number[] = [];
  let feed = { events: 0, bytes: 0, errors: 0 };
  const measure = async (consoles: boolean): Promise<number> => {
    const viewers = await startViewers(ours.target, CONSOLE_STREAMS, authHeaders(), paths);
    const feeds = consoles ? await startConsoles(ours.target, CONSOLES, authHeaders()) : null;
    await sleep(VIEWER_SETTLE_MS);
    const r = await runSeeks(ours.target, o.seeks, authHeaders());
    const f = feeds ? await feeds.stop() : null;
    const v = await viewers.stop();
    tallySeeks(checks, r);
    tallyViewers(checks, v);
    if (f) feed = { events: feed.events + f.events, bytes: feed.bytes + f.bytes, errors: feed.errors + f.errors };
    const p99 = percentile(r.ttfbMs, 99);
    say(
      `  ${consoles ? `${CONSOLES} consoles` : 'no console '}: seek p50 ${fmt(percentile(r.ttfbMs, 50), 2)} ms, p99 ${fmt(p99, 2)} ms (${r.ttfbMs.length} seeks;` +
        ` viewers ${fmt((v.bytes * 8) / v.seconds / 1e6, 0)} Mbit/s, ${fmt(v.late / Math.max(1, v.requests) * 100, 1)} % late` +
        `${f ? `; consoles read ${f.events} events, ${fmt(f.bytes / 1024, 0)} KiB${f.errors ? `, ${f.errors} errors: ${f.firstError}` : ''}` : ''})`,
    );
    return p99;
  };
  const ratios: number[] = [];
  for (let i = 0; i < o.rounds; i++) {
    say(`\nRound ${i + 1}/${o.rounds}`);
    const order = i % 2 === 0 ? [false, true] : [true, false];
    const got = new Map<boolean, number>();
    for (const consoles of order) got.set(consoles, await measure(consoles));
    without.push(got.get(false)!);
    withConsoles.push(got.get(true)!);
    ratios.push(got.get(true)! / got.get(false)!);
  }
  const ratio = median(ratios);
  const pass = ratio < CONSOLE_BAR && checks.wrong === 0 && checks.errors === 0 && feed.errors === 0;
  const rows: Row[] = [
    { measure: `seek TTFB p99, ${CONSOLE_STREAMS} paced streams, no console (ms)`, ours: fmt(median(without), 2), nginx: '', ratio: '', bar: '', verdict: '' },
    { measure: `seek TTFB p99, the same with ${CONSOLES} consoles on the feed (ms)`, ours: fmt(median(withConsoles), 2), nginx: '', ratio: `${fmt(ratio, 2)}×`, bar: `< ${CONSOLE_BAR}×`, verdict: verdict(pass) },
    { measure: 'responses checked against the file: wrong / failed', ours: `${checks.wrong} / ${checks.errors} of ${checks.bodies}`, nginx: '', ratio: '', bar: '0 / 0', verdict: verdict(checks.wrong === 0 && checks.errors === 0) },
    { measure: `feed events read by the consoles (${fmt(feed.bytes / 1024, 0)} KiB)`, ours: String(feed.events), nginx: '', ratio: '', bar: '', verdict: '' },
  ];
  if (checks.wrong > 0) process.exitCode = 1;
  say(`\nResults (${o.rounds} rounds; p99 medians, the ratio is the median of per-round ratios):\n`);
  say(textTable(rows));
  if (o.write) {
    const perRound = ratios.map((r, i) => `| ${i + 1} | ${fmt(without[i], 2)} | ${fmt(withConsoles[i], 2)} | ${fmt(r, 2)}× |`);
    const md = [
      '## Console feed: seeks with 10 consoles connected',
      '',
      `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}; command: \`npm run bench -- console${o.rounds !== DEFAULTS.rounds ? ` --rounds ${o.rounds}` : ''}${o.seeks !== DEFAULTS.seeks ? ` --seeks ${o.seeks}` : ''}\`.`,
      `- Code: ${codeVersion()}. Machine: ${machine().detail}.`,
      `- ${CONSOLE_STREAMS} stream sessions, each read by a paced viewer at ${fmt(VIEWER_BITS_PER_SECOND / 1e6, 1)} Mbit/s; ${o.seeks} seeks per measurement; consoles hold GET /api/admin/events open in a child process and read every frame (streams every 2 s, metrics every 5 s).`,
      '- The ratio column here is p99 with consoles ÷ p99 without, the median of the per-round ratios below.',
      '',
      markdownTable(rows),
      '',
      '| round | p99 no console (ms) | p99 10 consoles (ms) | ratio |',
      '|---|---:|---:|---:|',
      ...perRound,
      '',
    ].join('\n');
    await writeMarkedSection(DOC, CONSOLE_RESULTS.start, CONSOLE_RESULTS.end, md);
    say(`\nWrote the results into ${path.relative(PROJECT_ROOT, DOC)}`);
  }
}

async function main(): Promise<void> {
  // The cache simulation starts no server and needs none of the options below.
  if (process.argv[2] === 'cache') return void (process.exitCode = await runCacheSimulation(process.argv.slice(3)));
  if (process.argv[2] === 'hosts') return void (process.exitCode = await runHostsSimulation(process.argv.slice(3)));
  if (process.argv[2] === 'soak') {
    const so = parseSoakOptions(process.argv.slice(3));
    const r = await runSoak(so, (tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'wsoptv-bench-'))), `npm run bench -- soak${so.minutes !== 10 ? ` --minutes ${so.minutes}` : ''}`);
    say(r.missed.length === 0 ? '\nThe soak ended flat: every bar held.' : `\nMissed bars:\n${r.missed.map((x) => `  - ${x}`).join('\n')}`);
    process.exitCode = r.wrong > 0 ? 1 : 0;
    return;
  }
  if (process.argv[2] === 'ttff') return void (process.exitCode = await runTtffBench(process.argv.slice(3), (tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'wsoptv-bench-')))));
  if (process.argv[2] === 'promotion') return void (process.exitCode = await runPromotionBench(process.argv.slice(3), (tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'wsoptv-bench-')))));
  const o = parseOptions();
  if (o.step === 'console') {
    tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'wsoptv-bench-'));
    say(`WSOPTV bench, console step, on ${machine().summary}`);
    const libraryDir = path.join(tmpRoot, 'library');
    await mkdir(libraryDir);
    const big = path.join(libraryDir, 'big.mp4');
    say(`Writing ${o.sizeBytes / 1024 / 1024} MiB test file and reading it into the page cache...`);
    await writeOffsetFile(big, o.sizeBytes);
    await warmPageCache(big);
    await consoleStep(o, tmpRoot, libraryDir);
    return;
  }
  requireWrk();
  const t0 = performance.now();
  const m = machine();
  tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'wsoptv-bench-'));
  const tmp = tmpRoot;
  say(`WSOPTV bench on ${m.summary}`);
  say(`temp folder ${tmp}`);

  say(`\nCatalogue scan: writing ${SCAN_FILES} MP4 files...`);
  const scan = await runScanBench(tmp, SCAN_FILES, SCAN_CORRUPT);
  say(`  scanned ${scan.files} files in ${scan.ms} ms (rescan ${scan.rescanMs} ms); probe read max ${scan.maxProbeBytes} B, avg ${fmt(scan.avgProbeBytes, 0)} B per file`);

  const libraryDir = path.join(tmp, 'library');
  await mkdir(libraryDir);
  const big = path.join(libraryDir, 'big.mp4');
  say(`\nWriting ${o.sizeBytes / 1024 / 1024} MiB test file and reading it into the page cache...`);
  await writeOffsetFile(big, o.sizeBytes);
  await warmPageCache(big);

  const ours = await startOurs(tmp, libraryDir, o.sizeBytes, ['--sendfile', o.sendfile]);
  say(`WSOPTV server pid ${ours.proc.pid} on port ${ours.target.port}`);
  const nginxBin = o.nginx ? findNginx() : null;
  const nginx = nginxBin ? await startNginx(nginxBin, tmp, libraryDir, o.sizeBytes) : null;
  if (nginx) say(`nginx master pid ${nginx.proc.pid} on port ${nginx.target.port}`);
  else say('nginx not found: measuring WSOPTV alone (install with: bash scripts/require-tools.sh nginx)');
  const wrkScript = await writeWrkScript(tmp);

  say('\nMemory, then a warm-up of each server (not recorded)');
  const checks = { ours: newChecks(), nginx: nginx ? newChecks() : null };
  const memory = { ours: await measureMemory(ours.target, checks.ours), nginx: nginx ? await measureMemory(nginx.target, checks.nginx!) : null };
  for (const t of [ours.target, nginx?.target].filter((x): x is Target => x !== undefined)) {
    await runWrk(t, wrkScript, 8, 2, authHeaders());
  }

  const rounds: Round[] = [];
  const oursSubject: Subject = { target: ours.target, checks: checks.ours };
  const nginxSubject: Subject | null = nginx ? { target: nginx.target, checks: checks.nginx! } : null;
  for (let i = 0; i < o.rounds; i++) {
    say(`\nRound ${i + 1}/${o.rounds}`);
    rounds.push(await measureRound(oursSubject, nginxSubject, i, o, wrkScript));
  }

  // Not a bar: what the same seeks cost on a bare node:http server, so a missed seek bar says how much is ours.
  say('\nReference: a bare node:http server of the same file (bench/bare-node.ts), once per level');
  const bare = await startBareNode(big, o.sizeBytes);
  const bareSeeks = new Map<number, SeekLevel>();
  const bareChecks = newChecks();
  for (const level of VIEWER_LEVELS) bareSeeks.set(level, await measureSeeks(bare.target, level, o, bareChecks));
  if (bareChecks.wrong > 0) throw new Error('the bare node:http reference server sent wrong bytes: a bench bug');

  // The soak runs last, on its own fresh server: a process that served wrk's unpaced readers starts from another RSS.
  await stopAll();
  const soak = o.soak ? await runSoak({ minutes: o.minutes, sizeBytes: o.sizeBytes, write: o.write }, tmp, `npm run bench -- --soak --minutes ${o.minutes}`) : null;
  if (soak && soak.wrong > 0) process.exitCode = 1;
  const rows = buildRows(rounds, memory, checks, scan, soak, bareSeeks);
  const missed = missedBars(rows, soak);
  if (checks.ours.firstProblem) say(`\nWSOPTV: ${checks.ours.firstProblem}`);
  // A benchmark reports slow figures; wrong bytes are a bug, and scripts should see it.
  if (checks.ours.wrong > 0) process.exitCode = 1;
  const wall = (performance.now() - t0) / 1000;
  say(`\nResults (${o.rounds} rounds, medians; ratios are medians of per-round ratios), ${fmt(wall, 0)} s:\n`);
  say(textTable(rows));
  say(missed.length === 0 ? '\nEvery bar held.' : `\nMissed bars:\n${missed.map((x) => `  - ${x}`).join('\n')}`);
  if (o.write) {
    const nginxVersion = nginxBin ? toolVersion(nginxBin, ['-v']) : null;
    await writeResultsSection(DOC, markdown(rounds, rows, missed, scan, o, m, nginxVersion, wall));
    say(`\nWrote the results into ${path.relative(PROJECT_ROOT, DOC)}`);
  }
}

process.once('SIGINT', () => {
  say('\ninterrupted: stopping the server, nginx and wrk...');
  void cleanup().finally(() => process.exit(130));
});
process.once('SIGTERM', () => void cleanup().finally(() => process.exit(143)));
// Last resort if something exits the process without the cleanup above.
process.on('exit', () => {
  killAllSync();
  if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
});

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
