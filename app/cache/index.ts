/**
 * The cache module: the SSD tier in front of the NAS library. It answers which copy a stream reads
 * (`getStreamPath`), learns popularity from stream starts and progress, copies popular, pinned and
 * next-up videos to the SSD in the background, keeps the head of every video there, and evicts to
 * stay within its budget. The flow is drawn in README.md beside this file.
 *
 * It never imports stream/ or server/: streams tell it what they start and lease the copies they read,
 * and it announces what it does through the `announce` callback. No copy, hash or eviction runs on a
 * request path: range requests read an in-memory index.
 */
import { mkdir, readdir, realpath, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { forgetOpenFile, openInside, type FileLocation, type Library, type Opener } from '../library/index.ts';
import type { Clock } from '../model/clock.ts';
import { CacheEntryInUse, CacheEntryNotFound, CacheOverBudget, FileUnavailable } from '../model/errors.ts';
import type { PromoteReason, StreamEvents, StreamSource } from '../model/stream.ts';
import type { CacheEntryRecord, CacheStore } from '../persistence/cache-store.ts';
import { CACHE_DIRS, copyToCache, CopyRefused, type CopyJob } from './copier.ts';
import { CachePolicy, nextInFolder, PREWARM_AT_PERCENT, type EntryKind, type EvictReason } from './policy.ts';

export type { StreamSource } from '../model/stream.ts';

/** The cached head of a video: its first bytes, then the part of its `moov` box beyond them. */
export interface HeadRef {
  /** The head file and the cache root's real path. */
  readonly path: string;
  readonly root: string;
  /** Leading bytes of the source held at the start of the head file. */
  readonly headLen: number;
  /** Source offset and length of the moov part stored after them, if any. */
  readonly moovOffset: number | null;
  readonly moovLen: number | null;
  /** The source version the head was made from (the catalogue's). */
  readonly size: number;
  readonly mtimeMs: number;
  /** Tells the tier the head no longer matches its source (seen by a reader that opened the NAS file). */
  readonly stale: () => void;
}

/** The copy a stream should read: open it only with `openInside(root, path)`, which checks the handle. */
export interface StreamPath {
  readonly path: string;
  /** The real path of the root the copy lives under; null when the NAS root cannot be resolved now. */
  readonly root: string | null;
  readonly source: StreamSource;
  readonly mimeType: string;
  /** How to open `path` (with the handle check); the NAS opener may be wrapped for the bench. */
  readonly open: Opener;
  /** For a NAS stream: the head on the SSD, which serves the ranges it covers without touching the NAS. */
  readonly head?: HeadRef;
  /**
   * How long to wait for the NAS before a range that the head can answer in part is answered from the head
   * alone. 0 when an open of the file is pending already (the disk is waking): such a range is answered from
   * the head at once, without another open.
   */
  readonly nasWaitMs: number;
  /** How long a NAS open may take before the request fails (a dead mount must not hang the server). */
  readonly nasTimeoutMs: number;
}

/** An entry as the operator API shows it. */
export interface CacheEntryView {
  readonly contentId: string;
  readonly kind: EntryKind;
  readonly size: number;
  readonly sourceSize: number;
  readonly sourceMtimeMs: number;
  readonly lastStreamedAt: number;
  readonly hits: number;
  readonly pinned: boolean;
  readonly streaming: boolean;
}

/** A promotion waiting or running. */
export interface PromotionView {
  readonly contentId: string;
  readonly kind: EntryKind;
  readonly reason: PromoteReason;
  readonly state: 'queued' | 'running';
  readonly bytesCopied: number;
  readonly bytesTotal: number;
  readonly startedAt: number | null;
}

/** The tier's state for the operator. */
export interface CacheState {
  readonly budgetBytes: number;
  readonly reserveBytes: number;
  readonly usedBytes: number;
  /** Free bytes on the cache folder's disk. */
  readonly diskFreeBytes: number | null;
  readonly entries: readonly CacheEntryView[];
  readonly promotions: readonly PromotionView[];
  readonly pinned: readonly string[];
}

/** Counters for metrics. */
export interface CacheStats {
  readonly usedBytes: number;
  readonly budgetBytes: number;
  readonly copies: number;
  readonly heads: number;
  readonly promotions: Readonly<Record<PromoteReason, number>>;
  readonly promotionFailures: number;
  readonly evictions: Readonly<Record<EvictReason, number>>;
  /** Bytes and seconds of finished copies, for the copy rate. */
  readonly copiedBytes: number;
  readonly copySeconds: number;
}

/** What other modules may ask of the cache tier. */
export interface Cache {
  /**
   * The best valid copy of a video; throws ContentNotFound or FileUnavailable. Range requests get the
   * location from memory (their own open checks the file); `recheck` (for /start and /info, once per
   * viewing) also proves the file can be read now.
   */
  getStreamPath(contentId: string, opts?: { readonly recheck?: boolean }): Promise<StreamPath>;
  /** A stream of the video started: counts toward its popularity. */
  noteStart(contentId: string): void;
  /** A viewer reached `percent` of a video: past 70 % the next one of its folder is pre-warmed. */
  noteProgress(contentId: string, percent: number): void;
  /** A response reads the SSD copy (or head): it is not evicted until the returned release is called. */
  lease(contentId: string, kind: EntryKind): () => void;
  /** Pins a video: copied now, never evicted; CacheOverBudget when the budget cannot hold it. */
  pin(contentId: string): void;
  unpin(contentId: string): void;
  /** Removes a video's copy; CacheEntryNotFound, or CacheEntryInUse while it is streamed. */
  evict(contentId: string): void;
  /** Queues heads for videos that have none (after a scan). */
  refreshHeads(): void;
  /** Forgets a file deleted from the cache folder by hand (the cache watcher calls it). */
  fileRemoved(relFile: string): void;
  state(): Promise<CacheState>;
  stats(): CacheStats;
  /** Resolves when no promotion is queued or running (tests and the bench). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Settings of the tier. */
export interface CacheOptions {
  readonly budgetBytes: number;
  readonly reserveBytes: number;
  readonly promoteAfter: number;
  readonly promoteWindowMs: number;
  readonly promoteRateBytesPerSecond: number;
  readonly headBytes: number;
  readonly nasTimeoutMs: number;
}

/** What the tier is built from. */
export interface CacheDeps {
  readonly library: Library;
  readonly store: CacheStore;
  /** The cache folder (created and checked by the configuration). */
  readonly cacheDir: string;
  readonly options: CacheOptions;
  readonly clock: Clock;
  readonly log: Logger;
  readonly announce: <K extends 'cache.promoted' | 'cache.evicted'>(event: K, payload: StreamEvents[K]) => void;
  /** Opens NAS files; defaults to openInside. Tests and the bench wrap it to play a slow or hung NAS. */
  readonly openNas?: Opener;
}

/** How often the streamed-at times and hits of entries are written to the index. */
const USE_FLUSH_MS = 30_000;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** How long the next video of a folder is remembered for pre-warm. */
const NEXT_TTL_MS = 60_000;

/** NAS opens past their timeout that may still be pending before new ones are refused at once. */
export const MAX_STUCK_NAS_OPENS = 4;

/** How long a NAS open may take before a range the head covers in part is answered from the head alone. */
const NAS_WAIT_MS = 150;
/**
 * A NAS open pending longer than this means the disk is asleep (or busy): an awake NAS opens a file in a
 * few ms, and a NAS that is gone fails faster still. A start with a head waits no longer than this for its
 * probe, and ranges the head answers in part stop waiting for the file until that open lands.
 */
const NAS_ASLEEP_MS = 25;
const PRIORITY: Record<PromoteReason, number> = { pinned: 0, popular: 1, prewarm: 1, head: 2 };

interface Job {
  readonly contentId: string;
  readonly kind: EntryKind;
  readonly reason: PromoteReason;
  copied: number;
  total: number;
  startedAt: number | null;
}

const entryKey = (kind: EntryKind, id: string): string => `${kind}:${id}`;

/** Builds the tier, checks its index against the disk (dropping what changed) and starts its copier. */
export async function createCache(deps: CacheDeps): Promise<Cache> {
  const { library, store, options: o, clock, log } = deps;
  const rawOpenNas = deps.openNas ?? openInside;
  // An open on a dead mount never returns and holds a thread of the pool for good. Past a few such
  // opens, new NAS opens fail at once instead of taking the last threads the SSD streams need.
  let stuckOpens = 0;
  // NAS files with an open pending for longer than NAS_ASLEEP_MS (a disk spinning up), by path: a start or a
  // range that the head can answer does not wait for them again.
  const waking = new Map<string, number>();
  // The first open of a file found waking, by path, until it lands or is given up as stuck: opens of the
  // same file made meanwhile wait for it and then open at once, so that a viewer seeking about during a
  // spin-up parks one pool thread on the disk, not one per range.
  const wakeUps = new Map<string, Promise<void>>();
  const openNas: Opener = (realRoot, file) => {
    const wakeUp = wakeUps.get(file);
    if (wakeUp) return wakeUp.then(() => openNas(realRoot, file));
    if (stuckOpens >= MAX_STUCK_NAS_OPENS) return Promise.reject(Object.assign(new Error('the NAS is not answering'), { code: 'ENASHUNG' }));
    const opening = rawOpenNas(realRoot, file);
    let woke: (() => void) | undefined;
    const release = (): void => {
      if (!woke) return;
      woke();
      woke = undefined;
      wakeUps.delete(file);
    };
    let late = false;
    // Armed first, so that it fires before the caller's own timeout of the same length answers 503.
    const timer = setTimeout(() => {
      late = true;
      stuckOpens++;
      release(); // those waiting try for themselves, and are refused once enough opens are stuck
    }, o.nasTimeoutMs);
    let slow = false;
    const slowTimer = setTimeout(() => {
      slow = true;
      waking.set(file, (waking.get(file) ?? 0) + 1);
      if (!wakeUps.has(file)) wakeUps.set(file, new Promise((r) => (woke = r)));
    }, NAS_ASLEEP_MS);
    const settle = (): void => {
      clearTimeout(timer);
      clearTimeout(slowTimer);
      release();
      if (late) stuckOpens--;
      if (slow) {
        const n = (waking.get(file) ?? 1) - 1;
        if (n > 0) waking.set(file, n);
        else waking.delete(file);
      }
    };
    opening.then(settle, settle);
    return opening;
  };
  const root = await realpath(deps.cacheDir);
  const policy = new CachePolicy({ promoteAfter: o.promoteAfter, promoteWindowMs: o.promoteWindowMs, budgetBytes: o.budgetBytes });
  /** The index in memory; use counts are updated in place on the request path and written to SQLite in batches. */
  const entries = new Map<string, Mutable<CacheEntryRecord>>();
  const usedSinceFlush = new Set<Mutable<CacheEntryRecord>>();
  const flushUse = (): void => {
    for (const e of usedSinceFlush) if (entries.get(entryKey(e.kind, e.contentId)) === e) store.markUsed(e.contentId, e.kind, e.lastStreamedAt, e.hits);
    usedSinceFlush.clear();
  };
  // A range request never writes the database: what it streamed reaches the index every half minute and at close.
  const useTimer = setInterval(flushUse, USE_FLUSH_MS);
  useTimer.unref();
  const queue: Job[] = [];
  let running: (Job & { abort: AbortController }) | undefined;
  let closed = false;
  let wake: (() => void) | undefined;
  let idleWaiters: (() => void)[] = [];
  const stats = {
    promotions: { popular: 0, pinned: 0, prewarm: 0, head: 0 } as Record<PromoteReason, number>,
    promotionFailures: 0,
    evictions: { budget: 0, invalid: 0, admin: 0, missing: 0 } as Record<EvictReason, number>,
    copiedBytes: 0,
    copySeconds: 0,
  };
  const iso = (): string => new Date(clock()).toISOString();
  const full = (rel: string): string => path.join(root, ...rel.split('/'));

  // A temporary file is a copy that never finished (a crash, a kill): it is never served, so it goes.
  await rm(path.join(root, CACHE_DIRS.tmp), { recursive: true, force: true });
  // The folders exist from the start, so the cache watcher sees every file placed in them.
  for (const dir of Object.values(CACHE_DIRS)) await mkdir(path.join(root, dir), { recursive: true, mode: 0o700 });

  const drop = async (e: CacheEntryRecord, reason: EvictReason): Promise<void> => {
    entries.delete(entryKey(e.kind, e.contentId));
    policy.remove(e.kind, e.contentId);
    store.delete(e.contentId, e.kind);
    stats.evictions[reason]++;
    log.info({ action: 'cache_evicted', content_id: e.contentId, kind: e.kind, reason, bytes: e.size }, 'cache entry evicted');
    deps.announce('cache.evicted', { content_id: e.contentId, kind: e.kind, reason, bytes: e.size, timestamp: iso() });
    // A response still reading it keeps its handle; the kept one is not given out again.
    forgetOpenFile(full(e.file));
    await rm(full(e.file), { force: true });
  };
  const dropSoon = (e: CacheEntryRecord, reason: EvictReason): void => {
    // Off the request path: the entry leaves the index at once, its file a moment later.
    entries.delete(entryKey(e.kind, e.contentId));
    policy.remove(e.kind, e.contentId);
    void drop(e, reason).catch((err: unknown) => log.warn({ err: String(err), content_id: e.contentId }, 'could not remove a cache file'));
  };
  const matches = (e: CacheEntryRecord, loc: { size: number; mtimeMs: number }): boolean => e.sourceSize === loc.size && e.sourceMtimeMs === loc.mtimeMs;

  // The index against the disk and the catalogue: a restart neither recopies nor serves a copy that changed.
  for (const e of store.list()) {
    let ok = false;
    try {
      const c = library.getContent(e.contentId);
      ok = matches(e, c) && (await stat(full(e.file))).size === e.size;
    } catch {
      ok = false;
    }
    if (ok) {
      entries.set(entryKey(e.kind, e.contentId), e);
      policy.add(e.kind, e.contentId, e.size, e.lastStreamedAt);
    } else {
      await drop(e, 'invalid');
    }
  }
  // Files no entry names (a crash between the rename and the index write) are not trusted either.
  for (const dir of [CACHE_DIRS.copies, CACHE_DIRS.heads]) {
    const names = await readdir(path.join(root, dir)).catch(() => [] as string[]);
    const known = new Set([...entries.values()].map((e) => e.file));
    for (const n of names) if (!known.has(`${dir}/${n}`)) await rm(path.join(root, dir, n), { force: true });
  }
  for (const id of store.pins()) policy.pin(id);

  const diskFree = async (): Promise<number | null> => {
    try {
      const s = await statfs(root);
      return s.bavail * s.bsize;
    } catch {
      return null;
    }
  };

  const enqueue = (contentId: string, kind: EntryKind, reason: PromoteReason): void => {
    if (closed || policy.has(kind, contentId)) return;
    if (running?.contentId === contentId && running.kind === kind) return;
    const queued = queue.find((j) => j.contentId === contentId && j.kind === kind);
    if (queued) return;
    queue.push({ contentId, kind, reason, copied: 0, total: 0, startedAt: null });
    queue.sort((a, b) => PRIORITY[a.reason] - PRIORITY[b.reason]);
    wake?.();
  };

  /** Makes room for `size` bytes, evicting the copies of least value (policy.ts); false when the budget (or the disk's reserve) cannot hold them. */
  const makeRoom = async (size: number, except: string): Promise<boolean> => {
    const free = await diskFree();
    const victims = policy.victimsFor(size, free === null ? Number.POSITIVE_INFINITY : Math.max(0, free - o.reserveBytes), except);
    if (!victims) return false;
    for (const v of victims) {
      // Told first, so the policy's clock (GDSF's L) rises to the value of what the budget pushed out.
      policy.remove(v.kind, v.id, 'budget');
      const e = entries.get(entryKey(v.kind, v.id));
      if (e) await drop(e, 'budget');
    }
    return true;
  };

  const runJob = async (job: Job, signal: AbortSignal): Promise<void> => {
    let loc: FileLocation;
    try {
      loc = await library.getFilePath(job.contentId);
    } catch {
      return; // the video left the catalogue meanwhile
    }
    if (loc.root === null) throw new FileUnavailable(job.contentId, 'ENOENT');
    const size = job.kind === 'copy' ? loc.size : Math.min(loc.size, o.headBytes);
    if (job.kind === 'copy' && loc.size > o.budgetBytes) return; // never promoted: larger than the whole budget
    // Heads may grow by their moov part; the room check counts the leading bytes, the index the real size.
    if (!(await makeRoom(size, job.contentId))) {
      log.info({ action: 'cache_no_room', content_id: job.contentId, kind: job.kind, bytes: size }, 'no room in the cache budget');
      return;
    }
    const copyJob: CopyJob = { contentId: job.contentId, kind: job.kind, sourcePath: loc.path, sourceRoot: loc.root, sourceSize: loc.size, sourceMtimeMs: loc.mtimeMs, headBytes: o.headBytes, open: openNas };
    const t0 = performance.now();
    job.startedAt = clock();
    job.total = size;
    const result = await copyToCache(copyJob, root, {
      rateBytesPerSecond: o.promoteRateBytesPerSecond,
      signal,
      onProgress: (copied, total) => {
        job.copied = copied;
        job.total = total;
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    const now = clock();
    const rec: CacheEntryRecord = {
      contentId: job.contentId,
      kind: job.kind,
      file: result.file,
      size: result.size,
      sourceSize: loc.size,
      sourceMtimeMs: loc.mtimeMs,
      headLen: result.headLen,
      moovOffset: result.moovOffset,
      moovLen: result.moovLen,
      createdAt: now,
      lastStreamedAt: now,
      hits: 0,
    };
    store.put(rec);
    entries.set(entryKey(rec.kind, rec.contentId), rec);
    policy.add(rec.kind, rec.contentId, rec.size, now);
    stats.promotions[job.reason]++;
    stats.copiedBytes += result.size;
    stats.copySeconds += seconds;
    log.info({ action: 'cache_promoted', content_id: job.contentId, kind: job.kind, reason: job.reason, bytes: result.size, seconds: Math.round(seconds * 100) / 100 }, 'copied to the SSD');
    deps.announce('cache.promoted', { content_id: job.contentId, kind: job.kind, reason: job.reason, bytes: result.size, seconds: Math.round(seconds * 1000) / 1000, timestamp: iso() });
  };

  // One copy at a time, in priority order, until closed.
  const worker = (async () => {
    while (!closed) {
      const job = queue.shift();
      if (!job) {
        for (const w of idleWaiters) w();
        idleWaiters = [];
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const abort = new AbortController();
      running = Object.assign(job, { abort });
      try {
        await runJob(job, abort.signal);
      } catch (err) {
        if (!closed) {
          stats.promotionFailures++;
          const reason = err instanceof CopyRefused ? err.reason : (err as NodeJS.ErrnoException).code ?? String(err);
          log.warn({ action: 'cache_promotion_failed', content_id: job.contentId, kind: job.kind, reason }, 'copy to the SSD failed');
        }
      } finally {
        running = undefined;
      }
    }
  })();

  // One HeadRef per head entry, made when first asked for, so range requests allocate none.
  const headRefs = new WeakMap<CacheEntryRecord, HeadRef>();
  const headRefOf = (e: CacheEntryRecord): HeadRef => {
    let ref = headRefs.get(e);
    if (!ref) headRefs.set(e, (ref = headRef(e)));
    return ref;
  };
  const headRef = (e: CacheEntryRecord): HeadRef => ({
    path: full(e.file),
    root,
    headLen: e.headLen,
    moovOffset: e.moovOffset,
    moovLen: e.moovLen,
    size: e.sourceSize,
    mtimeMs: e.sourceMtimeMs,
    stale: () => {
      if (entries.get(entryKey('head', e.contentId)) === e) {
        dropSoon(e, 'invalid');
        enqueue(e.contentId, 'head', 'head');
      }
    },
  });

  /** Opens the NAS file to prove it readable, within `ms`; a late open is closed when it lands. */
  const probeNas = async (loc: FileLocation, ms: number): Promise<'ok' | 'late'> => {
    if (loc.root === null) throw new FileUnavailable('', 'ENOENT');
    const opening = openNas(loc.root, loc.path);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
    const first = await Promise.race([opening.then((f) => f), late]).finally(() => clearTimeout(timer));
    if (first === 'late') {
      opening.then((f) => f.fh.close()).catch(() => undefined);
      return 'late';
    }
    await first.fh.close();
    return 'ok';
  };

  for (const id of store.pins()) enqueue(id, 'copy', 'pinned');

  /** The playable video that follows `contentId` in its folder, by natural order. */
  const nextOf = new Map<string, { readonly id: string | undefined; readonly at: number }>();
  const findNext = (contentId: string): string | undefined => {
    let rel: string;
    try {
      rel = library.getContent(contentId).relPath;
    } catch {
      return undefined;
    }
    const all = library.list();
    const next = nextInFolder(rel, all.map((c) => c.relPath));
    const target = next === undefined ? undefined : all.find((c) => c.relPath === next);
    return target?.playable ? target.id : undefined;
  };

  return {
    async getStreamPath(contentId, opts) {
      const loc = await library.getFilePath(contentId);
      const base = { mimeType: loc.mimeType, nasWaitMs: NAS_WAIT_MS, nasTimeoutMs: o.nasTimeoutMs };
      const copy = entries.get(entryKey('copy', contentId));
      if (copy && !matches(copy, loc)) dropSoon(copy, 'invalid');
      else if (copy) {
        if (!opts?.recheck) return { ...base, path: full(copy.file), root, source: 'ssd', open: openInside };
        try {
          await (await openInside(root, full(copy.file))).fh.close();
          return { ...base, path: full(copy.file), root, source: 'ssd', open: openInside };
        } catch {
          dropSoon(copy, 'missing');
        }
      }
      const headEntry = entries.get(entryKey('head', contentId));
      let head: HeadRef | undefined;
      if (headEntry && !matches(headEntry, loc)) dropSoon(headEntry, 'invalid');
      else if (headEntry) head = headRefOf(headEntry);
      // The disk is known to be spinning up (an open of this file is already late): with a head, neither a
      // start nor a range waits for it again; the head answers at once and the pending open wakes the disk.
      const asleep = head !== undefined && waking.has(loc.path);
      if (opts?.recheck && !asleep) {
        // A head lets a start go ahead while a sleeping NAS disk spins up; without one, wait for the NAS.
        try {
          await probeNas(loc, head ? NAS_ASLEEP_MS : o.nasTimeoutMs).then((r) => {
            if (r === 'late' && !head) throw Object.assign(new Error('NAS open timed out'), { code: 'ETIMEDOUT' });
          });
        } catch (err) {
          throw new FileUnavailable(contentId, (err as NodeJS.ErrnoException).code ?? 'EIO');
        }
      }
      return { ...base, nasWaitMs: asleep ? 0 : NAS_WAIT_MS, path: loc.path, root: loc.root, source: 'nas', head, open: openNas };
    },

    noteStart(contentId) {
      const now = clock();
      policy.noteStart(contentId, now);
      if (policy.isPopular(contentId, now)) enqueue(contentId, 'copy', 'popular');
    },

    noteProgress(contentId, percent) {
      if (percent < PREWARM_AT_PERCENT) return;
      const now = clock();
      // Every heartbeat past 70 % asks; the answer is kept for a minute rather than reading the whole catalogue each time.
      let next = nextOf.get(contentId);
      if (!next || now - next.at > NEXT_TTL_MS) {
        next = { id: findNext(contentId), at: now };
        nextOf.set(contentId, next);
      }
      if (next.id !== undefined && !policy.has('copy', next.id)) enqueue(next.id, 'copy', 'prewarm');
    },

    lease(contentId, kind) {
      const e = entries.get(entryKey(kind, contentId));
      if (!e) return () => undefined;
      const now = clock();
      policy.touch(kind, contentId, now);
      e.lastStreamedAt = now;
      e.hits++;
      usedSinceFlush.add(e);
      return policy.lease(kind, contentId);
    },

    pin(contentId) {
      const c = library.getContent(contentId);
      const room = policy.roomForPin(contentId);
      if (c.size > room) throw new CacheOverBudget(contentId, c.size, Math.max(0, room));
      store.pin(contentId, clock());
      policy.pin(contentId);
      enqueue(contentId, 'copy', 'pinned');
    },

    unpin(contentId) {
      library.getContent(contentId);
      store.unpin(contentId);
      policy.unpin(contentId);
    },

    evict(contentId) {
      library.getContent(contentId);
      const e = entries.get(entryKey('copy', contentId));
      if (!e) throw new CacheEntryNotFound(contentId);
      if (isLeased(contentId)) throw new CacheEntryInUse(contentId);
      store.unpin(contentId);
      policy.unpin(contentId);
      dropSoon(e, 'admin');
    },

    refreshHeads() {
      if (o.headBytes <= 0) return;
      for (const c of library.list()) if (c.playable && !policy.has('head', c.id)) enqueue(c.id, 'head', 'head');
    },

    fileRemoved(relFile) {
      for (const e of entries.values()) if (e.file === relFile) dropSoon(e, 'missing');
    },

    async state() {
      const pins = new Set(store.pins());
      const leased = (id: string, kind: EntryKind): boolean => leaseCount(id, kind) > 0;
      return {
        budgetBytes: o.budgetBytes,
        reserveBytes: o.reserveBytes,
        usedBytes: policy.usedBytes,
        diskFreeBytes: await diskFree(),
        entries: [...entries.values()].map((e) => ({
          contentId: e.contentId,
          kind: e.kind,
          size: e.size,
          sourceSize: e.sourceSize,
          sourceMtimeMs: e.sourceMtimeMs,
          lastStreamedAt: e.lastStreamedAt,
          hits: e.hits,
          pinned: e.kind === 'copy' && pins.has(e.contentId),
          streaming: leased(e.contentId, e.kind),
        })),
        promotions: [
          ...(running ? [{ ...jobView(running), state: 'running' as const }] : []),
          ...queue.map((j) => ({ ...jobView(j), state: 'queued' as const })),
        ],
        pinned: [...pins],
      };
    },

    stats() {
      let copies = 0;
      let heads = 0;
      for (const e of entries.values()) e.kind === 'copy' ? copies++ : heads++;
      return { usedBytes: policy.usedBytes, budgetBytes: o.budgetBytes, copies, heads, ...stats, promotions: { ...stats.promotions }, evictions: { ...stats.evictions } };
    },

    idle() {
      if (!running && queue.length === 0) return Promise.resolve();
      return new Promise((r) => idleWaiters.push(r));
    },

    async close() {
      clearInterval(useTimer);
      flushUse();
      closed = true;
      running?.abort.abort(new Error('closing'));
      queue.length = 0;
      wake?.();
      await worker;
      for (const w of idleWaiters) w();
    },
  };

  function jobView(j: Job): Omit<PromotionView, 'state'> {
    return { contentId: j.contentId, kind: j.kind, reason: j.reason, bytesCopied: j.copied, bytesTotal: j.total, startedAt: j.startedAt };
  }
  function leaseCount(id: string, kind: EntryKind): number {
    return policy.leases(kind, id);
  }
  function isLeased(id: string): boolean {
    return leaseCount(id, 'copy') > 0;
  }
}
