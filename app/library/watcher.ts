/**
 * Keeps the catalogue current while the server runs (after navidrome's scanner/watcher.go): chokidar
 * watches the library root, events become debounced full scans, a periodic rescan catches what a network
 * mount never reports, and a root that vanishes is looked at every few seconds until it returns, when the
 * watches are set up again. The only library file that imports chokidar; see README.md beside it.
 */
import { watch, type FSWatcher } from 'chokidar';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Library, Reachability } from './index.ts';
import { realScheduler, ScanTrigger, type ScanRequest, type Scheduler, type TriggerTimings } from './scan-trigger.ts';
import { rootIdentity, VIDEO_EXTENSIONS } from './scanner.ts';

/** How the watcher waits; the defaults keep a change within 5 s of the catalogue. */
export interface WatchTimings extends TriggerTimings {
  /** How often the root itself is looked at (gone, unmounted, back). */
  readonly rootCheckMs: number;
}

/** Defaults: a change is catalogued 1 s after the last event of its burst, and never later than 3 s after the first. */
export const WATCH_TIMINGS: WatchTimings = { quietMs: 1000, maxWaitMs: 3000, rootCheckMs: 2000 };

/** What the watcher needs to know. */
export interface WatchOptions {
  readonly root: string;
  /** Poll every this many ms instead of using native events (network mounts); null for native events. */
  readonly pollMs: number | null;
  /** A full rescan after this long without one; null for none. */
  readonly rescanEveryMs: number | null;
  readonly log: Logger;
  readonly scheduler?: Scheduler;
  readonly timings?: Partial<WatchTimings>;
}

/** A running watcher. */
export interface LibraryWatcher {
  /** Resolves once the watches are set and the catalogue has caught up with anything changed meanwhile. */
  readonly ready: Promise<void>;
  /** Stops watching, cancels a waiting scan and waits for a running one. */
  close(): Promise<void>;
}

/** Only events that can change the catalogue start a scan: videos, sidecars and folders (which carry both). */
function isRelevant(event: string, file: string): boolean {
  if (event === 'addDir' || event === 'unlinkDir') return true;
  const ext = path.extname(file).toLowerCase();
  return ext === '.json' || VIDEO_EXTENSIONS.has(ext);
}

/** The part of the library the watcher uses. */
export type WatchedLibrary = Pick<Library, 'scan' | 'reachability' | 'onReachabilityChange'>;

/** Starts watching `opts.root` and keeping `library` in line with it. */
export function watchLibrary(library: WatchedLibrary, opts: WatchOptions): LibraryWatcher {
  const timings = { ...WATCH_TIMINGS, ...opts.timings };
  const scheduler = opts.scheduler ?? realScheduler;
  const { root, log } = opts;
  let closed = false;
  let fsw: FSWatcher | null = null;
  /** The root's identity when the current watches were set; null when none are. */
  let armedAs: string | null = null;
  let arming: Promise<void> = Promise.resolve();
  let periodic: unknown = null;
  let rootCheck: unknown = null;

  const schedulePeriodic = (): void => {
    if (opts.rescanEveryMs === null || closed) return;
    if (periodic !== null) scheduler.clearTimeout(periodic);
    periodic = scheduler.setTimeout(() => {
      periodic = null;
      trigger.request('periodic');
    }, opts.rescanEveryMs);
  };

  const runScan = async (request: ScanRequest): Promise<void> => {
    try {
      const report = await library.scan();
      const level = report.rootError === null ? 'info' : 'debug'; // an unreachable root is logged once, when it goes
      log[level](
        {
          action: 'library_rescanned',
          reasons: request.reasons,
          events: request.paths.length,
          retried: request.retried,
          ...report,
          sidecarErrors: report.sidecarErrors.length,
        },
        'library rescanned',
      );
      for (const e of report.sidecarErrors) log.warn({ action: 'sidecar_rejected', file: e.relPath, reason: e.error }, 'hands sidecar rejected');
    } catch (err) {
      if (!closed) log.error({ action: 'library_scan_failed', err: (err as Error).message }, 'library scan failed');
    } finally {
      schedulePeriodic();
    }
  };
  const trigger = new ScanTrigger(runScan, scheduler, timings);

  /** Ends the wait for the current watcher's first read of the tree (it is being closed: it will never finish). */
  let stopWaiting: (() => void) | null = null;
  const disarm = async (): Promise<void> => {
    const old = fsw;
    fsw = null;
    armedAs = null;
    stopWaiting?.();
    await old?.close();
  };

  /** Sets the watches on the root as it is now; resolves when chokidar has read the tree. */
  const arm = async (identity: string): Promise<void> => {
    await disarm();
    // The real path: chokidar, told not to follow links, would not look inside a root that is one.
    const watched = await realpath(root).catch(() => null);
    if (closed || watched === null) return;
    const w = watch(watched, {
      ignoreInitial: true,
      persistent: false,
      // The scanner follows only links that stay inside the library, whose targets are watched as themselves.
      followSymlinks: false,
      ignorePermissionErrors: true,
      usePolling: opts.pollMs !== null,
      interval: opts.pollMs ?? 100,
      binaryInterval: opts.pollMs ?? 300,
      // Hidden files and folders (temp copies, .DS_Store, .Trash) are not catalogued, so not watched.
      ignored: (p: string) => path.relative(watched, p).split(path.sep).some((part) => part.startsWith('.')),
    });
    fsw = w;
    armedAs = identity;
    w.on('all', (event, file) => {
      if (w === fsw && isRelevant(event, file)) trigger.notify(file);
    });
    w.on('error', (err: unknown) => {
      if (w !== fsw) return;
      const code = (err as NodeJS.ErrnoException).code;
      // ENOSPC here is the inotify watch limit: say what to do, and rely on the periodic rescan meanwhile.
      log.warn({ action: 'library_watch_error', code, err: (err as Error).message }, code === 'ENOSPC' ? 'out of inotify watches: raise fs.inotify.max_user_watches or use --watch-poll' : 'library watch error');
      trigger.request('watch_error');
    });
    await new Promise<void>((resolve) => {
      stopWaiting = resolve;
      w.once('ready', resolve);
      w.once('error', () => resolve());
    });
    if (fsw === w) stopWaiting = null;
  };

  /** Looks at the root: gone → scan (which marks it unreachable); there but not watched → watch it, scan. */
  const checkRoot = async (): Promise<void> => {
    rootCheck = null;
    const identity = await rootIdentity(root).catch(() => null);
    if (closed) return;
    if (identity === null) {
      if (library.reachability().reachable) trigger.request('root_gone');
    } else if (identity !== armedAs) {
      // Back, remounted, or replaced by another folder (an empty mount point): watch what is there now,
      // then scan, which also catches whatever changed while nothing was watched.
      arming = arm(identity);
      await arming;
      trigger.request('root_returned');
    } else if (!library.reachability().reachable && !trigger.busy) {
      trigger.request('probe'); // readable again, or still empty: the scan decides
    }
    if (!closed) rootCheck = scheduler.setTimeout(() => void checkRoot(), timings.rootCheckMs);
  };

  const stopListening = library.onReachabilityChange((r: Reachability) => {
    if (r.reachable) {
      log.info({ action: 'library_reachable' }, 'library root is reachable again');
      return;
    }
    log.warn({ action: 'library_unreachable', code: r.rootError }, 'library root cannot be read: the catalogue is kept as it was');
    // Watches on a root that went away are dead or follow the folder elsewhere: drop them; the next look at
    // the root sets them again once it is back.
    void disarm();
  });

  const ready = (async () => {
    const identity = await rootIdentity(root).catch(() => null);
    if (identity !== null && !closed) {
      arming = arm(identity);
      await arming;
      // Anything changed between the first scan and the watches being set is caught here.
      await runScan({ reasons: ['watch_ready'], paths: [], retried: false });
    }
    if (!closed) rootCheck = scheduler.setTimeout(() => void checkRoot(), timings.rootCheckMs);
  })();

  return {
    ready,
    async close() {
      closed = true;
      stopListening();
      for (const t of [periodic, rootCheck]) if (t !== null) scheduler.clearTimeout(t);
      await Promise.allSettled([ready, arming]);
      await Promise.all([disarm(), trigger.close()]);
    },
  };
}
