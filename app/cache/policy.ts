/**
 * The SSD tier's decisions, as a pure state machine with a driven clock: which videos to promote, which
 * copies to evict to stay within the budget. It touches no disk, so the server and the cache simulation
 * of the benchmark (bench/cache-sim.ts) run the very same rules.
 *
 *   start of a stream ──► popularity window (starts within --promote-window)
 *        │                   └─ ≥ --promote-after and not held ──► promote
 *   viewer past 70 % ──► the next video of the folder, if not held ──► promote (pre-warm)
 *   admin pin ──► promote, never evicted
 *   a copy to place ──► room? else evict the whole copies of least value (never pinned, never leased
 *                       by a stream being served), heads last; no room at all ──► refuse
 *
 * The value of a whole copy is GreedyDual-Size-Frequency: priority = L + max(1, starts) / size, where
 * `starts` counts the real starts of the video: those within --promote-window when the copy was placed
 * plus every start while it is held. A copy no one has started yet (a pre-warm, a pin) counts as one
 * start, the one it was made for; when that start comes it is the same start, not a second one. The
 * clock L is the priority of the last copy evicted for the budget. So the
 * order is no longer purely "least recently streamed": the hit rate is counted by starts and titles
 * run 1-10 GB, so a small copy started as often as a large one is worth more per byte. Recency still
 * plays its part through L: every eviction raises it, so a copy placed or started now outranks one of
 * the same starts per byte that was last valued long ago. Measured on a month of plays (npm run bench
 * -- cache, docs/performance.md, medians of held-out seeds 11-20 at a 10 % budget): 45.0 % of starts
 * from the SSD with plain LRU, 60.8 % with GDSF crediting a pre-warm's first start on top of its
 * stand-in, 61.2 % with the stand-in replaced by that start.
 */

import { naturalCompare } from '../model/natural-order.ts';

/** What kind of copy an entry is: a whole video, or its head (first bytes and `moov`). */
export type EntryKind = 'copy' | 'head';

/** Settings of the policy. */
export interface PolicyOptions {
  /** Starts within the window that make a video popular enough to copy. */
  readonly promoteAfter: number;
  readonly promoteWindowMs: number;
  /** Bytes the tier may hold, copies and heads together. */
  readonly budgetBytes: number;
}

/** One entry the policy accounts for. */
interface Held {
  readonly kind: EntryKind;
  readonly size: number;
  lastUsed: number;
  leases: number;
  /** Real starts that count toward a whole copy's value (see `priority`); 0 for a copy not started yet. */
  starts: number;
  /** GreedyDual-Size-Frequency value of a whole copy: L + max(1, starts) / size; the lowest goes first. */
  priority: number;
}

/** Why an entry was evicted. */
export type EvictReason = 'budget' | 'invalid' | 'admin' | 'missing';

/** Share of a video after which the next one of its folder is pre-warmed. */
export const PREWARM_AT_PERCENT = 70;

const key = (kind: EntryKind, id: string): string => `${kind}:${id}`;

/** The policy's state: popularity, entries held, pins, leases. */
export class CachePolicy {
  private readonly starts = new Map<string, number[]>();
  private readonly held = new Map<string, Held & { readonly id: string }>();
  private readonly pins = new Set<string>();
  private used = 0;
  /** GDSF's clock L: the priority of the last copy evicted for the budget. */
  private clock = 0;

  constructor(private readonly opts: PolicyOptions) {}

  /** Bytes held now. */
  get usedBytes(): number {
    return this.used;
  }

  /** The budget. */
  get budgetBytes(): number {
    return this.opts.budgetBytes;
  }

  /** Records a stream start; returns the starts of that video within the window, this one included. */
  noteStart(id: string, now: number): number {
    const cutoff = now - this.opts.promoteWindowMs;
    const list = (this.starts.get(id) ?? []).filter((t) => t > cutoff);
    list.push(now);
    this.starts.set(id, list);
    if (this.starts.size > 10_000) this.sweep(cutoff);
    const copy = this.held.get(key('copy', id));
    if (copy) this.value(copy, copy.starts + 1);
    return list.length;
  }

  /** True when a start just made the video popular enough and it has no copy yet. */
  isPopular(id: string, now: number): boolean {
    return this.recentStarts(id, now) >= this.opts.promoteAfter && !this.has('copy', id);
  }

  /** Whether an entry is held. */
  has(kind: EntryKind, id: string): boolean {
    return this.held.has(key(kind, id));
  }

  /** Marks an entry as streamed now (among heads, and among copies of equal value, the least recently streamed goes first). */
  touch(kind: EntryKind, id: string, now: number): void {
    const h = this.held.get(key(kind, id));
    if (h) h.lastUsed = now;
  }

  /** A stream is reading the entry: it must not be evicted until released. */
  lease(kind: EntryKind, id: string): () => void {
    const h = this.held.get(key(kind, id));
    if (!h) return () => undefined;
    h.leases++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      h.leases = Math.max(0, h.leases - 1);
    };
  }

  /** How many streams read the entry now. */
  leases(kind: EntryKind, id: string): number {
    return this.held.get(key(kind, id))?.leases ?? 0;
  }

  /** Pins a video: its copy is never evicted. */
  pin(id: string): void {
    this.pins.add(id);
  }

  /** Unpins a video. */
  unpin(id: string): void {
    this.pins.delete(id);
  }

  /** Whether a video is pinned. */
  isPinned(id: string): boolean {
    return this.pins.has(id);
  }

  /**
   * The entries to evict so that `size` more bytes fit: whole copies of lowest value first (GDSF
   * priority, then least recently streamed), heads last (least recently streamed first); never a pinned
   * copy, never a leased entry, never `except`. Undefined when even evicting every candidate would not
   * make room (so nothing is evicted for a copy that cannot fit). Evict them with remove(…, 'budget').
   */
  victimsFor(size: number, freeLimit = Number.POSITIVE_INFINITY, except?: string): { kind: EntryKind; id: string }[] | undefined {
    const limit = Math.min(this.opts.budgetBytes, this.used + freeLimit);
    let need = this.used + size - limit;
    if (need <= 0) return [];
    const candidates = [...this.held.values()]
      .filter((h) => h.leases === 0 && h.id !== except && !(h.kind === 'copy' && this.pins.has(h.id)))
      .sort((a, b) => (a.kind !== b.kind ? (a.kind === 'copy' ? -1 : 1) : (a.kind === 'copy' ? a.priority - b.priority : 0) || a.lastUsed - b.lastUsed));
    const out: { kind: EntryKind; id: string }[] = [];
    for (const c of candidates) {
      if (need <= 0) break;
      out.push({ kind: c.kind, id: c.id });
      need -= c.size;
    }
    return need <= 0 ? out : undefined;
  }

  /** Bytes a pinned video may use at most: the budget less what other pins and the heads hold. */
  roomForPin(id: string): number {
    let fixed = 0;
    for (const h of this.held.values()) {
      if ((h.kind === 'copy' && this.pins.has(h.id) && h.id !== id) || h.kind === 'head') fixed += h.size;
    }
    return this.opts.budgetBytes - fixed;
  }

  /**
   * Accounts for a new entry; a whole copy starts with the starts its video had within the window,
   * and is valued as one start while it has none (a pre-warm waits for the start it was made for).
   */
  add(kind: EntryKind, id: string, size: number, now: number): void {
    this.remove(kind, id);
    const h = { kind, id, size, lastUsed: now, leases: 0, starts: 0, priority: 0 };
    if (kind === 'copy') this.value(h, this.recentStarts(id, now));
    this.held.set(key(kind, id), h);
    this.used += size;
  }

  /** Forgets an entry; returns whether it was held. A copy evicted for the budget moves the clock L up to its value. */
  remove(kind: EntryKind, id: string, reason?: EvictReason): boolean {
    const h = this.held.get(key(kind, id));
    if (!h) return false;
    this.held.delete(key(kind, id));
    this.used -= h.size;
    if (reason === 'budget' && kind === 'copy') this.clock = Math.max(this.clock, h.priority);
    return true;
  }

  private value(h: Held, starts: number): void {
    h.starts = starts;
    // A copy not started yet stands for the start it was made for; its first start replaces that stand-in.
    h.priority = this.clock + Math.max(1, starts) / Math.max(1, h.size);
  }

  private recentStarts(id: string, now: number): number {
    const cutoff = now - this.opts.promoteWindowMs;
    return (this.starts.get(id) ?? []).filter((t) => t > cutoff).length;
  }

  private sweep(cutoff: number): void {
    for (const [id, list] of this.starts) if (!list.some((t) => t > cutoff)) this.starts.delete(id);
  }
}

/** Natural order ("Day 2" before "Day 10", case ignored), so the next video of a folder is the one a viewer would watch next. */
export { naturalCompare };

/** The library-relative path that follows `relPath` in its folder, by natural order; undefined for the last. */
export function nextInFolder(relPath: string, all: readonly string[]): string | undefined {
  const slash = relPath.lastIndexOf('/');
  const dir = slash < 0 ? '' : relPath.slice(0, slash + 1);
  const siblings = all.filter((p) => p.startsWith(dir) && !p.slice(dir.length).includes('/')).sort(naturalCompare);
  const i = siblings.indexOf(relPath);
  return i < 0 ? undefined : siblings[i + 1];
}
