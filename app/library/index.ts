/**
 * The library module (the PRD's "content" block): the catalogue of videos under the library root.
 * Other modules use only this interface.
 */
import { realpath } from 'node:fs/promises';
import type { CatalogueCounts, Content, Hand } from '../model/content.ts';
import { systemClock, type Clock } from '../model/clock.ts';
import { ContentNotFound, FileUnavailable } from '../model/errors.ts';
import type { ContentStore, StoredContent } from '../persistence/content-store.ts';
import { replaceHands } from './hands-editor.ts';
import { joinInside } from './paths.ts';
import { scanLibrary, type ScanReport } from './scanner.ts';

export type { ScanReport } from './scanner.ts';
export { closeIdleOpenFiles, forgetOpenFile, openInside, openInsideWithin, type OpenedFile, type Opener, type ReadHandle } from './safe-open.ts';
export { watchLibrary, type LibraryWatcher, type WatchedLibrary, type WatchOptions } from './watcher.ts';

/** How long a removed row is remembered, so a file that reappears elsewhere a scan later keeps its id. */
const REMEMBER_REMOVED_MS = 10 * 60_000;
const REMEMBER_REMOVED_MAX = 1000;

/** Whether the library root (the NAS) can be read. */
export interface Reachability {
  readonly reachable: boolean;
  /** When it last changed (ISO 8601); the server's start when it never has. */
  readonly since: string;
  /** Why the root cannot be read (ENOENT, EACCES, EIO..., EEMPTY: empty over a catalogue that is not); null when reachable. */
  readonly rootError: string | null;
}

/** Where a video's bytes are: a path inside the library and the real root the opened file must lie in. */
export interface FileLocation {
  /** The catalogued path joined to the library root; where it leads is checked on the open handle. */
  readonly path: string;
  /** The library-relative path, as catalogued. */
  readonly relPath: string;
  /**
   * The library root's real path, for `openInside`; null when the root cannot be resolved now (an
   * unmounted NAS): copies on the SSD may still serve the video.
   */
  readonly root: string | null;
  readonly mimeType: string;
  /** The catalogued version of the file: a copy is valid only for the same size and mtime. */
  readonly size: number;
  readonly mtimeMs: number;
}

/** What other modules may ask of the catalogue. */
export interface Library {
  /** One video; throws ContentNotFound. */
  getContent(id: string): Content;
  /** Every video, ordered by title. */
  list(): Content[];
  /**
   * Where a video's file is, from one small catalogue lookup (and, once, the root's real path); throws
   * ContentNotFound, or FileUnavailable when the stored path would leave the library. Open it only
   * with `openInside(location.root, location.path)`.
   */
  getFilePath(id: string): Promise<FileLocation>;
  /** The video's hands, ordered by start. */
  getHands(id: string): readonly Hand[];
  /**
   * Replaces a video's hands (and title, when given) from a sidecar-shaped document; rewrites the sidecar
   * atomically. ValidationFailed naming the problem, with nothing changed, when the document is invalid.
   */
  replaceHands(id: string, doc: unknown): Promise<Content>;
  /** Totals for health and the console. */
  counts(): CatalogueCounts;
  /**
   * Re-reads the library root. Never runs two scans at once: a call during a scan gets the next one, which
   * starts when the current one ends and is shared by every call made meanwhile. A root that cannot be read
   * changes nothing and marks the library unreachable (the report's `rootError`).
   */
  scan(): Promise<ScanReport>;
  /** Whether the root could be read at the last look. */
  reachability(): Reachability;
  /** Calls `listener` each time reachability (or the reason the root cannot be read) changes; returns the function that stops it. */
  onReachabilityChange(listener: (now: Reachability) => void): () => void;
  /** Calls `listener` after each scan that read the root (whoever asked for it); returns the function that stops it. */
  onScanned(listener: (report: ScanReport) => void): () => void;
  /** Aborts a running scan (nothing of it is written) and refuses new ones. */
  close(): Promise<void>;
}

/** What tests may replace. */
export interface LibraryOptions {
  /** The clock reachability changes are dated by and removed rows expire by. */
  readonly clock?: Clock;
}

/** Builds the library module over a catalogue store. */
export function createLibrary(root: string, store: ContentStore, opts: LibraryOptions = {}): Library {
  const clock = opts.clock ?? systemClock;
  let running: Promise<ScanReport> | null = null;
  let next: Promise<ScanReport> | null = null;
  let realRoot: Promise<string> | null = null;
  let removed: { readonly row: StoredContent; readonly at: number }[] = [];
  let state: Reachability = { reachable: true, since: new Date(clock()).toISOString(), rootError: null };
  const listeners = new Set<(now: Reachability) => void>();
  const scanListeners = new Set<(report: ScanReport) => void>();
  const abort = new AbortController();

  const setReachable = (rootError: string | null): void => {
    if (rootError === state.rootError) return;
    const reachable = rootError === null;
    state = { reachable, since: reachable === state.reachable ? state.since : new Date(clock()).toISOString(), rootError };
    for (const l of listeners) l(state);
  };

  const getContent = (id: string): Content => {
    const c = store.get(id);
    if (!c) throw new ContentNotFound(id);
    return c;
  };

  const scanOnce = async (): Promise<ScanReport> => {
    const cutoff = clock() - REMEMBER_REMOVED_MS;
    removed = removed.filter((r) => r.at >= cutoff);
    const outcome = await scanLibrary(root, store, { signal: abort.signal, recentlyRemoved: removed.map((r) => r.row) });
    const at = clock();
    removed = [...removed, ...outcome.removed.map((row) => ({ row, at }))].slice(-REMEMBER_REMOVED_MAX);
    setReachable(outcome.report.rootError);
    if (outcome.report.rootError === null) for (const l of scanListeners) l(outcome.report);
    return outcome.report;
  };

  const startScan = (): Promise<ScanReport> => {
    running = scanOnce().finally(() => {
      running = null;
      realRoot = null;
    });
    return running;
  };

  return {
    getContent,
    list: () => store.list(),
    getHands: (id) => getContent(id).hands,
    async replaceHands(id, doc) {
      await replaceHands(root, store, getContent(id), doc);
      return getContent(id);
    },
    counts: () => store.counts(),
    async getFilePath(id) {
      const row = store.locate(id);
      if (!row) throw new ContentNotFound(id);
      const full = joinInside(root, row.relPath);
      if (!full) throw new FileUnavailable(id, 'EPATHESCAPE');
      realRoot ??= realpath(root);
      let real: string | null;
      try {
        real = await realRoot;
      } catch (err) {
        realRoot = null; // the root itself has gone (an unmounted NAS): look it up again next time
        real = null;
        setReachable((err as NodeJS.ErrnoException).code ?? 'EIO');
      }
      return { path: full, relPath: row.relPath, root: real, mimeType: row.mimeType, size: row.size, mtimeMs: row.mtimeMs };
    },
    scan() {
      if (abort.signal.aborted) return Promise.reject(new Error('the library is closed'));
      if (!running) return startScan();
      // A scan is running and may already have read the folders a caller has just changed: the caller gets
      // the next scan, shared with everyone else who asks before it starts.
      next ??= running.catch(() => undefined).then(() => {
        next = null;
        return startScan();
      });
      return next;
    },
    reachability: () => state,
    onReachabilityChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    onScanned(listener) {
      scanListeners.add(listener);
      return () => void scanListeners.delete(listener);
    },
    async close() {
      abort.abort();
      await Promise.allSettled([running, next]);
    },
  };
}
