/**
 * `npm run bench -- cache`: a month of plays (bench/cache-sim-workload.ts) replayed through the SSD
 * tier's real policy (app/cache/policy.ts) on a driven clock, driven the way the server drives it, for
 * budgets of 5, 10 and 20 % of the library's bytes, beside plain LRU, a clairvoyant bound and labelled
 * variants of the policy's settings, of its eviction order (the least recently streamed order it had
 * before GDSF, segmented LRU) and of an admission filter. Prints the hit rate by starts and by bytes, checks the bar (≥ 60 % of starts from the SSD at a 10 % budget with our policy and the
 * server's defaults), rewrites its marked section of docs/performance.md and exits 1 when the bar is
 * missed. No disk, no network: a run takes a few seconds.
 *
 * Options: --seed N (first seed, default 1), --seeds K (consecutive seeds, default 5; figures are
 * medians over them), --no-write (leave docs/performance.md alone).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { CachePolicy, nextInFolder, PREWARM_AT_PERCENT } from '../app/cache/policy.ts';
import { generateWorkload, WORKLOAD, type Play, type Title, type Workload } from './cache-sim-workload.ts';
import { fmt, median } from './report.ts';

/** The server's defaults (issue 8: --promote-after, --promote-window, --promote-rate, --head-bytes). */
const DEFAULTS = { promoteAfter: 3, promoteWindowMs: 24 * 3_600_000, promoteBytesPerSecond: 100e6, headBytes: 8 * 1024 * 1024 } as const;
const BUDGET_SHARES = [0.05, 0.1, 0.2] as const;
/** The bar: starts served from the SSD at a 10 % budget, our policy with the defaults. */
const BAR = { budgetShare: 0.1, startsFromSsd: 0.6 } as const;
const DOC = path.join(PROJECT_ROOT, 'docs', 'performance.md');
const SECTION_START = '<!-- bench:cache:start (written by `npm run bench -- cache`; edits inside are overwritten) -->';
const SECTION_END = '<!-- bench:cache:end -->';

/** What serves a stream start. */
type Source = 'ssd' | 'head' | 'nas';

/** A tier under test: the real policy, a variant of how it is driven, plain LRU or the clairvoyant bound. */
interface Tier {
  /** Serves a start; `release` is called when the play ends. */
  start(t: Title, now: number, fromZero: boolean): { source: Source; release: () => void };
  /** The viewer passed PREWARM_AT_PERCENT of `t`. */
  passedPrewarm(t: Title, now: number): void;
  /** Brings background work (copies) up to `now`; called before each moment of the month. */
  advance?(now: number): void;
  readonly copiedBytes: number;
  readonly evictions: number;
}

const NO_RELEASE = (): void => undefined;

/** The baselines' copier: one copy at a time at the promote rate; a copy asked for while another runs waits for it. */
class CopyQueue {
  private freeAt = 0;
  constructor(private readonly bytesPerSecond: number) {}

  /** When a copy of `size` bytes asked for `now` is complete. */
  schedule(size: number, now: number): number {
    this.freeAt = Math.max(now, this.freeAt) + (size / this.bytesPerSecond) * 1000;
    return this.freeAt;
  }
}

/**
 * The order in which whole copies are evicted: the policy's own (GDSF value), or one the simulation
 * imposes to weigh it against: least recently streamed (the policy before GDSF), segmented LRU
 * (copies started more than once while held are protected: probation goes first), or the fewest starts
 * within `fewestStartsInMs`, then least recently streamed. Heads still go last, leased copies never.
 */
type Order = 'policy' | 'lru' | 'segmented' | { readonly fewestStartsInMs: number };

/**
 * An admission filter in the spirit of TinyLFU: a copy is made only if its starts within 30 days are
 * at least those of each copy it would evict. A pre-warm candidate carries the popularity of the
 * viewer's run (the starts of the episode just watched) or of its series (the starts of its whole folder).
 */
type Admission = null | 'previous episode' | 'series';

/** How our policy is driven; SERVER_DRIVE is what the server does, the rest are variants to weigh. */
interface Drive {
  readonly promoteAfter: number;
  readonly promoteWindowMs: number;
  /** Episodes ahead to pre-warm once a viewer passes PREWARM_AT_PERCENT (the server: 1). */
  readonly prewarmAhead: number;
  readonly order: Order;
  readonly admission: Admission;
}

const SERVER_DRIVE: Drive = { promoteAfter: DEFAULTS.promoteAfter, promoteWindowMs: DEFAULTS.promoteWindowMs, prewarmAhead: 1, order: 'policy', admission: null };
const DAY_MS = 24 * 3_600_000;
const ADMISSION_WINDOW_MS = 30 * DAY_MS;

/** The next video of each title's folder, by the policy's nextInFolder; the library does not change during a month. */
const nextCache = new WeakMap<readonly Title[], ReadonlyMap<string, Title | undefined>>();
function nextEpisodes(titles: readonly Title[]): ReadonlyMap<string, Title | undefined> {
  let m = nextCache.get(titles);
  if (!m) {
    const relPaths = titles.map((t) => t.relPath);
    const byPath = new Map(titles.map((t) => [t.relPath, t]));
    m = new Map(titles.map((t) => [t.id, byPath.get(nextInFolder(t.relPath, relPaths) ?? '')]));
    nextCache.set(titles, m);
  }
  return m;
}

/**
 * The real CachePolicy, called the way app/cache/index.ts calls it. Promotions go into one queue
 * (popular and pre-warm rank alike, first come first served, duplicates dropped) that copies one video
 * at a time at the promote rate: room is made when a copy begins (each victim removed with the reason
 * 'budget', which moves the policy's clock), the copy is added when it completes,
 * and a start before that reads the NAS.
 */
class OurTier implements Tier {
  private readonly policy: CachePolicy;
  private readonly jobs: Title[] = [];
  private running: { readonly t: Title; readonly doneAt: number } | null = null;
  private readonly next: ReadonlyMap<string, Title | undefined>;
  /** For the variants only: copies held (with their starts while held), every start, last streamed, the streams reading each copy, and the popularity a pre-warm candidate carries. */
  private readonly held = new Map<string, number>();
  private readonly history = new Map<string, number[]>();
  private readonly lastUsed = new Map<string, number>();
  private readonly streaming = new Map<string, number>();
  private readonly carried = new Map<string, number>();
  private readonly sizes: ReadonlyMap<string, number>;
  private readonly series: ReadonlyMap<number, readonly Title[]>;
  copiedBytes = 0;
  evictions = 0;

  constructor(titles: readonly Title[], budgetBytes: number, private readonly drive: Drive) {
    this.policy = new CachePolicy({ promoteAfter: drive.promoteAfter, promoteWindowMs: drive.promoteWindowMs, budgetBytes });
    this.next = nextEpisodes(titles);
    this.sizes = new Map(titles.map((t) => [t.id, t.sizeBytes]));
    const series = new Map<number, Title[]>();
    for (const t of titles) series.set(t.event, [...(series.get(t.event) ?? []), t]);
    this.series = series;
    // Every head is held from the start, within the budget.
    for (const t of titles) this.policy.add('head', t.id, DEFAULTS.headBytes, 0);
  }

  start(t: Title, now: number, fromZero: boolean): { source: Source; release: () => void } {
    this.advance(now);
    const hit = this.policy.has('copy', t.id);
    this.policy.noteStart(t.id, now);
    const starts = this.history.get(t.id) ?? [];
    starts.push(now);
    this.history.set(t.id, starts);
    let release = NO_RELEASE;
    if (hit) {
      this.policy.touch('copy', t.id, now);
      this.lastUsed.set(t.id, now);
      this.held.set(t.id, (this.held.get(t.id) ?? 0) + 1);
      const leased = this.policy.lease('copy', t.id);
      this.streaming.set(t.id, (this.streaming.get(t.id) ?? 0) + 1);
      release = () => {
        leased();
        this.streaming.set(t.id, (this.streaming.get(t.id) ?? 1) - 1);
      };
    }
    if (this.policy.isPopular(t.id, now)) this.enqueue(t, now);
    return { source: hit ? 'ssd' : fromZero && this.policy.has('head', t.id) ? 'head' : 'nas', release };
  }

  passedPrewarm(t: Title, now: number): void {
    this.advance(now);
    let next = this.next.get(t.id);
    for (let i = 0; i < this.drive.prewarmAhead && next; i++, next = this.next.get(next.id)) {
      if (this.policy.has('copy', next.id)) continue;
      if (this.drive.admission === 'previous episode') this.carried.set(next.id, this.recentStarts(t.id, now, ADMISSION_WINDOW_MS));
      if (this.drive.admission === 'series') {
        const folder = this.series.get(next.event) ?? [];
        this.carried.set(next.id, folder.reduce((n, x) => n + this.recentStarts(x.id, now, ADMISSION_WINDOW_MS), 0));
      }
      this.enqueue(next, now);
    }
  }

  /** Runs the copier up to `now`: completes copies due by then and begins the next ones. */
  advance(now: number): void {
    let free = now;
    for (;;) {
      if (this.running) {
        if (this.running.doneAt > now) return;
        const { t, doneAt } = this.running;
        this.running = null;
        free = doneAt;
        this.policy.add('copy', t.id, t.sizeBytes, doneAt);
        this.held.set(t.id, 0);
        this.lastUsed.set(t.id, doneAt);
        this.copiedBytes += t.sizeBytes;
      }
      const t = this.jobs.shift();
      if (!t) return;
      const victims = t.sizeBytes > this.policy.budgetBytes ? undefined : this.victims(t, free);
      if (!victims) continue; // no room: the job is dropped, as the server logs cache_no_room
      for (const v of victims) {
        this.policy.remove(v.kind, v.id, 'budget');
        if (v.kind === 'copy') this.held.delete(v.id);
        this.evictions++;
      }
      this.running = { t, doneAt: free + (t.sizeBytes / DEFAULTS.promoteBytesPerSecond) * 1000 };
    }
  }

  private enqueue(t: Title, now: number): void {
    if (this.policy.has('copy', t.id) || this.running?.t === t || this.jobs.includes(t)) return;
    this.jobs.push(t);
    this.advance(now);
  }

  private recentStarts(id: string, now: number, window = this.drive.promoteWindowMs): number {
    return (this.history.get(id) ?? []).filter((x) => x > now - window).length;
  }

  /** What to evict for `t`: the policy's choice, or the variant's order, then the variant's admission filter. */
  private victims(t: Title, now: number): { kind: 'copy' | 'head'; id: string }[] | undefined {
    const carried = this.carried.get(t.id);
    this.carried.delete(t.id);
    const policyChoice = this.policy.victimsFor(t.sizeBytes, Number.POSITIVE_INFINITY, t.id);
    if (!policyChoice || policyChoice.length === 0) return policyChoice;
    const choice = this.drive.order === 'policy' ? policyChoice : this.inOrder(this.drive.order, t, now) ?? policyChoice;
    if (this.drive.admission === null) return choice;
    const mine = Math.max(this.recentStarts(t.id, now, ADMISSION_WINDOW_MS), carried ?? 0);
    const theirs = choice.filter((v) => v.kind === 'copy').map((v) => this.recentStarts(v.id, now, ADMISSION_WINDOW_MS));
    return mine >= Math.max(0, ...theirs) ? choice : undefined;
  }

  /** The copies to evict for `t` in a variant's order; undefined when copies alone cannot make the room. */
  private inOrder(order: Exclude<Order, 'policy'>, t: Title, now: number): { kind: 'copy'; id: string }[] | undefined {
    const rank = (id: string): number =>
      order === 'lru' ? 0 : order === 'segmented' ? (this.held.get(id)! >= 2 ? 1 : 0) : this.recentStarts(id, now, order.fewestStartsInMs);
    const candidates = [...this.held.keys()]
      .filter((id) => id !== t.id && !this.streaming.get(id))
      .map((id) => ({ id, rank: rank(id), last: this.lastUsed.get(id) ?? 0 }))
      .sort((a, b) => a.rank - b.rank || a.last - b.last);
    let need = this.policy.usedBytes + t.sizeBytes - this.policy.budgetBytes;
    const out: { kind: 'copy'; id: string }[] = [];
    for (const c of candidates) {
      if (need <= 0) break;
      out.push({ kind: 'copy', id: c.id });
      need -= this.sizes.get(c.id)!;
    }
    return need <= 0 ? out : undefined;
  }
}

/**
 * Whole copies without heads, threshold or pre-warm, for the baselines: every miss is copied at once
 * (through the same one-at-a-time copier) and `pickVictims` chooses what goes. A copy evicted while it
 * is streamed keeps serving its open handle, as an unlinked file does, so there are no leases.
 */
abstract class CopyOnMiss implements Tier {
  protected readonly held = new Map<string, { size: number; readyAt: number }>();
  private readonly queue = new CopyQueue(DEFAULTS.promoteBytesPerSecond);
  private used = 0;
  copiedBytes = 0;
  evictions = 0;

  constructor(private readonly budgetBytes: number) {}

  /** The copies to evict so that `need` more bytes fit, or null to leave `t` on the NAS. */
  protected abstract pickVictims(t: Title, need: number): string[] | null;

  /** Called on every start before it is served. */
  protected abstract noteStart(t: Title): void;

  start(t: Title, now: number): { source: Source; release: () => void } {
    this.noteStart(t);
    const entry = this.held.get(t.id);
    if (entry) return { source: entry.readyAt <= now ? 'ssd' : 'nas', release: NO_RELEASE };
    const victims = t.sizeBytes > this.budgetBytes ? null : this.pickVictims(t, this.used + t.sizeBytes - this.budgetBytes);
    if (victims) {
      for (const id of victims) {
        this.used -= this.held.get(id)!.size;
        this.held.delete(id);
        this.evictions++;
      }
      this.held.set(t.id, { size: t.sizeBytes, readyAt: this.queue.schedule(t.sizeBytes, now) });
      this.used += t.sizeBytes;
        this.copiedBytes += t.sizeBytes;
    }
    return { source: 'nas', release: NO_RELEASE };
  }

  passedPrewarm(): void {}

  /** Takes entries in `order` until `need` bytes are free. */
  protected take(order: Iterable<string>, need: number): string[] {
    const out: string[] = [];
    for (const id of order) {
      if (need <= 0) break;
      out.push(id);
      need -= this.held.get(id)!.size;
    }
    return out;
  }
}

/** Plain LRU, the baseline: the least recently started copy goes first. */
class LruTier extends CopyOnMiss {
  protected noteStart(t: Title): void {
    // Map order is the recency order: move a held copy to the end.
    const entry = this.held.get(t.id);
    if (entry) {
      this.held.delete(t.id);
      this.held.set(t.id, entry);
    }
  }

  protected pickVictims(_t: Title, need: number): string[] {
    return this.take(this.held.keys(), need);
  }
}

/**
 * A reference, not a policy: it knows every future start and evicts the copies needed again last
 * (Belady's rule), and leaves a video on the NAS when it is needed later than what it would evict.
 * No real policy does better by much, so it says how far a budget can go for this workload.
 */
class ClairvoyantTier extends CopyOnMiss {
  private readonly future = new Map<string, number[]>();
  private readonly seen = new Map<string, number>();

  constructor(w: Workload, budgetBytes: number) {
    super(budgetBytes);
    for (const p of w.plays) {
      const list = this.future.get(p.title.id) ?? [];
      list.push(p.startMs);
      this.future.set(p.title.id, list);
    }
  }

  protected noteStart(t: Title): void {
    this.seen.set(t.id, (this.seen.get(t.id) ?? 0) + 1);
  }

  private nextStart(id: string): number {
    return this.future.get(id)?.[this.seen.get(id) ?? 0] ?? Infinity;
  }

  protected pickVictims(t: Title, need: number): string[] | null {
    const mine = this.nextStart(t.id);
    if (mine === Infinity) return null;
    const order = [...this.held.keys()].map((id) => ({ id, at: this.nextStart(id) })).sort((a, b) => b.at - a.at);
    const out = this.take(order.map((o) => o.id), need);
    const soonest = out.length > 0 ? this.nextStart(out[out.length - 1]!) : Infinity;
    return mine < soonest ? out : null;
  }
}

/** Figures of one tier over one month. */
interface Result {
  readonly starts: number;
  readonly ssdStarts: number;
  readonly headStarts: number;
  readonly bytes: number;
  readonly ssdBytes: number;
  readonly copiedBytes: number;
  readonly evictions: number;
}

/** A play's start (1), its passing PREWARM_AT_PERCENT (2) and its end (0); order breaks ties at one instant. */
interface Moment {
  readonly at: number;
  readonly order: 0 | 1 | 2;
  readonly play: Play;
  readonly i: number;
}

/** The moments of a month in time order; the same for every tier, so sorted once. */
const momentCache = new WeakMap<Workload, readonly Moment[]>();
function moments(w: Workload): readonly Moment[] {
  let evs = momentCache.get(w) as Moment[] | undefined;
  if (evs) return evs;
  evs = [];
  const prewarm = PREWARM_AT_PERCENT / 100;
  for (const [i, play] of w.plays.entries()) {
    const dur = play.title.durationMs;
    evs.push({ at: play.startMs, order: 1, play, i });
    // A viewer already past the mark when resuming passes it at the first progress report.
    if (play.to >= prewarm) evs.push({ at: play.startMs + Math.max(0, prewarm - play.from) * dur, order: 2, play, i });
    evs.push({ at: play.startMs + (play.to - play.from) * dur, order: 0, play, i });
  }
  evs.sort((a, b) => a.at - b.at || a.order - b.order);
  momentCache.set(w, evs);
  return evs;
}

/** Replays a month through a tier: starts, pre-warm points and ends in time order. */
function replay(w: Workload, tier: Tier): Result {
  const open = new Map<number, { source: Source; release: () => void }>();
  let ssdStarts = 0;
  let headStarts = 0;
  let bytes = 0;
  let ssdBytes = 0;
  for (const e of moments(w)) {
    const t = e.play.title;
    tier.advance?.(e.at);
    if (e.order === 1) {
      const s = tier.start(t, e.at, e.play.from === 0);
      open.set(e.i, s);
      if (s.source === 'ssd') ssdStarts++;
      if (s.source === 'head') headStarts++;
    } else if (e.order === 2) {
      tier.passedPrewarm(t, e.at);
    } else {
      const s = open.get(e.i)!;
      open.delete(e.i);
      s.release();
      const watched = (e.play.to - e.play.from) * t.sizeBytes;
      bytes += watched;
      if (s.source === 'ssd') ssdBytes += watched;
    }
  }
  return { starts: w.plays.length, ssdStarts, headStarts, bytes, ssdBytes, copiedBytes: tier.copiedBytes, evictions: tier.evictions };
}

/** One row of the simulation: how a tier is built. */
interface Subject {
  readonly name: string;
  /** The headline: the real policy driven as the server drives it. */
  readonly headline: boolean;
  readonly make: (w: Workload, budgetBytes: number) => Tier;
}

const ours = (drive: Partial<Drive>) => (w: Workload, budget: number): Tier => new OurTier(w.titles, budget, { ...SERVER_DRIVE, ...drive });

const HEADLINE: Subject = { name: 'ours (server defaults)', headline: true, make: ours({}) };
const SUBJECTS: readonly Subject[] = [
  HEADLINE,
  { name: 'plain LRU', headline: false, make: (w, budget) => new LruTier(budget) },
  { name: 'reference: clairvoyant', headline: false, make: (w, budget) => new ClairvoyantTier(w, budget) },
  { name: 'variant: promote after 2', headline: false, make: ours({ promoteAfter: 2 }) },
  { name: 'variant: promote window 72 h', headline: false, make: ours({ promoteWindowMs: 3 * DAY_MS }) },
  { name: 'variant: no pre-warm', headline: false, make: ours({ prewarmAhead: 0 }) },
  { name: 'variant: pre-warm 2 ahead', headline: false, make: ours({ prewarmAhead: 2 }) },
  { name: 'variant: least recently streamed first (before GDSF)', headline: false, make: ours({ order: 'lru' }) },
  { name: 'variant: segmented LRU (started twice: protected)', headline: false, make: ours({ order: 'segmented' }) },
  { name: 'variant: evict fewest starts in 30 d', headline: false, make: ours({ order: { fewestStartsInMs: 30 * DAY_MS } }) },
  { name: 'variant: LRU + admission, pre-warm carries previous episode', headline: false, make: ours({ order: 'lru', admission: 'previous episode' }) },
  { name: 'variant: LRU + admission, pre-warm carries series', headline: false, make: ours({ order: 'lru', admission: 'series' }) },
  { name: 'variant: GDSF + admission, pre-warm carries series', headline: false, make: ours({ admission: 'series' }) },
];

/** Medians over seeds of one subject at one budget. */
interface Line {
  readonly subject: Subject;
  readonly share: number;
  readonly budgetBytes: number;
  readonly perSeed: readonly Result[];
  readonly starts: number;
  readonly heads: number;
  readonly bytes: number;
  readonly copiedGB: number;
  readonly evictions: number;
}

const libraryBytes = (w: Workload): number => w.titles.reduce((s, t) => s + t.sizeBytes, 0);
const startShare = (r: Result): number => r.ssdStarts / r.starts;
const pct = (x: number): string => `${fmt(x * 100, 1)} %`;
const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** Replays every month through one subject at one budget share. */
function measure(months: readonly Workload[], subject: Subject, share: number): Line {
  const perSeed = months.map((m) => replay(m, subject.make(m, share * libraryBytes(m))));
  return {
    subject,
    share,
    budgetBytes: median(months.map((m) => share * libraryBytes(m))),
    perSeed,
    starts: median(perSeed.map(startShare)),
    heads: median(perSeed.map((r) => r.headStarts / r.starts)),
    bytes: median(perSeed.map((r) => r.ssdBytes / r.bytes)),
    copiedGB: median(perSeed.map((r) => r.copiedBytes / 1e9)),
    evictions: median(perSeed.map((r) => r.evictions)),
  };
}

function cells(lines: readonly Line[]): string[][] {
  const range = (l: Line): string => (l.perSeed.length > 1 ? ` (${pct(Math.min(...l.perSeed.map(startShare)))}-${pct(Math.max(...l.perSeed.map(startShare)))})` : '');
  return [
    ['policy', 'budget', 'starts from SSD', 'head-served starts', 'bytes from SSD', 'GB copied', 'evictions'],
    ...lines.map((l) => [
      l.subject.name,
      `${fmt(l.share * 100, 0)} % (${fmt(l.budgetBytes / 1e9, 0)} GB)`,
      `${pct(l.starts)}${range(l)}`,
      pct(l.heads),
      pct(l.bytes),
      fmt(l.copiedGB, 0),
      fmt(l.evictions, 0),
    ]),
  ];
}

function textTable(rows: readonly string[][]): string {
  const width = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: readonly string[]): string => r.map((v, c) => (c === 0 ? v.padEnd(width[c]!) : v.padStart(width[c]!))).join('  ');
  return [line(rows[0]!), width.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

function markdownTable(rows: readonly string[][]): string {
  const line = (r: readonly string[]): string => `| ${r.join(' | ')} |`;
  return [line(rows[0]!), `|---|${rows[0]!.slice(1).map(() => '---:').join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

/** Replaces the simulation's marked section of the doc, or appends it when the markers are missing. */
async function writeSection(markdown: string): Promise<void> {
  const doc = await readFile(DOC, 'utf8');
  const block = `${SECTION_START}\n${markdown.trim()}\n${SECTION_END}`;
  const a = doc.indexOf(SECTION_START);
  const b = doc.indexOf(SECTION_END);
  await writeFile(DOC, a >= 0 && b > a ? doc.slice(0, a) + block + doc.slice(b + SECTION_END.length) : `${doc.trimEnd()}\n\n${block}\n`);
}

function parse(argv: readonly string[]): { seed: number; seeds: number; write: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    options: { seed: { type: 'string', default: '1' }, seeds: { type: 'string', default: '5' }, 'no-write': { type: 'boolean', default: false } },
  });
  const int = (name: string, v: string, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`--${name}: expected a whole number in 0-${max}, got ${v}`);
    return n;
  };
  return { seed: int('seed', values.seed, 0xffffffff), seeds: Math.max(1, int('seeds', values.seeds, 99)), write: !values['no-write'] };
}

/** Runs the simulation with the options after `cache`; resolves to the exit code (1 when the bar is missed). */
export async function runCacheSimulation(argv: readonly string[]): Promise<number> {
  const o = parse(argv);
  const t0 = performance.now();
  const seeds = Array.from({ length: o.seeds }, (_, i) => o.seed + i);
  const months = seeds.map(generateWorkload);
  const plays = months.map((m) => m.plays.length);
  const sizes = months.map((m) => libraryBytes(m) / 1e12);
  say(`Cache simulation: seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')}; ${WORKLOAD.events} × ${WORKLOAD.episodes} titles, ${fmt(Math.min(...sizes), 2)}-${fmt(Math.max(...sizes), 2)} TB; ${Math.min(...plays)}-${Math.max(...plays)} plays a month`);
  const lines = SUBJECTS.flatMap((subject) => BUDGET_SHARES.map((share) => measure(months, subject, share)));
  const bar = lines.find((l) => l.subject.headline && l.share === BAR.budgetShare)!;
  const holds = bar.starts >= BAR.startsFromSsd;
  // The smallest whole-percent budget at which the headline reaches the bar's share of starts (bisection:
  // the share of starts grows with the budget, give or take a few starts).
  let lo = 0;
  let hi = 41;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (measure(months, HEADLINE, mid / 100).starts >= BAR.startsFromSsd) hi = mid;
    else lo = mid;
  }
  const enough = hi <= 40 ? hi : null;
  const wall = (performance.now() - t0) / 1000;
  const rows = cells(lines);
  const verdict =
    `Bar: ≥ ${fmt(BAR.startsFromSsd * 100, 0)} % of starts from the SSD at a ${fmt(BAR.budgetShare * 100, 0)} % budget, our policy with the server's defaults: ` +
    `${pct(bar.starts)} (median of ${seeds.length} seed${seeds.length > 1 ? 's' : ''}: ${bar.perSeed.map((r) => pct(startShare(r))).join(', ')}) — ${holds ? 'holds' : 'MISSED'}`;
  const reach = `Smallest budget at which our policy reaches ${fmt(BAR.startsFromSsd * 100, 0)} % of starts: ${enough === null ? 'none up to 40 %' : `${enough} % of the library`}`;
  say(`\n${textTable(rows)}\n\n${verdict}\n${reach}\n(${fmt(wall, 1)} s)`);
  if (o.write) {
    const command = `npm run bench -- cache${o.seed !== 1 ? ` --seed ${o.seed}` : ''}${o.seeds !== 5 ? ` --seeds ${o.seeds}` : ''}`;
    await writeSection(
      [
        '### Latest simulation',
        '',
        `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}; command: \`${command}\`; ${fmt(wall, 1)} s.`,
        `- Seeds ${seeds.join(', ')}: ${Math.min(...plays)}-${Math.max(...plays)} plays a month over ${WORKLOAD.events} × ${WORKLOAD.episodes} titles of ${fmt(Math.min(...sizes), 2)}-${fmt(Math.max(...sizes), 2)} TB.`,
        '- Figures are medians over the seeds; "starts from SSD" gives the lowest and highest seed in brackets.',
        '',
        markdownTable(rows),
        '',
        `${verdict}.`,
        '',
        `${reach}.`,
      ].join('\n'),
    );
    say(`Wrote the figures into ${path.relative(PROJECT_ROOT, DOC)}`);
  }
  return holds ? 0 : 1;
}
