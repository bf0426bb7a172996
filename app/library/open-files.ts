/**
 * Open files kept for the next request of the same file, as nginx's open_file_cache keeps them. A player
 * seeks in bursts, each seek a new request for the same file; every fresh open costs an open, an fstat and
 * the handle's `/proc/self/fd` link (and a close afterwards), which on a small box are most of a seek, and
 * on a network mount are round trips to the NAS.
 *
 * A kept handle is given out again only after one stat(2) of its path says the path still names the same
 * file: the same device and inode, and the same change time (any write, truncation, rename or chmod moves
 * it). The checks made when it was opened (a regular file, inside its root: safe-open.ts) were made on that
 * inode, and a handle of the same inode reads exactly what a fresh open would, so a reuse answers what a
 * fresh open would have answered. A path swapped for a symlink, a file replaced by a rename, changed or
 * removed: the stat differs (or fails), the kept handle is dropped and the file is opened and checked anew.
 * The stat follows links, as the open does. The stats a reuse returns are that stat: fresh.
 *
 * Every request gets its own lease (a ReadHandle); the descriptor is closed once no lease holds it and it
 * is either dropped or unused for IDLE_MS. At most MAX_KEPT files are kept; a dropped file still being read
 * stays open until its last lease closes, as every response's own handle did before.
 */
import { stat, statSync, type Stats } from 'node:fs';
import { isLocalDevice } from './local-fs.ts';
import type { ReadHandle } from './safe-open.ts';

/** A kept file with no lease is closed after this long unused. */
export const IDLE_MS = 10_000;
/** At most this many files are kept (one descriptor each, besides those of files still being read). */
export const MAX_KEPT = 64;
const SWEEP_MS = 2_000;

/** What openInside hands out: a checked handle, its stats, and where it lives (see safe-open.ts). */
export interface KeptFile {
  readonly fh: ReadHandle;
  readonly stats: Stats;
  readonly local: boolean;
}

interface Entry {
  readonly key: string;
  readonly full: string;
  readonly handle: ReadHandle;
  readonly dev: number;
  readonly ino: number;
  readonly ctimeMs: number;
  leases: number;
  idleSince: number;
  /** No longer given out: closed when its last lease closes. */
  dropped: boolean;
}

const ebadf = (): NodeJS.ErrnoException => Object.assign(new Error('file closed'), { code: 'EBADF' });

/** One request's use of a kept file: reads go to the shared descriptor, close releases this lease only. */
class Lease implements ReadHandle {
  private held = true;

  constructor(
    private readonly e: Entry,
    private readonly files: OpenFiles,
  ) {}

  get fd(): number {
    return this.held ? this.e.handle.fd : -1;
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number; buffer: Buffer }> {
    return this.held ? this.e.handle.read(buffer, offset, length, position) : Promise.reject(ebadf());
  }

  stat(): Promise<Stats> {
    return this.held ? this.e.handle.stat() : Promise.reject(ebadf());
  }

  close(): Promise<void> {
    if (!this.held) return Promise.resolve();
    this.held = false;
    return this.files.release(this.e);
  }
}

const keyOf = (realRoot: string, full: string): string => `${realRoot}\0${full}`;

/** Whether `st` (a stat of the path now) names the file an entry holds, unchanged. */
const sameFile = (e: Entry, st: Stats): boolean => st.isFile() && st.dev === e.dev && st.ino === e.ino && st.ctimeMs === e.ctimeMs;

/** The kept files of one process (one per root and path). */
export class OpenFiles {
  /** In order of last use, oldest first. */
  private readonly entries = new Map<string, Entry>();
  private sweeper: NodeJS.Timeout | null = null;
  /** Closes of dropped files still landing, so that closeIdle resolves only when they have. */
  private readonly closing = new Set<Promise<void>>();

  constructor(
    private readonly clock: () => number = Date.now,
    /** Whether a device is a local file system (local-fs.ts); tests stand a network mount in with `() => false`. */
    private readonly isLocal: (dev: number, pathOnIt: string) => boolean = isLocalDevice,
  ) {}

  /**
   * A lease on the kept handle of `full` under `realRoot` if the path still names that file; undefined when
   * none is kept or it no longer does (then it is dropped, and the caller opens the file anew). The stat runs
   * on the event loop for a local file, as its open would (safe-open.ts), and on the pool otherwise. Where
   * the file lives is asked of its device each time: the first open of a device is made before that is known.
   */
  reuse(realRoot: string, full: string): KeptFile | Promise<KeptFile | undefined> | undefined {
    const e = this.entries.get(keyOf(realRoot, full));
    if (!e) return undefined;
    if (this.isLocal(e.dev, full)) {
      let st: Stats;
      try {
        st = statSync(full);
      } catch {
        void this.drop(e);
        return undefined;
      }
      if (sameFile(e, st)) return { fh: this.lease(e), stats: st, local: true };
      void this.drop(e);
      return undefined;
    }
    // Leased before the wait, so that nothing closes it meanwhile.
    const lease = this.lease(e);
    return new Promise((resolve) => {
      stat(full, (err, st) => {
        if (!err && sameFile(e, st) && !e.dropped) return resolve({ fh: lease, stats: st, local: false });
        void this.drop(e);
        void lease.close().catch(() => undefined);
        resolve(undefined);
      });
    });
  }

  /** Keeps a file just opened and checked, and returns the caller's lease on it. */
  keep(realRoot: string, full: string, opened: KeptFile): KeptFile {
    const key = keyOf(realRoot, full);
    const old = this.entries.get(key);
    if (old) void this.drop(old);
    const { dev, ino, ctimeMs } = opened.stats;
    const e: Entry = { key, full, handle: opened.fh, dev, ino, ctimeMs, leases: 0, idleSince: 0, dropped: false };
    this.entries.set(key, e);
    for (const oldest of this.entries.values()) {
      if (this.entries.size <= MAX_KEPT) break;
      void this.drop(oldest);
    }
    this.sweeper ??= setInterval(() => void this.closeIdle(this.clock() - IDLE_MS), SWEEP_MS).unref();
    return { fh: this.lease(e), stats: opened.stats, local: opened.local };
  }

  /** Called by a lease's close; closes the descriptor when the entry is dropped and this was its last lease. */
  release(e: Entry): Promise<void> {
    e.leases--;
    if (e.leases > 0) return Promise.resolve();
    e.idleSince = this.clock();
    return e.dropped ? this.close(e) : Promise.resolve();
  }

  /** Drops every kept file of `full` (any root): the cache tier calls this when it removes a file. */
  forget(full: string): void {
    for (const e of this.entries.values()) if (e.full === full) void this.drop(e);
  }

  /** Closes kept files no lease holds that were last used before `before` (now: every one); resolves once closed. */
  closeIdle(before = Infinity): Promise<void> {
    for (const e of this.entries.values()) if (e.leases === 0 && e.idleSince < before) void this.drop(e);
    return Promise.allSettled(this.closing).then(() => undefined);
  }

  /** For tests: files kept, and leases held on them (and on dropped files still being read: not counted). */
  counts(): { kept: number; leased: number } {
    let leased = 0;
    for (const e of this.entries.values()) leased += e.leases;
    return { kept: this.entries.size, leased };
  }

  private lease(e: Entry): Lease {
    e.leases++;
    // Last used now: move it to the end of the order.
    this.entries.delete(e.key);
    this.entries.set(e.key, e);
    return new Lease(e, this);
  }

  /** Stops giving the entry out; closes it now if no lease holds it (the promise: that close). */
  private drop(e: Entry): Promise<void> {
    if (e.dropped) return Promise.resolve();
    e.dropped = true;
    if (this.entries.get(e.key) === e) this.entries.delete(e.key);
    if (this.entries.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
    return e.leases === 0 ? this.close(e) : Promise.resolve();
  }

  /** Closes a dropped entry's descriptor (its last lease is gone); tracked until it lands. */
  private close(e: Entry): Promise<void> {
    const p: Promise<void> = e.handle
      .close()
      .catch(() => undefined)
      .finally(() => this.closing.delete(p));
    this.closing.add(p);
    return p;
  }
}
