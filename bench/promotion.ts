/**
 * `npm run bench -- promotion`: does a copy NAS → SSD in progress hurt the viewers, and does it keep its
 * rate? Our server runs over a library of two offset files: one the paced viewers and the seeker read,
 * and a large one an admin pins. Seek time-to-first-byte with 20 paced viewers is measured without a
 * promotion (A) and while the pinned file copies (B), alternating over rounds; the copy's progress is
 * sampled from GET /api/admin/cache during the seeks, and the finished copy's rate read from
 * /api/admin/metrics. Bars: B's seek p99 ≤ 1.5× A's, the copy rate within ±20 % of --promote-rate.
 * Prints a table, rewrites its marked section of docs/performance.md, resolves to 1 on a missed bar or a
 * wrong byte.
 *
 * The NAS and the SSD are two folders on the same disk, under the bench's temp folder; both files are
 * read into the page cache first, as the serving bench does. Options: --rounds N (default 5), --seeks N
 * per phase (default 500), --promote-mib N (default 2048), --no-write.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { warmPageCache, writeOffsetFile } from './fixtures.ts';
import { type Checks, newChecks, runSeeks, SEEK_BYTES, seeksWithViewers, tallySeeks, tallyViewers, VIEWER_BITS_PER_SECOND, VIEWER_CHUNK, type Target } from './load.ts';
import { authHeaders, callJson, contentId, getJson, HOST, startServer } from './our-server.ts';
import { sleep, stopTracked } from './procs.ts';
import { codeVersion, fmt, machine, median, percentile, wholeNumber, writeMarkedSection } from './report.ts';

const DOC = path.join(PROJECT_ROOT, 'docs', 'performance.md');
const SECTION_START = '<!-- bench:promotion:start (written by `npm run bench -- promotion`; edits inside are overwritten) -->';
const SECTION_END = '<!-- bench:promotion:end -->';

/** The server's default --promote-rate, passed explicitly so that no WSOPTV_PROMOTE_RATE in the environment changes what is measured. */
const PROMOTE_RATE = 100e6;
const VIEWERS = 20;
const SEEK_FILE_BYTES = 1024 * 1024 * 1024;
/** Bars (issue 8): seek p99 during a promotion within 1.5× of without; the copy within ±20 % of its rate. */
const BAR = { p99Ratio: 1.5, rateLow: 0.8 * PROMOTE_RATE, rateHigh: 1.2 * PROMOTE_RATE } as const;
/** The seeks start once this much is copied, so the rate measured is the steady one, not the start. */
const LEAD_BYTES = 100e6;
/** How often the copy's progress is read during a B phase. */
const SAMPLE_MS = 250;

const DEFAULTS = { rounds: 5, seeks: 500, promoteMib: 2048 } as const;

interface Options {
  readonly rounds: number;
  readonly seeks: number;
  readonly promoteBytes: number;
  readonly write: boolean;
}

function parse(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      rounds: { type: 'string', default: String(DEFAULTS.rounds) },
      seeks: { type: 'string', default: String(DEFAULTS.seeks) },
      'promote-mib': { type: 'string', default: String(DEFAULTS.promoteMib) },
      'no-write': { type: 'boolean', default: false },
    },
  });
  return {
    rounds: wholeNumber('rounds', values.rounds, 1, 9),
    seeks: wholeNumber('seeks', values.seeks, 100, 2_000),
    promoteBytes: wholeNumber('promote-mib', values['promote-mib'], 256, 8_192) * 1024 * 1024,
    write: !values['no-write'],
  };
}

/** GET /api/admin/cache, the parts read here. */
interface CacheWire {
  readonly entries: readonly { readonly content_id: string; readonly kind: string }[];
  readonly promotions: readonly {
    readonly content_id: string;
    readonly state: 'queued' | 'running';
    readonly bytes_copied: number;
    readonly bytes_total: number;
    readonly percent: number;
    readonly rate_bytes_per_second: number | null;
  }[];
}

/** One reading of the running copy. */
interface Sample {
  /** performance.now() halfway through the request. */
  readonly at: number;
  /** The promotion of the pinned file is running. */
  readonly running: boolean;
  /** Any promotion is queued or running. */
  readonly busy: boolean;
  readonly copied: number;
  readonly serverRate: number | null;
}

/** Seek figures of one phase. */
interface Phase {
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
  readonly late: number;
  /** Every seek's TTFB, for percentiles over all rounds. */
  readonly ttfbMs: readonly number[];
}

/** One A/B round. */
interface Round {
  readonly without: Phase;
  readonly during: Phase;
  /** Bytes per second of the copy over the seek phase, from bytes_copied sampled here. */
  readonly sampledRate: number;
  /** rate_bytes_per_second the server reported at the last reading during the seeks. */
  readonly serverRate: number;
  /** The copy ran from before the first seek until after the last. */
  readonly covered: boolean;
  /** Percent copied when the seeks began and ended. */
  readonly percentAt: readonly [number, number];
  /** Pin to the copy in the index, seconds, and the part of it after the last byte was written (fsync, check, rename). */
  readonly copySeconds: number;
  readonly tailSeconds: number;
}

const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function cacheState(port: number): Promise<CacheWire> {
  const r = await getJson<CacheWire>(port, '/api/admin/cache');
  if (!r.json) throw new Error(`GET /api/admin/cache: status ${r.status}`);
  return r.json;
}

async function sample(port: number, id: string): Promise<Sample> {
  const t0 = performance.now();
  const s = await cacheState(port);
  const at = (t0 + performance.now()) / 2;
  const p = s.promotions.find((x) => x.content_id === id && x.state === 'running');
  return { at, running: p !== undefined, busy: s.promotions.length > 0, copied: p?.bytes_copied ?? 0, serverRate: p?.rate_bytes_per_second ?? null };
}

/** Polls `probe` every SAMPLE_MS until it returns a value; throws after `ms`. */
async function poll<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(SAMPLE_MS);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

function phase(seeks: { ttfbMs: readonly number[] }, late: number): Phase {
  return { p50: percentile(seeks.ttfbMs, 50), p99: percentile(seeks.ttfbMs, 99), samples: seeks.ttfbMs.length, late, ttfbMs: seeks.ttfbMs };
}

function describe(label: string, p: Phase): string {
  return `  ${label}: seek p50 ${fmt(p.p50, 2)} ms, p99 ${fmt(p.p99, 2)} ms (${p.samples} seeks, ${VIEWERS} viewers, ${p.late} late viewer reads)`;
}

/**
 * Reads the cache state every SAMPLE_MS while `run` runs. Both phases are watched alike, so that the
 * operator API's own cost on the server's event loop lands on both sides of the ratio.
 */
async function watched<T>(port: number, id: string, run: () => Promise<T>): Promise<{ result: T; samples: Sample[] }> {
  const samples: Sample[] = [await sample(port, id)];
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      await sleep(SAMPLE_MS);
      samples.push(await sample(port, id));
    }
  })();
  watcher.catch(() => undefined); // a failed reading is thrown below, once the run is over, not as an unhandled rejection
  let result: T;
  try {
    result = await run();
  } finally {
    watching = false;
    await watcher;
  }
  samples.push(await sample(port, id));
  return { result, samples };
}

/** A: seeks with the viewers and no copy running (checked at every reading). */
async function measureWithout(port: number, t: Target, promoteId: string, o: Options, c: Checks): Promise<Phase> {
  const { result: r, samples } = await watched(port, promoteId, () => seeksWithViewers(t, VIEWERS, o.seeks, authHeaders()));
  if (samples.some((s) => s.busy)) throw new Error('a promotion ran during the phase without one');
  tallySeeks(c, r.seeks);
  if (r.viewers) tallyViewers(c, r.viewers);
  const p = phase(r.seeks, r.viewers?.late ?? 0);
  say(describe('without a promotion', p));
  return p;
}

/** B: pins the large file, measures the seeks while it copies, waits for the copy, then evicts it for the next round. */
async function measureDuring(port: number, t: Target, promoteId: string, o: Options, c: Checks): Promise<Omit<Round, 'without'>> {
  const pinnedAt = performance.now();
  const pin = await callJson(port, 'POST', `/api/admin/cache/${promoteId}/pin`);
  if (pin.status !== 202) throw new Error(`pin: status ${pin.status}`);
  const first = await poll('the copy to pass its lead-in', 30_000, async () => {
    const s = await sample(port, promoteId);
    return s.running && s.copied >= LEAD_BYTES ? s : undefined;
  });
  const { result: r, samples: watchedSamples } = await watched(port, promoteId, () => seeksWithViewers(t, VIEWERS, o.seeks, authHeaders()));
  const samples = [first, ...watchedSamples];
  const last = samples[samples.length - 1]!;
  tallySeeks(c, r.seeks);
  if (r.viewers) tallyViewers(c, r.viewers);
  const during = samples.filter((s) => s.running);
  const covered = last.running && samples.every((s) => s.running);
  const a = during[0]!;
  const b = during[during.length - 1]!;
  const sampledRate = b.at > a.at ? ((b.copied - a.copied) / (b.at - a.at)) * 1000 : NaN;
  // From the last reading with bytes still to copy to the copy in the index: the fsync, the sampled check and the rename.
  let lastWriteAt = last.running ? last.at : NaN;
  const doneAt = await poll('the copy to finish', Math.ceil((o.promoteBytes / BAR.rateLow) * 1000) + 60_000, async () => {
    const s = await cacheState(port);
    const p = s.promotions.find((x) => x.content_id === promoteId);
    if (p && p.bytes_copied < p.bytes_total) lastWriteAt = performance.now();
    return !p && s.entries.some((e) => e.content_id === promoteId && e.kind === 'copy') ? performance.now() : undefined;
  });
  const pct = (s: Sample): number => (s.copied / o.promoteBytes) * 100;
  const out = {
    during: phase(r.seeks, r.viewers?.late ?? 0),
    sampledRate,
    serverRate: b.serverRate ?? NaN,
    covered,
    percentAt: [pct(a), pct(b)] as const,
    copySeconds: (doneAt - pinnedAt) / 1000,
    tailSeconds: (doneAt - lastWriteAt) / 1000,
  };
  say(
    `${describe('during a promotion ', out.during)}\n` +
      `    copy ${fmt(out.percentAt[0], 0)} % → ${fmt(out.percentAt[1], 0)} % during the seeks${covered ? '' : ' (NOT RUNNING THROUGHOUT)'}: ${fmt(sampledRate / 1e6, 1)} MB/s sampled, ` +
      `${fmt(out.serverRate / 1e6, 1)} MB/s reported; pin → copy placed ${fmt(out.copySeconds, 1)} s, of which ≤ ${fmt(out.tailSeconds, 1)} s after the last byte`,
  );
  const evict = await callJson(port, 'DELETE', `/api/admin/cache/${promoteId}`);
  if (evict.status !== 200) throw new Error(`evict: status ${evict.status}`);
  await poll('the copy to leave the index', 10_000, async () => ((await cacheState(port)).entries.length === 0 ? true : undefined));
  return out;
}

/** One row of the table. */
interface Row {
  readonly measure: string;
  readonly value: string;
  readonly bar: string;
  readonly verdict: string;
}

const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISSED');

function rowsOf(all: readonly Round[], copyMbPerSecond: number | null, checks: Checks): { rows: Row[]; pass: boolean } {
  // Only rounds whose copy ran through all their seeks say what a copy costs; the others are counted below.
  const rounds = all.filter((r) => r.covered);
  const med = (pick: (r: Round) => number): number => median(rounds.map(pick));
  const ratio = med((r) => r.during.p99 / r.without.p99);
  // Every seek of every round in one distribution: its p99 rests on many more samples than a round's.
  const pooled = (pick: (r: Round) => Phase, p: number): number => percentile(rounds.flatMap((r) => pick(r).ttfbMs), p);
  const pooledRatio = pooled((r) => r.during, 99) / pooled((r) => r.without, 99);
  // The copy's rate is what it is in every round, also one in which the seeks outlasted the copy.
  const sampled = median(all.map((r) => r.sampledRate));
  const reported = median(all.map((r) => r.serverRate));
  const metric = copyMbPerSecond === null ? NaN : copyMbPerSecond * 1e6;
  const inRate = (x: number): boolean => x >= BAR.rateLow && x <= BAR.rateHigh;
  const rateBar = `${fmt(BAR.rateLow / 1e6, 0)}-${fmt(BAR.rateHigh / 1e6, 0)} MB/s`;
  const covered = rounds.length;
  const clean = checks.wrong === 0 && checks.errors === 0;
  const bars = {
    ratio: ratio <= BAR.p99Ratio,
    sampled: inRate(sampled),
    reported: inRate(reported),
    metric: inRate(metric),
    covered: covered === all.length,
    clean,
  };
  const rows: Row[] = [
    { measure: `seek TTFB p50, ${VIEWERS} viewers, no promotion (ms)`, value: fmt(med((r) => r.without.p50), 2), bar: '', verdict: '' },
    { measure: `seek TTFB p50, ${VIEWERS} viewers, promotion copying (ms)`, value: fmt(med((r) => r.during.p50), 2), bar: '', verdict: '' },
    { measure: `seek TTFB p99, ${VIEWERS} viewers, no promotion (ms)`, value: fmt(med((r) => r.without.p99), 2), bar: '', verdict: '' },
    { measure: `seek TTFB p99, ${VIEWERS} viewers, promotion copying (ms)`, value: fmt(med((r) => r.during.p99), 2), bar: '', verdict: '' },
    { measure: 'seek p99 with ÷ without a promotion (median of rounds)', value: `${fmt(ratio, 2)}×`, bar: `≤ ${BAR.p99Ratio}×`, verdict: verdict(bars.ratio) },
    { measure: 'seek p99 of those rounds\' seeks pooled, without / with (ms)', value: `${fmt(pooled((r) => r.without, 99), 2)} / ${fmt(pooled((r) => r.during, 99), 2)}`, bar: '', verdict: '' },
    { measure: 'seek p99 with ÷ without, seeks pooled', value: `${fmt(pooledRatio, 2)}×`, bar: '', verdict: '' },
    { measure: 'copy rate during the seeks, bytes_copied sampled (MB/s)', value: fmt(sampled / 1e6, 1), bar: rateBar, verdict: verdict(bars.sampled) },
    { measure: 'copy rate during the seeks, rate_bytes_per_second (MB/s)', value: fmt(reported / 1e6, 1), bar: rateBar, verdict: verdict(bars.reported) },
    { measure: 'copy rate of finished copies, cache.copy_mb_per_second', value: fmt(metric / 1e6, 1), bar: rateBar, verdict: verdict(bars.metric) },
    { measure: 'rounds whose copy ran through all its seeks', value: `${covered} / ${all.length}`, bar: 'all', verdict: verdict(bars.covered) },
    { measure: 'responses checked: wrong / failed', value: `${checks.wrong} / ${checks.errors} of ${checks.bodies}`, bar: '0 / 0', verdict: verdict(clean) },
  ];
  return { rows, pass: Object.values(bars).every(Boolean) };
}

function textTable(rows: readonly Row[]): string {
  const all: Row[] = [{ measure: 'measure', value: 'value', bar: 'bar', verdict: 'verdict' }, ...rows];
  const cols = ['measure', 'value', 'bar', 'verdict'] as const;
  const width = cols.map((k) => Math.max(...all.map((r) => r[k].length)));
  const line = (r: Row): string => cols.map((k, i) => (i === 0 ? r[k].padEnd(width[i]!) : r[k].padStart(width[i]!))).join('  ').trimEnd();
  return [line(all[0]!), width.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function markdownTable(rows: readonly Row[]): string {
  return ['| measure | value | bar | verdict |', '|---|---:|---:|---:|', ...rows.map((r) => `| ${r.measure} | ${r.value} | ${r.bar || ' '} | ${r.verdict || ' '} |`)].join('\n');
}

function markdown(rounds: readonly Round[], rows: readonly Row[], o: Options, command: string, wall: number, copyMbPerSecond: number | null): string {
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const perRound = rounds.map(
    (r, i) =>
      `| ${i + 1}${r.covered ? '' : ' (seeks outlasted the copy: not in the medians)'} | ${fmt(r.without.p99, 2)} | ${fmt(r.during.p99, 2)} | ${fmt(r.during.p99 / r.without.p99, 2)}× | ${fmt(r.without.p50, 2)} / ${fmt(r.during.p50, 2)} | ` +
      `${fmt(r.sampledRate / 1e6, 1)} | ${fmt(r.serverRate / 1e6, 1)} | ${fmt(r.percentAt[0], 0)}-${fmt(r.percentAt[1], 0)} % | ${fmt(r.copySeconds, 1)} s (≤ ${fmt(r.tailSeconds, 1)} s after the last byte) |`,
  );
  return [
    '### Latest promotion run',
    '',
    `- Date: ${date}; command: \`${command}\`; wall time ${fmt(wall, 0)} s.`,
    `- Code: ${codeVersion()}.`,
    `- Machine: ${machine().detail}. The NAS and the SSD are two folders on the same disk (the bench's temp folder).`,
    `- Server: \`--promote-rate 100MB\` (the default) and \`--head-bytes 0\` (no heads copy during the measurement); every other setting at its default.`,
    `- Files: a ${fmt(SEEK_FILE_BYTES / 1024 ** 2, 0)} MiB file the seeker and ${VIEWERS} viewers read (${fmt(VIEWER_BITS_PER_SECOND / 1e6, 1)} Mbit/s, ${VIEWER_CHUNK / 1024 ** 2} MiB ranges), a ${fmt(o.promoteBytes / 1024 ** 2, 0)} MiB file pinned each B phase; both in the page cache first.`,
    `- ${o.rounds} round${o.rounds > 1 ? 's' : ''} of A (no promotion) and B (the pinned file copying), the order flipping each round; ${o.seeks} seeks of ${SEEK_BYTES / 1024} KiB per phase, every body checked byte for byte; in B the seeks start once ${fmt(LEAD_BYTES / 1e6, 0)} MB are copied, and the copy is evicted after each round. Figures are medians of the rounds whose copy ran through all their seeks; the ratio is the median of their per-round ratios.`,
    `- cache.copy_mb_per_second after the last round: ${fmt(copyMbPerSecond ?? NaN, 1)} MB/s (all ${rounds.length} copies, open to rename).`,
    '',
    markdownTable(rows),
    '',
    'Per round:',
    '',
    '| round | p99 without (ms) | p99 during (ms) | ratio | p50 without / during (ms) | sampled MB/s | reported MB/s | copied during the seeks | pin → copy placed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...perRound,
    '',
  ].join('\n');
}

/**
 * Runs the promotion bench in `tmp` (a folder the caller removes) with the options after `promotion`;
 * resolves to the exit code: 1 when a bar is missed or a byte was wrong. Stops the server it started.
 */
export async function runPromotionBench(argv: readonly string[], tmp: string, command = 'npm run bench -- promotion'): Promise<number> {
  const o = parse(argv);
  const t0 = performance.now();
  const root = path.join(tmp, 'promotion');
  const nas = path.join(root, 'nas');
  const ssd = path.join(root, 'ssd');
  for (const dir of [nas, ssd, path.join(root, 'data')]) await mkdir(dir, { recursive: true });
  say(`\nPromotion under load: ${machine().summary}`);
  say(`  NAS ${nas} and SSD ${ssd}: two folders on one disk`);
  say(`  writing a ${SEEK_FILE_BYTES / 1024 ** 2} MiB file to seek in and a ${o.promoteBytes / 1024 ** 2} MiB file to promote, and reading both into the page cache...`);
  const seekFile = path.join(nas, 'seek.mp4');
  const promoteFile = path.join(nas, 'promote.mp4');
  await writeOffsetFile(seekFile, SEEK_FILE_BYTES);
  await writeOffsetFile(promoteFile, o.promoteBytes);
  await warmPageCache(seekFile);
  await warmPageCache(promoteFile);

  const server = await startServer(nas, path.join(root, 'data'), ['--cache', ssd, '--head-bytes', '0', '--promote-rate', String(PROMOTE_RATE)]);
  try {
    say(`  WSOPTV server pid ${server.proc.pid} on port ${server.port}`);
    const seekId = await contentId(server.port, 'seek', SEEK_FILE_BYTES);
    const promoteId = await contentId(server.port, 'promote', o.promoteBytes);
    const t: Target = { name: 'WSOPTV', host: HOST, port: server.port, path: `/api/stream/${seekId}`, size: SEEK_FILE_BYTES, memoryPid: () => server.proc.pid };
    const checks = newChecks();
    tallySeeks(checks, await runSeeks(t, 100, authHeaders())); // warm-up, not recorded

    const rounds: Round[] = [];
    for (let i = 0; i < o.rounds; i++) {
      say(`\n  Round ${i + 1}/${o.rounds}`);
      let without: Phase | undefined;
      let during: Omit<Round, 'without'> | undefined;
      // Flipping the order cancels a drift of the machine's background load over the round.
      if (i % 2 === 0) {
        without = await measureWithout(server.port, t, promoteId, o, checks);
        during = await measureDuring(server.port, t, promoteId, o, checks);
      } else {
        during = await measureDuring(server.port, t, promoteId, o, checks);
        without = await measureWithout(server.port, t, promoteId, o, checks);
      }
      rounds.push({ without, ...during });
    }
    const metrics = await getJson<{ cache: { copy_mb_per_second: number | null } }>(server.port, '/api/admin/metrics');
    const copyMbPerSecond = metrics.json?.cache.copy_mb_per_second ?? null;
    const { rows, pass } = rowsOf(rounds, copyMbPerSecond, checks);
    const wall = (performance.now() - t0) / 1000;
    say(`\nPromotion under load (${o.rounds} rounds, medians), ${fmt(wall, 0)} s:\n`);
    say(textTable(rows));
    if (checks.firstProblem) say(`\nWSOPTV: ${checks.firstProblem}`);
    if (o.write) {
      const flags = [o.rounds !== DEFAULTS.rounds ? `--rounds ${o.rounds}` : '', o.seeks !== DEFAULTS.seeks ? `--seeks ${o.seeks}` : '', o.promoteBytes !== DEFAULTS.promoteMib * 1024 * 1024 ? `--promote-mib ${o.promoteBytes / 1024 ** 2}` : '']
        .filter((f) => f !== '')
        .join(' ');
      await writeMarkedSection(DOC, SECTION_START, SECTION_END, markdown(rounds, rows, o, `${command}${flags ? ` ${flags}` : ''}`, wall, copyMbPerSecond));
      say(`\nWrote the promotion results into ${path.relative(PROJECT_ROOT, DOC)}`);
    }
    return pass ? 0 : 1;
  } finally {
    await stopTracked(server.proc);
  }
}
