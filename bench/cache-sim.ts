/**
 * `npm run bench -- cache`: a month of plays (bench/cache-sim-workload.ts) replayed through the SSD
 * tier's real policy (app/cache/policy.ts) on a driven clock, driven the way the server drives it, for
 * budgets of 5, 10 and 20 % of the library's bytes, beside plain LRU, a clairvoyant bound and labelled
 * variants of the policy's settings, of its eviction order (the least recently streamed order it had
 * before GDSF, segmented LRU) and of an admission filter. Prints the hit rate by starts and by bytes
 * and a breakdown of where our policy's starts went (hits by why the copy was made, misses by why there
 * was none, copies never used), checks the bar (≥ 60 % of starts from the SSD at a 10 % budget with our
 * policy and the server's defaults) on the held-out seeds, rewrites its marked section of
 * docs/performance.md and exits 1 when the bar is missed there. No disk, no network: a run takes
 * about half a minute.
 *
 * Seeds: the first half are the tuning seeds, on which a change to the policy is chosen; the second
 * half are held out, and the bar is judged on them alone, so that a rule picked because it suits the
 * months it was tried on does not also grade itself.
 *
 * Options: --seed N (first seed, default 1), --seeds K (consecutive seeds, default 20: tuning 1-10,
 * held out 11-20; figures are medians), --no-write (leave docs/performance.md alone).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { CachePolicy, nextInFolder, PREWARM_AT_PERCENT } from '../app/cache/policy.ts';
import { generateWorkload, WORKLOAD, type Play, type Title, type Workload } from './cache-sim-workload.ts';
import { fmt, median } from './report.ts';

/** The server's defaults (issue 8: --promote-after, --promote-window, --promote-rate, --head-bytes). */
export const DEFAULTS = { promoteAfter: 3, promoteWindowMs: 24 * 3_600_000, promoteBytesPerSecond: 100e6, headBytes: 8 * 1024 * 1024 } as const;
const BUDGET_SHARES = [0.05, 0.1, 0.2] as const;
/** The bar: starts served from the SSD at a 10 % budget, our policy with the defaults. */
const BAR = { budgetShare: 0.1, startsFromSsd: 0.6 } as const;
const DOC = path.join(PROJECT_ROOT, 'docs', 'performance.md');
const SECTION_START = '<!-- bench:cache:start (written by `npm run bench -- cache`; edits inside are overwritten) -->';
const SECTION_END = '<!-- bench:cache:end -->';

/** What serves a stream start. */
export type Source = 'ssd' | 'head' | 'nas';

/** A tier under test: the real policy, a variant of how it is driven, plain LRU or the clairvoyant bound. */
export interface Tier {
  /** Serves a start; `release` is called when the play ends. */
  /** `run`: the same viewer passed PREWARM_AT_PERCENT of the previous episode before this start (for the breakdown only). */
  start(t: Title, now: number, fromZero: boolean, run?: boolean): { source: Source; release: () => void };
  /** The viewer passed PREWARM_AT_PERCENT of `t`. */
  passedPrewarm(t: Title, now: number): void;
  /** Brings background work (copies) up to `now`; called before each moment of the month. */
  advance?(now: number): void;
  readonly copiedBytes: number;
  readonly evictions: number;
  readonly tally?: Tally;
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

/** How the server drives the policy: the headline's settings. */
export const SERVER_DRIVE: Drive = { promoteAfter: DEFAULTS.promoteAfter, promoteWindowMs: DEFAULTS.promoteWindowMs, prewarmAhead: 1, order: 'policy', admission: null };
const DAY_MS = 24 * 3_600_000;
const ADMISSION_WINDOW_MS = 30 * DAY_MS;

const nextCache = new WeakMap<readonly Title[], ReadonlyMap<string, Title | undefined>>();
/** The next video of each title's folder, by the policy's nextInFolder; the library does not change during a month. */
export function nextEpisodes(titles: readonly Title[]): ReadonlyMap<string, Title | undefined> {
  let m = nextCache.get(titles);
  if (!m) {
    const relPaths = titles.map((t) => t.relPath);
    const byPath = new Map(titles.map((t) => [t.relPath, t]));
    m = new Map(titles.map((t) => [t.id, byPath.get(nextInFolder(t.relPath, relPaths) ?? '')]));
    nextCache.set(titles, m);
  }
  return m;
}

/** Why a start missed the SSD copy. */
type MissKind = 'first start of the month, not pre-warmed' | 'started before, never copied' | 'evicted before this start' | 'copy under way';
const MISS_KINDS: readonly MissKind[] = ['first start of the month, not pre-warmed', 'started before, never copied', 'evicted before this start', 'copy under way'];

/** The breakdown of one month through our policy: starts by what served them, copies by why they were made and whether they were used. */
interface Tally {
  readonly hit: Record<'popular' | 'prewarm', number>;
  readonly miss: Record<MissKind, number>;
  /** Misses where the same viewer had passed PREWARM_AT_PERCENT of the previous episode (a pre-warm asked for this one). */
  readonly missInRun: Record<MissKind, number>;
  /** Misses that resume a video part-way. */
  readonly missResume: Record<MissKind, number>;
  readonly copied: Record<'popular' | 'prewarm', number>;
  readonly copiedGB: Record<'popular' | 'prewarm', number>;
  /** Copies started at least once while held. */
  readonly firstUse: Record<'popular' | 'prewarm', number>;
  /** Copies evicted for the budget without a start while held. */
  readonly unused: Record<'popular' | 'prewarm', number>;
  readonly unusedGB: Record<'popular' | 'prewarm', number>;
}

const emptyTally = (): Tally => ({
  hit: { popular: 0, prewarm: 0 },
  miss: Object.fromEntries(MISS_KINDS.map((k) => [k, 0])) as Record<MissKind, number>,
  missInRun: Object.fromEntries(MISS_KINDS.map((k) => [k, 0])) as Record<MissKind, number>,
  missResume: Object.fromEntries(MISS_KINDS.map((k) => [k, 0])) as Record<MissKind, number>,
  copied: { popular: 0, prewarm: 0 },
  copiedGB: { popular: 0, prewarm: 0 },
  firstUse: { popular: 0, prewarm: 0 },
  unused: { popular: 0, prewarm: 0 },
  unusedGB: { popular: 0, prewarm: 0 },
});

/**
 * The real CachePolicy, called the way app/cache/index.ts calls it. Promotions go into one queue
 * (popular and pre-warm rank alike, first come first served, duplicates dropped) that copies one video
 * at a time at the promote rate: room is made when a copy begins (each victim removed with the reason
 * 'budget', which moves the policy's clock), the copy is added when it completes,
 * and a start before that reads the NAS.
 */
export class OurTier implements Tier {
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
  /** Where each start came from and what the budget held, for the breakdown of misses. */
  readonly tally: Tally = emptyTally();
  /** Why each copy held or being made was asked for, and whether it was started while held. */
  private readonly why = new Map<string, { reason: 'popular' | 'prewarm'; started: boolean }>();
  private readonly everHeld = new Set<string>();
  private readonly queuedFor = new Map<string, 'popular' | 'prewarm'>();
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

  start(t: Title, now: number, fromZero: boolean, run = false): { source: Source; release: () => void } {
    this.advance(now);
    const hit = this.policy.has('copy', t.id);
    this.classify(t, hit, fromZero, run);
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
    if (this.policy.isPopular(t.id, now)) this.enqueue(t, now, 'popular');
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
      this.enqueue(next, now, 'prewarm');
    }
  }

  /** Files a start under the breakdown of misses (before it counts toward popularity). */
  private classify(t: Title, hit: boolean, fromZero: boolean, run: boolean): void {
    const k = this.tally;
    const w = this.why.get(t.id);
    if (hit) {
      if (w && !w.started) {
        w.started = true;
        k.firstUse[w.reason]++;
      }
      k.hit[w?.reason ?? 'popular']++;
      return;
    }
    const seen = this.history.has(t.id);
    const bucket: MissKind =
      this.running?.t === t || this.jobs.includes(t)
        ? 'copy under way'
        : this.everHeld.has(t.id)
          ? 'evicted before this start'
          : !seen
            ? 'first start of the month, not pre-warmed'
            : 'started before, never copied';
    k.miss[bucket]++;
    if (run) k.missInRun[bucket]++;
    if (!fromZero) k.missResume[bucket]++;
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
        const reason = this.queuedFor.get(t.id) ?? 'popular';
        this.policy.add('copy', t.id, t.sizeBytes, doneAt);
        this.queuedFor.delete(t.id);
        this.why.set(t.id, { reason, started: false });
        this.everHeld.add(t.id);
        this.tally.copied[reason]++;
        this.tally.copiedGB[reason] += t.sizeBytes / 1e9;
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
        if (v.kind === 'copy') {
          this.held.delete(v.id);
          const w = this.why.get(v.id);
          this.why.delete(v.id);
          if (w && !w.started) {
            this.tally.unused[w.reason]++;
            this.tally.unusedGB[w.reason] += (this.sizes.get(v.id) ?? 0) / 1e9;
          }
        }
        this.evictions++;
      }
      this.running = { t, doneAt: free + (t.sizeBytes / DEFAULTS.promoteBytesPerSecond) * 1000 };
    }
  }

  private enqueue(t: Title, now: number, reason: 'popular' | 'prewarm'): void {
    if (this.policy.has('copy', t.id) || this.running?.t === t || this.jobs.includes(t)) return;
    this.queuedFor.set(t.id, reason);
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
  /** Our policy's breakdown of starts and copies (not for the baselines). */
  readonly tally?: Tally;
}

/** A play's start (1), its passing PREWARM_AT_PERCENT (2) and its end (0); order breaks ties at one instant. */
export interface Moment {
  readonly at: number;
  readonly order: 0 | 1 | 2;
  readonly play: Play;
  readonly i: number;
}

/** The moments of a month in time order; the same for every tier, so sorted once. */
const momentCache = new WeakMap<Workload, readonly Moment[]>();
export function moments(w: Workload): readonly Moment[] {
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
  /** The last video each viewer passed PREWARM_AT_PERCENT of. */
  const passed = new Map<number, Title>();
  for (const e of moments(w)) {
    const t = e.play.title;
    tier.advance?.(e.at);
    if (e.order === 1) {
      const last = passed.get(e.play.viewer);
      const run = last !== undefined && last.event === t.event && last.episode + 1 === t.episode;
      const s = tier.start(t, e.at, e.play.from === 0, run);
      open.set(e.i, s);
      if (s.source === 'ssd') ssdStarts++;
      if (s.source === 'head') headStarts++;
    } else if (e.order === 2) {
      passed.set(e.play.viewer, t);
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
  return { starts: w.plays.length, ssdStarts, headStarts, bytes, ssdBytes, copiedBytes: tier.copiedBytes, evictions: tier.evictions, tally: tier.tally };
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

/** The seeds of a run, split in two: rules are chosen on the tuning seeds and judged on the held-out ones. */
interface SeedSets {
  readonly tuning: readonly number[];
  readonly heldOut: readonly number[];
}

/** One subject at one budget over every seed, with medians over each set. */
interface Line {
  readonly subject: Subject;
  readonly share: number;
  readonly budgetBytes: number;
  readonly perSeed: ReadonlyMap<number, Result>;
  readonly tuning: readonly Result[];
  readonly heldOut: readonly Result[];
  readonly heads: number;
  readonly bytes: number;
  readonly copiedGB: number;
  readonly evictions: number;
}

/** Bytes of a month's whole library. */
export const libraryBytes = (w: Workload): number => w.titles.reduce((s, t) => s + t.sizeBytes, 0);
const startShare = (r: Result): number => r.ssdStarts / r.starts;
const pct = (x: number): string => `${fmt(x * 100, 1)} %`;
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const startsMedian = (rs: readonly Result[]): number => median(rs.map(startShare));
const seedList = (seeds: readonly number[]): string => (seeds.length > 2 && seeds[seeds.length - 1]! - seeds[0]! === seeds.length - 1 ? `${seeds[0]}-${seeds[seeds.length - 1]}` : seeds.join(', '));

/** Replays every month through one subject at one budget share. */
function measure(months: readonly Workload[], sets: SeedSets, subject: Subject, share: number): Line {
  const perSeed = new Map(months.map((m) => [m.seed, replay(m, subject.make(m, share * libraryBytes(m)))]));
  const all = [...perSeed.values()];
  return {
    subject,
    share,
    budgetBytes: median(months.map((m) => share * libraryBytes(m))),
    perSeed,
    tuning: sets.tuning.map((s) => perSeed.get(s)!),
    heldOut: sets.heldOut.map((s) => perSeed.get(s)!),
    heads: median(all.map((r) => r.headStarts / r.starts)),
    bytes: median(all.map((r) => r.ssdBytes / r.bytes)),
    copiedGB: median(all.map((r) => r.copiedBytes / 1e9)),
    evictions: median(all.map((r) => r.evictions)),
  };
}

function cells(lines: readonly Line[], sets: SeedSets): string[][] {
  const cell = (rs: readonly Result[]): string => {
    if (rs.length === 0) return '—';
    const range = rs.length > 1 ? ` (${pct(Math.min(...rs.map(startShare)))}-${pct(Math.max(...rs.map(startShare)))})` : '';
    return `${pct(startsMedian(rs))}${range}`;
  };
  return [
    ['policy', 'budget', `starts from SSD, tuning seeds ${seedList(sets.tuning)}`, `starts from SSD, held-out seeds ${seedList(sets.heldOut)}`, 'head-served starts', 'bytes from SSD', 'GB copied', 'evictions'],
    ...lines.map((l) => [
      l.subject.name,
      `${fmt(l.share * 100, 0)} % (${fmt(l.budgetBytes / 1e9, 0)} GB)`,
      cell(l.tuning),
      cell(l.heldOut),
      pct(l.heads),
      pct(l.bytes),
      fmt(l.copiedGB, 0),
      fmt(l.evictions, 0),
    ]),
  ];
}

/**
 * Where the starts of our policy went, summed over each set of seeds: hits by why the copy was made,
 * misses by why there was no copy (with how many of them were the next episode of a viewer's run, and
 * how many resumes), and the copies made and evicted unused.
 */
function breakdown(line: Line, sets: SeedSets): string[][] {
  const sum = (rs: readonly Result[], f: (t: Tally) => number): number => rs.reduce((n, r) => n + (r.tally ? f(r.tally) : 0), 0);
  const starts = (rs: readonly Result[]): number => rs.reduce((n, r) => n + r.starts, 0);
  const share = (rs: readonly Result[], f: (t: Tally) => number): string => pct(sum(rs, f) / starts(rs));
  const count = (rs: readonly Result[], f: (t: Tally) => number, digits = 0): string => fmt(sum(rs, f) / Math.max(1, rs.length), digits);
  const sets2 = [line.tuning, line.heldOut] as const;
  const row = (name: string, f: (rs: readonly Result[]) => string): string[] => [name, ...sets2.map(f)];
  return [
    ['starts and copies, our policy at a ' + `${fmt(line.share * 100, 0)} % budget`, `tuning seeds ${seedList(sets.tuning)}`, `held-out seeds ${seedList(sets.heldOut)}`],
    row('hit: copy promoted for popularity', (rs) => share(rs, (t) => t.hit.popular)),
    row('hit: copy pre-warmed as the next episode', (rs) => share(rs, (t) => t.hit.prewarm)),
    ...MISS_KINDS.map((k) => row(`miss: ${k} (of which next of a run / resumes)`, (rs) => `${share(rs, (t) => t.miss[k])} (${share(rs, (t) => t.missInRun[k])} / ${share(rs, (t) => t.missResume[k])})`)),
    row('copies a month: popular / pre-warm', (rs) => `${count(rs, (t) => t.copied.popular)} / ${count(rs, (t) => t.copied.prewarm)}`),
    row('... started while held: popular / pre-warm', (rs) => `${count(rs, (t) => t.firstUse.popular)} / ${count(rs, (t) => t.firstUse.prewarm)}`),
    row('... evicted never started: popular / pre-warm (TB a month)', (rs) => `${count(rs, (t) => t.unused.popular)} / ${count(rs, (t) => t.unused.prewarm)} (${count(rs, (t) => t.unusedGB.popular / 1000, 1)} / ${count(rs, (t) => t.unusedGB.prewarm / 1000, 1)})`),
  ];
}

/** Rows of cells (the first the headings) as an aligned plain-text table. */
export function textTable(rows: readonly string[][]): string {
  const width = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: readonly string[]): string => r.map((v, c) => (c === 0 ? v.padEnd(width[c]!) : v.padStart(width[c]!))).join('  ');
  return [line(rows[0]!), width.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Rows of cells (the first the headings) as a markdown table, numbers right-aligned. */
export function markdownTable(rows: readonly string[][]): string {
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
    options: { seed: { type: 'string', default: '1' }, seeds: { type: 'string', default: '20' }, 'no-write': { type: 'boolean', default: false } },
  });
  const int = (name: string, v: string, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`--${name}: expected a whole number in 0-${max}, got ${v}`);
    return n;
  };
  return { seed: int('seed', values.seed, 0xffffffff), seeds: Math.max(1, int('seeds', values.seeds, 99)), write: !values['no-write'] };
}

/** Runs the simulation with the options after `cache`; resolves to the exit code (1 when the bar is missed on the held-out seeds). */
export async function runCacheSimulation(argv: readonly string[]): Promise<number> {
  const o = parse(argv);
  const t0 = performance.now();
  const seeds = Array.from({ length: o.seeds }, (_, i) => o.seed + i);
  // The first half of the seeds is for choosing rules, the second half for judging them; one seed is judged alone.
  const half = Math.floor(seeds.length / 2);
  const sets: SeedSets = { tuning: seeds.slice(0, half), heldOut: seeds.slice(half) };
  const months = seeds.map(generateWorkload);
  const heldOutMonths = months.filter((m) => sets.heldOut.includes(m.seed));
  const plays = months.map((m) => m.plays.length);
  const sizes = months.map((m) => libraryBytes(m) / 1e12);
  say(`Cache simulation: seeds ${seedList(sets.tuning) || '—'} (tuning) and ${seedList(sets.heldOut)} (held out); ${WORKLOAD.events} × ${WORKLOAD.episodes} titles, ${fmt(Math.min(...sizes), 2)}-${fmt(Math.max(...sizes), 2)} TB; ${Math.min(...plays)}-${Math.max(...plays)} plays a month`);
  const lines = SUBJECTS.flatMap((subject) => BUDGET_SHARES.map((share) => measure(months, sets, subject, share)));
  const bar = lines.find((l) => l.subject.headline && l.share === BAR.budgetShare)!;
  const heldOut = startsMedian(bar.heldOut);
  const holds = heldOut >= BAR.startsFromSsd;
  // The smallest whole-percent budget at which the headline reaches the bar's share of starts on the
  // held-out seeds (bisection: the share of starts grows with the budget, give or take a few starts).
  const heldOutSets: SeedSets = { tuning: [], heldOut: sets.heldOut };
  let lo = 0;
  let hi = 41;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (startsMedian(measure(heldOutMonths, heldOutSets, HEADLINE, mid / 100).heldOut) >= BAR.startsFromSsd) hi = mid;
    else lo = mid;
  }
  const enough = hi <= 40 ? hi : null;
  const wall = (performance.now() - t0) / 1000;
  const rows = cells(lines, sets);
  const misses = breakdown(bar, sets);
  const perSeed = (rs: readonly Result[]): string => rs.map((r) => pct(startShare(r))).join(', ');
  const verdict =
    `Bar: ≥ ${fmt(BAR.startsFromSsd * 100, 0)} % of starts from the SSD at a ${fmt(BAR.budgetShare * 100, 0)} % budget, our policy with the server's defaults, median of the held-out seeds: ` +
    `${pct(heldOut)} (seeds ${seedList(sets.heldOut)}: ${perSeed(bar.heldOut)}) — ${holds ? 'holds' : 'MISSED'}` +
    (sets.tuning.length > 0 ? `; tuning seeds ${seedList(sets.tuning)}: ${pct(startsMedian(bar.tuning))} (${perSeed(bar.tuning)})` : '');
  const reach = `Smallest budget at which our policy reaches ${fmt(BAR.startsFromSsd * 100, 0)} % of starts on the held-out seeds: ${enough === null ? 'none up to 40 %' : `${enough} % of the library`}`;
  say(`\n${textTable(rows)}\n\n${textTable(misses)}\n\n${verdict}\n${reach}\n(${fmt(wall, 1)} s)`);
  if (o.write) {
    const command = `npm run bench -- cache${o.seed !== 1 ? ` --seed ${o.seed}` : ''}${o.seeds !== 20 ? ` --seeds ${o.seeds}` : ''}`;
    await writeSection(
      [
        '### Latest simulation',
        '',
        `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}; command: \`${command}\`; ${fmt(wall, 1)} s.`,
        `- Seeds ${seedList(seeds)}: ${Math.min(...plays)}-${Math.max(...plays)} plays a month over ${WORKLOAD.events} × ${WORKLOAD.episodes} titles of ${fmt(Math.min(...sizes), 2)}-${fmt(Math.max(...sizes), 2)} TB.`,
        `- "Starts from SSD" is the median over the tuning seeds and over the held-out seeds, lowest and highest seed in brackets; the other columns are medians over all ${seeds.length} seeds.`,
        '',
        markdownTable(rows),
        '',
        'Where the starts went (sums over each set of seeds, as shares of its starts; copies per month):',
        '',
        markdownTable(misses),
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
