/**
 * `npm run bench -- hosts`: the cache bench's month (bench/cache-sim-workload.ts) with an audience that
 * fills 2, 4 and 8 hosts, each start routed to a host by content affinity, least-loaded or random
 * (bench/hosts-routing.ts), each host running the SSD tier's real policy (app/cache/policy.ts, driven by
 * the cache bench's OurTier exactly as one server drives it) on its own budget. Per routing and host count
 * it prints, and writes into the marked section of docs/scaling.md: the share of starts and bytes served
 * from an SSD copy, what the shared NAS reads (streams and copies), the peak streams and Mbit/s per host,
 * and what the failure of the busiest host at the month's busiest moment does to the streams it held.
 * No disk, no network; deterministic by seed; figures are medians over seeds.
 *
 *   audience   V viewers per host (--viewers-per-host, default 120: the evening peak fills about 70 % of
 *              each host); the first 30 are the cache bench's month, the others are drawn after them
 *   host       100 streams or 850 Mbit/s (1 GbE), an SSD budget of 10 % of the library (the cache bench's
 *              headline share), every head held; copies at the server's --promote-rate (100 MB/s)
 *   NAS        shared; its demand is the NAS-begun streams at their bitrate plus every copy at the promote
 *              rate, against about 1 Gbit/s
 *   failure    the busiest host goes down at the month's busiest moment (days 8-28) and stays down for
 *              24 h; its streams are routed again at once, as players resuming on their next range
 *
 * Each seed at each host count is one job; jobs run on worker threads (bench/hosts-worker.ts), one per
 * core up to 8, and the figures do not depend on how many. A run takes about 50 CPU-seconds.
 *
 * Options: --seed N (first seed, default 1), --seeds K (consecutive seeds, default 3), --viewers-per-host V
 * (120), --epsilon E (the bounded-load row's ε, 0.5), --threads T, --no-write (leave docs/scaling.md alone).
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { DEFAULTS, libraryBytes, markdownTable, moments, nextEpisodes, OurTier, SERVER_DRIVE, textTable, type Moment, type Source } from './cache-sim.ts';
import { generateMonth, WORKLOAD, type Title, type Workload } from './cache-sim-workload.ts';
import { HOST_CAPACITY, Rendezvous, routeByAffinity, routeLeastLoaded, routeRandom, utilisation, type Capacity, type HostLoad } from './hosts-routing.ts';
import { generator } from './random.ts';
import { fmt, machine, median, wholeNumber, writeMarkedSection } from './report.ts';

const DOC = path.join(PROJECT_ROOT, 'docs', 'scaling.md');
const SECTION = {
  start: '<!-- bench:hosts:start (written by `npm run bench -- hosts`; edits inside are overwritten) -->',
  end: '<!-- bench:hosts:end -->',
} as const;
const HOST_COUNTS = [2, 4, 8] as const;
/** Each host's SSD budget as a share of the library: the cache bench's headline (one host today). */
const BUDGET_SHARE = 0.1;
/** The shared NAS, in Mbit/s. */
const NAS_MBIT = 1_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** The failure falls on the busiest moment of these days (0-based), so caches are warm and 24 h follow within the month. */
const FAILURE_DAYS = [7, 28] as const;
const FAILURE_MS = DAY_MS;
/** What a failure replay plays before the failure: two days fill each host's cache and its 24 h popularity window. */
const WARM_UP_MS = 2 * DAY_MS;
/** Hosts' background copies are brought up to date at least this often, to place copies on the NAS's hours. */
const COPY_LOOK_MS = 60_000;
const COPY_MBIT = (DEFAULTS.promoteBytesPerSecond * 8) / 1e6;

/** How starts are routed in one row of the tables. */
interface Routing {
  readonly name: string;
  readonly kind: 'affinity' | 'least-loaded' | 'random' | 'pooled';
  /** Affinity only: the bounded-load ε. */
  readonly bound?: number;
}

/**
 * The rows at one host count: the three routings (affinity twice: spilling only at the limit, and with a
 * bound) and, not a routing, one host with N times the budget and the link: the pooled cache affinity
 * tries to equal. One host has one row: every routing is the same there.
 */
function routingsFor(hosts: number, epsilon: number): readonly Routing[] {
  if (hosts === 1) return [{ name: 'one host', kind: 'least-loaded' }];
  return [
    { name: 'content affinity, spill when full', kind: 'affinity' },
    { name: `content affinity, bounded load ε = ${epsilon}`, kind: 'affinity', bound: epsilon },
    { name: 'least-loaded', kind: 'least-loaded' },
    { name: 'random', kind: 'random' },
    { name: 'reference: one host with N × SSD and link', kind: 'pooled' },
  ];
}
/** Three seeds keep a run within a minute on two busy cores; 120 viewers per host fill about 70 % of each at the evening peak. */
const DEFAULTS_RUN = { seeds: 3, viewersPerHost: 120, epsilon: 0.5 } as const;

/** A host during a replay. */
interface Host extends HostLoad {
  up: boolean;
  streams: number;
  mbitPerSecond: number;
  peakStreams: number;
  peakMbit: number;
  readonly tier: OurTier;
  /** The tier's copiedBytes when last looked at, to see copies complete. */
  copied: number;
}

/** A play being streamed: where, from what, and since when on that source. */
interface Open {
  host: number;
  source: Source;
  release: () => void;
  since: number;
  readonly mbit: number;
  readonly bytesPerMs: number;
}

/** What the failure of one host did to the streams it held. */
interface FailureResult {
  readonly held: number;
  readonly moved: number;
  readonly refused: number;
  readonly movedToSsd: number;
  /** The most moved streams one surviving host took, as a share of those moved. */
  readonly mostOnOne: number;
  /** NAS-read streams just before and just after the moves, in Mbit/s. */
  readonly nasBefore: number;
  readonly nasAfter: number;
}

/** Starts in the 24 h from the failure moment (the same window in the twin without failure). */
interface Window {
  readonly starts: number;
  readonly ssd: number;
  readonly refused: number;
}

/** The figures of one replay. */
interface Result {
  readonly starts: number;
  readonly ssdStarts: number;
  readonly refused: number;
  /** Starts not on their title's home among the hosts up; null for routings without homes. */
  readonly spilled: number | null;
  readonly bytes: number;
  readonly ssdBytes: number;
  readonly copiedBytes: number;
  /** NAS demand per hour of the month, mean Mbit/s: NAS-read streams, and copies. */
  readonly nasHours: { readonly streams: readonly number[]; readonly copies: readonly number[] };
  readonly peakStreams: readonly number[];
  readonly peakMbit: readonly number[];
  /** Failure replays only: the window after the failure moment, the busiest host then, and the failure. */
  readonly window: Window | null;
  readonly busiest: number;
  readonly failure: FailureResult | null;
}

/**
 * One replay: the month, how many hosts, how they are routed, and which plays. A whole month has no
 * failure; a failure replay (and its twin without one, `host` null) covers the plays from WARM_UP_MS
 * before the failure moment to 24 h after it, so caches are warm and the two differ only by the failure.
 */
interface Plan {
  readonly month: Workload;
  readonly hosts: number;
  readonly routing: Routing;
  readonly failure: { readonly at: number; readonly host: number | null } | null;
}

/** The moment of most plays at once within FAILURE_DAYS (routing aside, every play counted). */
function busiestMoment(month: Workload): number {
  let now = 0;
  let best = { at: FAILURE_DAYS[0] * DAY_MS, n: -1 };
  for (const m of moments(month)) {
    now += m.order === 1 ? 1 : m.order === 0 ? -1 : 0;
    if (m.order === 1 && m.at >= FAILURE_DAYS[0] * DAY_MS && m.at < FAILURE_DAYS[1] * DAY_MS && now > best.n) best = { at: m.at, n: now };
  }
  return best.at;
}

/** Adds `mbit` over [from, to) to hourly buckets of megabits. */
function addDemand(hours: Float64Array, from: number, to: number, mbit: number): void {
  for (let h = Math.max(0, Math.floor(from / HOUR_MS)); h < hours.length && h * HOUR_MS < to; h++) {
    const overlap = Math.min(to, (h + 1) * HOUR_MS) - Math.max(from, h * HOUR_MS);
    if (overlap > 0) hours[h]! += (mbit * overlap) / 1000;
  }
}

/** Replays a month, or the days around a failure, across hosts. */
function replay(plan: Plan): Result {
  const { month, routing, failure: fails } = plan;
  const pooled = routing.kind === 'pooled';
  const count = pooled ? 1 : plan.hosts;
  const scale = pooled ? plan.hosts : 1;
  const cap: Capacity = { streams: HOST_CAPACITY.streams * scale, mbitPerSecond: HOST_CAPACITY.mbitPerSecond * scale };
  const budget = BUDGET_SHARE * libraryBytes(month) * scale;
  const hosts: Host[] = Array.from({ length: count }, () => ({ up: true, streams: 0, mbitPerSecond: 0, peakStreams: 0, peakMbit: 0, tier: new OurTier(month.titles, budget, SERVER_DRIVE), copied: 0 }));
  const rendezvous = new Rendezvous(hosts.map((_, i) => `host-${i + 1}`));
  const isUp = (i: number): boolean => hosts[i]!.up;
  const next = nextEpisodes(month.titles);
  const draw = generator(month.seed ^ 0x5eed);
  const open = new Map<number, Open>();
  const streamHours = new Float64Array(WORKLOAD.days * 24 + 24);
  const copyHours = new Float64Array(streamHours.length);
  const from = fails ? fails.at - WARM_UP_MS : Number.NEGATIVE_INFINITY;
  const until = fails ? fails.at + FAILURE_MS : Number.POSITIVE_INFINITY;
  const inWindow = (at: number): boolean => fails !== null && at >= fails.at;
  let starts = 0;
  let ssdStarts = 0;
  let refused = 0;
  let spilled = 0;
  let bytes = 0;
  let ssdBytes = 0;
  let nas = 0;
  let busiest = -1;
  let failure: FailureResult | null = null;
  const window = { starts: 0, ssd: 0, refused: 0 };

  const route = (t: Title, mbit: number): number | null => {
    if (pooled || routing.kind === 'least-loaded') return routeLeastLoaded(hosts, mbit, cap);
    if (routing.kind === 'affinity') return routeByAffinity(rendezvous.order(t.id), hosts, mbit, routing.bound, cap);
    return routeRandom(hosts, mbit, draw, cap);
  };
  const place = (i: number, o: Open): void => {
    const h = hosts[i]!;
    h.streams++;
    h.mbitPerSecond += o.mbit;
    if (h.streams > cap.streams || h.mbitPerSecond > cap.mbitPerSecond + 1e-9) throw new Error(`host ${i + 1} over its capacity: a routing bug`);
    h.peakStreams = Math.max(h.peakStreams, h.streams);
    h.peakMbit = Math.max(h.peakMbit, h.mbitPerSecond);
    if (o.source !== 'ssd') nas += o.mbit;
  };
  /** Ends the play's stretch on its current source at `at`, counting its bytes, and takes it off its host. */
  const leave = (o: Open, at: number): void => {
    const h = hosts[o.host]!;
    h.streams--;
    h.mbitPerSecond -= o.mbit;
    o.release();
    const b = o.bytesPerMs * (at - o.since);
    bytes += b;
    if (o.source === 'ssd') ssdBytes += b;
    else {
      nas -= o.mbit;
      addDemand(streamHours, o.since, at, o.mbit);
    }
  };
  /** The host goes down: each stream it held is routed again at once, as its player's next range would be. */
  const fail = (down: number, at: number): void => {
    const h = hosts[down]!;
    const held = h.streams;
    const nasBefore = nas;
    h.up = false;
    let moved = 0;
    let lost = 0;
    let toSsd = 0;
    const taken = new Map<number, number>();
    for (const [i, o] of open) {
      if (o.host !== down) continue;
      leave(o, at);
      const t = month.plays[i]!.title;
      const to = route(t, o.mbit);
      if (to === null) {
        open.delete(i);
        lost++;
        continue;
      }
      const s = hosts[to]!.tier.start(t, at, false);
      Object.assign(o, { host: to, source: s.source, release: s.release, since: at });
      place(to, o);
      moved++;
      if (s.source === 'ssd') toSsd++;
      taken.set(to, (taken.get(to) ?? 0) + 1);
    }
    failure = { held, moved, refused: lost, movedToSsd: toSsd, mostOnOne: moved > 0 ? Math.max(...taken.values()) / moved : 0, nasBefore, nasAfter: nas };
  };
  /** Brings every host's copies up to `at` and books the copies completed since the last look on the NAS's hours. */
  const copiesUpTo = (at: number): void => {
    for (const h of hosts) {
      h.tier.advance(at);
      if (h.tier.copiedBytes > h.copied) {
        // A host copies one video at a time at the promote rate; these completed within the last look.
        const done = h.tier.copiedBytes - h.copied;
        addDemand(copyHours, at - (done / DEFAULTS.promoteBytesPerSecond) * 1000, at, COPY_MBIT);
        h.copied = h.tier.copiedBytes;
      }
    }
  };

  let failed = fails === null;
  let looked = Number.NEGATIVE_INFINITY;
  for (const m of moments(month) as readonly Moment[]) {
    if (m.at >= until) break;
    if (m.play.startMs < from) continue;
    if (!failed && m.at >= fails!.at) {
      failed = true;
      busiest = hosts.reduce((b, h, i) => (utilisation(h, cap) > utilisation(hosts[b]!, cap) ? i : b), 0);
      if (fails!.host !== null) fail(fails!.host, m.at);
    }
    if (m.at - looked >= COPY_LOOK_MS) {
      copiesUpTo(m.at);
      looked = m.at;
    }
    const t = m.play.title;
    if (m.order === 1) {
      starts++;
      const mbit = (t.sizeBytes * 8) / (t.durationMs / 1000) / 1e6;
      const to = route(t, mbit);
      if (inWindow(m.at)) window.starts++;
      if (to === null) {
        refused++;
        if (inWindow(m.at)) window.refused++;
        continue;
      }
      if (routing.kind === 'affinity' && to !== rendezvous.home(t.id, isUp)) spilled++;
      const s = hosts[to]!.tier.start(t, m.at, m.play.from === 0);
      const o: Open = { host: to, source: s.source, release: s.release, since: m.at, mbit, bytesPerMs: t.sizeBytes / t.durationMs };
      open.set(m.i, o);
      place(to, o);
      if (s.source === 'ssd') {
        ssdStarts++;
        if (inWindow(m.at)) window.ssd++;
      }
    } else if (m.order === 2) {
      const o = open.get(m.i);
      if (!o) continue;
      // Affinity pre-warms the next episode on its own home; the others on the host serving this one.
      const n = next.get(t.id);
      const target = routing.kind === 'affinity' && n ? (rendezvous.home(n.id, isUp) ?? o.host) : o.host;
      hosts[target]!.tier.passedPrewarm(t, m.at);
    } else {
      const o = open.get(m.i);
      if (!o) continue;
      open.delete(m.i);
      leave(o, m.at);
    }
  }
  return {
    starts,
    ssdStarts,
    refused,
    spilled: routing.kind === 'affinity' ? spilled : null,
    bytes,
    ssdBytes,
    copiedBytes: hosts.reduce((n, h) => n + h.tier.copiedBytes, 0),
    nasHours: { streams: [...streamHours].map((mb) => mb / 3600), copies: [...copyHours].map((mb) => mb / 3600) },
    peakStreams: hosts.map((h) => h.peakStreams),
    peakMbit: hosts.map((h) => h.peakMbit),
    window: fails ? window : null,
    busiest,
    failure,
  };
}

/** One routing at one host count over every seed: whole months, and the failure replays with their twins. */
interface Line {
  readonly hosts: number;
  readonly routing: Routing;
  readonly runs: readonly Result[];
  readonly failures: readonly { readonly failed: Result; readonly none: Result }[];
}

const pct = (x: number): string => `${fmt(x * 100, 1)} %`;
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const mid = <T>(xs: readonly T[], f: (x: T) => number): number => median(xs.map(f));
const maxOverMean = (xs: readonly number[]): number => Math.max(...xs) / (xs.reduce((a, b) => a + b, 0) / xs.length);
const sum = (a: readonly number[], b: readonly number[]): number[] => a.map((x, i) => x + b[i]!);
const busiestHour = (xs: readonly number[]): number => Math.max(...xs);
const hoursOver = (xs: readonly number[]): number => xs.filter((x) => x > NAS_MBIT).length;
const served = (r: { starts: number; refused: number }): number => Math.max(1, r.starts - r.refused);
const TB = 1e12;

function cacheRows(lines: readonly Line[]): string[][] {
  return [
    ['hosts', 'routing', 'starts from SSD', 'bytes from SSD', 'starts off their home', 'refused starts', 'NAS TB a month: streams + copies', 'NAS busiest hour, Mbit/s: streams / with copies', 'hours a month NAS > 1 Gbit/s: streams / with copies'],
    ...lines.map((l) => {
      const rs = l.runs;
      const both = (r: Result): number[] => sum(r.nasHours.streams, r.nasHours.copies);
      return [
        String(l.hosts),
        l.routing.name,
        pct(mid(rs, (r) => r.ssdStarts / served(r))),
        pct(mid(rs, (r) => r.ssdBytes / r.bytes)),
        rs[0]!.spilled === null ? '—' : pct(mid(rs, (r) => r.spilled! / served(r))),
        fmt(mid(rs, (r) => r.refused), 0),
        `${fmt(mid(rs, (r) => (r.bytes - r.ssdBytes) / TB), 0)} + ${fmt(mid(rs, (r) => r.copiedBytes / TB), 0)}`,
        `${fmt(mid(rs, (r) => busiestHour(r.nasHours.streams)), 0)} / ${fmt(mid(rs, (r) => busiestHour(both(r))), 0)}`,
        `${fmt(mid(rs, (r) => hoursOver(r.nasHours.streams)), 0)} / ${fmt(mid(rs, (r) => hoursOver(both(r))), 0)}`,
      ];
    }),
  ];
}

function loadRows(lines: readonly Line[]): string[][] {
  return [
    ['hosts', 'routing', 'peak streams, busiest host', "max / mean of hosts' peaks", 'peak Mbit/s, busiest host', "max / mean of hosts' peaks"],
    ...lines
      .filter((l) => l.routing.kind !== 'pooled')
      .map((l) => [
        String(l.hosts),
        l.routing.name,
        fmt(mid(l.runs, (r) => Math.max(...r.peakStreams)), 0),
        `${fmt(mid(l.runs, (r) => maxOverMean(r.peakStreams)), 2)}×`,
        fmt(mid(l.runs, (r) => Math.max(...r.peakMbit)), 0),
        `${fmt(mid(l.runs, (r) => maxOverMean(r.peakMbit)), 2)}×`,
      ]),
  ];
}

function failureRows(lines: readonly Line[]): string[][] {
  return [
    ['hosts', 'routing', 'streams on the failed host', 'moved / refused', 'moved onto an SSD copy', 'most moved to one host', 'NAS streams, Mbit/s: before → after', 'starts from SSD next 24 h: failure / none', 'refused next 24 h: failure / none'],
    ...lines
      .filter((l) => l.failures.length > 0)
      .map((l) => {
        const fs = l.failures;
        const f = (g: (x: FailureResult) => number): number => mid(fs, (x) => g(x.failed.failure!));
        const w = (which: 'failed' | 'none', g: (x: Window) => number): number => mid(fs, (x) => g(x[which].window!));
        const ssd = (x: Window): number => x.ssd / served(x);
        return [
          String(l.hosts),
          l.routing.name,
          fmt(f((x) => x.held), 0),
          `${fmt(f((x) => x.moved), 0)} / ${fmt(f((x) => x.refused), 0)}`,
          pct(f((x) => (x.moved > 0 ? x.movedToSsd / x.moved : 0))),
          pct(f((x) => x.mostOnOne)),
          `${fmt(f((x) => x.nasBefore), 0)} → ${fmt(f((x) => x.nasAfter), 0)}`,
          `${pct(w('failed', ssd))} / ${pct(w('none', ssd))}`,
          `${fmt(w('failed', (x) => x.refused), 0)} / ${fmt(w('none', (x) => x.refused), 0)}`,
        ];
      }),
  ];
}

/** The share of a month's titles whose home changes when one host joins N, for each N simulated. */
function movedOnJoin(titles: readonly Title[]): string {
  return HOST_COUNTS.map((n) => {
    const names = (k: number): string[] => Array.from({ length: k }, (_, i) => `host-${i + 1}`);
    const before = new Rendezvous(names(n));
    const after = new Rendezvous(names(n + 1));
    const moved = titles.filter((t) => before.hosts[before.home(t.id)!] !== after.hosts[after.home(t.id)!]).length;
    return `${n} → ${n + 1} hosts: ${fmt((moved / titles.length) * 100, 1)} % of titles move (1/${n + 1} = ${fmt(100 / (n + 1), 1)} %)`;
  }).join('; ');
}

/** The options after `hosts`. */
interface Options {
  readonly seed: number;
  readonly seeds: number;
  readonly viewersPerHost: number;
  readonly epsilon: number;
  readonly threads: number;
  readonly write: boolean;
}

function parse(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seed: { type: 'string', default: '1' },
      seeds: { type: 'string', default: String(DEFAULTS_RUN.seeds) },
      'viewers-per-host': { type: 'string', default: String(DEFAULTS_RUN.viewersPerHost) },
      epsilon: { type: 'string', default: String(DEFAULTS_RUN.epsilon) },
      threads: { type: 'string', default: String(Math.min(8, os.availableParallelism())) },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const epsilon = Number(values.epsilon);
  if (!(epsilon > 0 && epsilon <= 10)) throw new Error(`--epsilon: expected a number above 0 and at most 10, got ${values.epsilon}`);
  return {
    seed: wholeNumber('seed', values.seed, 0, 0xffffffff),
    seeds: wholeNumber('seeds', values.seeds, 1, 25),
    viewersPerHost: wholeNumber('viewers-per-host', values['viewers-per-host'], WORKLOAD.viewers, 400),
    epsilon,
    threads: wholeNumber('threads', values.threads, 1, 16),
    write: !values['no-write'],
  };
}

/** One seed at one host count: what a worker thread computes. */
export interface Job {
  readonly seed: number;
  readonly hosts: number;
  readonly viewersPerHost: number;
  readonly epsilon: number;
}

/** A job's figures: per routing of routingsFor(hosts), the whole month and, but for one host and the reference, the failure with its twin. */
export interface JobResult {
  readonly job: Job;
  readonly plays: number;
  readonly rows: readonly { readonly run: Result; readonly failure: { readonly failed: Result; readonly none: Result } | null }[];
}

/** Replays one seed's month through every routing at one host count: whole months, then the failure of the busiest host and its twin. */
export function simulateHostCount(job: Job): JobResult {
  const month = generateMonth(job.seed, job.hosts * job.viewersPerHost);
  const rows = routingsFor(job.hosts, job.epsilon).map((routing) => {
    const run = replay({ month, hosts: job.hosts, routing, failure: null });
    if (routing.kind === 'pooled' || job.hosts === 1) return { run, failure: null };
    const at = busiestMoment(month);
    const none = replay({ month, hosts: job.hosts, routing, failure: { at, host: null } });
    return { run, failure: { none, failed: replay({ month, hosts: job.hosts, routing, failure: { at, host: none.busiest } }) } };
  });
  return { job, plays: month.plays.length, rows };
}

/**
 * Runs the jobs on `threads` worker threads (bench/hosts-worker.ts), the largest first; each worker takes
 * the next job when it is done. The figures do not depend on the threads: every job is its own seed.
 */
/**
 * A worker's first code: tsx's loader does not reach worker threads started with a .ts file (tsx issue
 * 354), so the worker registers it itself before importing its module.
 */
const WORKER_BOOT = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./hosts-worker.ts', import.meta.url).href)}); })`;

async function runJobs(jobs: readonly Job[], threads: number, done: (r: JobResult) => void): Promise<JobResult[]> {
  const queue = [...jobs].sort((a, b) => b.hosts - a.hosts);
  const results: JobResult[] = [];
  const work = async (): Promise<void> => {
    const worker = new Worker(WORKER_BOOT, { eval: true });
    try {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const r = await new Promise<JobResult>((resolve, reject) => {
          const fail = (err: Error): void => reject(err);
          const exit = (code: number): void => reject(new Error(`a host simulation worker exited with code ${code}`));
          worker.once('error', fail).once('exit', exit);
          worker.once('message', (m: JobResult) => {
            worker.off('error', fail).off('exit', exit);
            resolve(m);
          });
          worker.postMessage(job);
        });
        results.push(r);
        done(r);
      }
    } finally {
      await worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(threads, jobs.length)) }, work));
  return results;
}

/** Runs the host simulation with the options after `hosts`; resolves to the exit code. */
export async function runHostsSimulation(argv: readonly string[]): Promise<number> {
  const o = parse(argv);
  const t0 = performance.now();
  const seeds = Array.from({ length: o.seeds }, (_, i) => o.seed + i);
  const counts = [1, ...HOST_COUNTS];
  const elapsed = (): string => `${fmt((performance.now() - t0) / 1000, 1)} s`;
  say(`Host simulation: seeds ${seeds.join(', ')}; ${o.viewersPerHost} viewers per host; each host ${HOST_CAPACITY.streams} streams or ${HOST_CAPACITY.mbitPerSecond} Mbit/s and an SSD budget of ${fmt(BUDGET_SHARE * 100, 0)} % of the library; ${o.threads} worker thread${o.threads > 1 ? 's' : ''}`);
  const jobs = counts.flatMap((hosts) => seeds.map((seed): Job => ({ seed, hosts, viewersPerHost: o.viewersPerHost, epsilon: o.epsilon })));
  const results = await runJobs(jobs, o.threads, (r) => say(`  seed ${r.job.seed}, ${r.job.hosts} host${r.job.hosts > 1 ? 's' : ''}: ${r.plays} plays (${elapsed()})`));
  const lines: Line[] = counts.flatMap((hosts) => {
    const mine = seeds.map((seed) => results.find((r) => r.job.hosts === hosts && r.job.seed === seed)!);
    return routingsFor(hosts, o.epsilon).map((routing, i) => ({
      hosts,
      routing,
      runs: mine.map((r) => r.rows[i]!.run),
      failures: mine.flatMap((r) => (r.rows[i]!.failure ? [r.rows[i]!.failure!] : [])),
    }));
  });
  const plays = counts.map((n) => {
    const ps = results.filter((r) => r.job.hosts === n).map((r) => r.plays);
    return `${n} host${n > 1 ? 's' : ''} ${Math.min(...ps)}-${Math.max(...ps)}`;
  });
  const titles = generateMonth(seeds[0]!, WORKLOAD.viewers).titles;
  const wall = (performance.now() - t0) / 1000;
  const tables = [cacheRows(lines), loadRows(lines), failureRows(lines)];
  const join = movedOnJoin(titles);
  say(`\n${tables.map(textTable).join('\n\n')}\n\nRendezvous homes of the ${titles.length} titles when a host joins: ${join}.\n(${fmt(wall, 1)} s)`);
  if (o.write) {
    const flags = [
      o.seed !== 1 ? ` --seed ${o.seed}` : '',
      o.seeds !== DEFAULTS_RUN.seeds ? ` --seeds ${o.seeds}` : '',
      o.viewersPerHost !== DEFAULTS_RUN.viewersPerHost ? ` --viewers-per-host ${o.viewersPerHost}` : '',
      o.epsilon !== DEFAULTS_RUN.epsilon ? ` --epsilon ${o.epsilon}` : '',
    ].join('');
    await writeMarkedSection(
      DOC,
      SECTION.start,
      SECTION.end,
      [
        '### Latest simulation',
        '',
        `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}; command: \`npm run bench -- hosts${flags}\`; ${fmt(wall, 1)} s on ${o.threads} worker thread${o.threads > 1 ? 's' : ''} (${machine().summary}).`,
        `- Seeds ${seeds.join(', ')}, ${o.viewersPerHost} viewers per host; plays a month: ${plays.join(', ')}; ${WORKLOAD.events} × ${WORKLOAD.episodes} titles.`,
        `- Each host: ${HOST_CAPACITY.streams} streams or ${HOST_CAPACITY.mbitPerSecond} Mbit/s, an SSD budget of ${fmt(BUDGET_SHARE * 100, 0)} % of the library, copies at ${fmt(DEFAULTS.promoteBytesPerSecond / 1e6, 0)} MB/s (${fmt(COPY_MBIT, 0)} Mbit/s). The NAS is shared, about ${fmt(NAS_MBIT, 0)} Mbit/s. Every figure is the median over the seeds, each column on its own (so moved and refused need not add up to the streams held).`,
        '',
        'SSD and NAS over the month:',
        '',
        markdownTable(tables[0]!),
        '',
        "Load per host (each host's peak over the month):",
        '',
        markdownTable(tables[1]!),
        '',
        `The busiest host fails at the month's busiest moment (days ${FAILURE_DAYS[0] + 1}-${FAILURE_DAYS[1]}) and stays down 24 h; replayed from ${WARM_UP_MS / DAY_MS} days before, beside the same days without the failure:`,
        '',
        markdownTable(tables[2]!),
        '',
        `Rendezvous homes of the library's ${titles.length} titles (their ids are the same in every seed) when a host joins: ${join}.`,
      ].join('\n'),
    );
    say(`Wrote the figures into ${path.relative(PROJECT_ROOT, DOC)}`);
  }
  return 0;
}
