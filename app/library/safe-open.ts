/**
 * Opens a file to serve and proves, on the open handle itself, that it is a regular file whose real
 * location lies inside a served root. A check of the path made before the open proves nothing: the
 * library is a share other hosts can write to, and a catalogued file swapped for a symlink between the
 * check and the open would serve whatever the server can read (its token secret, its database).
 *
 * On Linux the handle's own location is read from /proc/self/fd (the kernel's answer for the open
 * file, not for a name that may have changed since). Elsewhere the path is resolved after the open and
 * the resolved file's device and inode must be the handle's: a swap at any moment makes them differ.
 */
import { close as closeFd, closeSync, constants, fstat, fstatSync, openSync, read as readFd, readlinkSync, type Stats } from 'node:fs';
import { open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { isLocalDevice } from './local-fs.ts';
import { OpenFiles } from './open-files.ts';
import { isInside } from './paths.ts';

/** Opens a file under a root with the handle check; the NAS opener can be wrapped (the bench simulates a sleeping disk). */
export type Opener = (realRoot: string, full: string) => Promise<OpenedFile>;

/** What readers of an open file use of it: a FileHandle, or a descriptor opened on the event loop (below). */
export interface ReadHandle {
  /** The descriptor; -1 once closed. */
  readonly fd: number;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number; buffer: Buffer }>;
  stat(): Promise<Stats>;
  close(): Promise<void>;
}

/** A descriptor opened with openSync, with FileHandle's reads and close (on the pool, like FileHandle's). */
class FdHandle implements ReadHandle {
  constructor(private n: number) {}

  get fd(): number {
    return this.n;
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number; buffer: Buffer }> {
    return new Promise((resolve, reject) => {
      if (this.n < 0) return reject(Object.assign(new Error('file closed'), { code: 'EBADF' }));
      readFd(this.n, buffer, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead, buffer })));
    });
  }

  stat(): Promise<Stats> {
    return new Promise((resolve, reject) => {
      if (this.n < 0) return reject(Object.assign(new Error('file closed'), { code: 'EBADF' }));
      fstat(this.n, (err, st) => (err ? reject(err) : resolve(st)));
    });
  }

  close(): Promise<void> {
    const n = this.n;
    if (n < 0) return Promise.resolve();
    this.n = -1;
    return new Promise((resolve, reject) => closeFd(n, (err) => (err ? reject(err) : resolve())));
  }
}

/** An open file that passed the check; the caller closes `fh`. */
export interface OpenedFile {
  readonly fh: ReadHandle;
  /** Stats of the open handle: size and mtime describe the bytes that will be read. */
  readonly stats: Stats;
  /** On a local file system (see local-fs.ts): its handle may be read and sent from on the event loop. */
  readonly local: boolean;
}

/**
 * O_NONBLOCK so that a FIFO or device swapped in for a video cannot park a thread-pool thread in open(2)
 * (it has no effect on regular files); O_NOCTTY so that a terminal never becomes ours. Symlinks are
 * followed on purpose: links that stay inside the library are catalogued and served (the scanner
 * follows them), and where a link leads is judged on the handle below.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/** The errno-style code of a refusal; fsErrorToDomain turns every code into "file unavailable". */
function refusal(code: 'EPATHESCAPE' | 'ENOTREG' | 'ECHANGED', message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

let procFdWorks = process.platform === 'linux';

// A file removed after the open keeps its old name with this suffix; it is still that file.
const undeleted = (p: string): string => (p.endsWith(' (deleted)') ? p.slice(0, -' (deleted)'.length) : p);

/** Where the open handle really lives, or undefined when the platform cannot say from the handle. */
async function locationOfHandle(fh: FileHandle): Promise<string | undefined> {
  if (!procFdWorks) return undefined;
  try {
    return undeleted(await readlink(`/proc/self/fd/${fh.fd}`));
  } catch {
    procFdWorks = false; // no /proc mounted (a container without it): use the portable check from now on
    return undefined;
  }
}

/**
 * Paths whose last open landed on a local file system. They are opened and checked on the event loop
 * (open, fstat and the /proc link of a local file wait on nothing): three thread-pool hops fewer per seek,
 * most of a seek's cost on a small box. Any other path (a network mount, or one not seen yet) is opened and
 * checked on the pool, where a mount that hangs cannot stall the server. (A network mount made later inside
 * a local folder would be opened on the loop once, and then be known for what it is.)
 */
const localPaths = new Set<string>();
const LOCAL_PATHS_MAX = 10_000;

/** Whether the opened file is local, remembered for the path's next open. */
function learn(full: string, stats: Stats): boolean {
  const local = isLocalDevice(stats.dev, full);
  if (!local) localPaths.delete(full);
  else if (!localPaths.has(full)) {
    if (localPaths.size >= LOCAL_PATHS_MAX) localPaths.clear();
    localPaths.add(full);
  }
  return local;
}

/** The checks on an open handle, by its stats and where /proc says it lives. */
function checkHandle(realRoot: string, stats: Stats, where: string | undefined): void {
  if (!stats.isFile()) throw refusal('ENOTREG', 'not a regular file');
  if (where !== undefined && !isInside(realRoot, where)) throw refusal('EPATHESCAPE', 'file lies outside its root');
}

/** `openInside` on the event loop, for a path known to be local; undefined when it must go the pool's way. */
function openLocalNow(realRoot: string, full: string): OpenedFile | undefined {
  const n = openSync(full, OPEN_FLAGS);
  try {
    const stats = fstatSync(n);
    checkHandle(realRoot, stats, undeleted(readlinkSync(`/proc/self/fd/${n}`)));
    return { fh: new FdHandle(n), stats, local: learn(full, stats) };
  } catch (err) {
    closeSync(n);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // no /proc after all: the portable check
    throw err;
  }
}

/** Handles kept for the next request of the same file (open-files.ts). */
const kept = new OpenFiles();

/**
 * Opens `full` for reading when the handle is a regular file under `realRoot` (the root's own real
 * path). Rejects with the file-system error, or with EPATHESCAPE, ENOTREG or ECHANGED; the handle is
 * closed on every rejection. The handle is a lease on a kept one when the path still names the file kept
 * (open-files.ts): closing it releases the lease.
 */
export async function openInside(realRoot: string, full: string): Promise<OpenedFile> {
  const again = kept.reuse(realRoot, full);
  const reused = again instanceof Promise ? await again : again;
  if (reused) return reused;
  return kept.keep(realRoot, full, await openChecked(realRoot, full));
}

/** Drops the kept handle of a file (the cache tier removes its files): it is closed once no response reads it. */
export function forgetOpenFile(full: string): void {
  kept.forget(full);
}

/** Closes every kept handle no response holds (for tests that count descriptors, and at shutdown); resolves once closed. */
export function closeIdleOpenFiles(): Promise<void> {
  return kept.closeIdle();
}

/** Test hook: opens and checks as openInside does, without the kept handles (to see which way a path is opened). */
export const openUnkeptForTests = (realRoot: string, full: string): Promise<OpenedFile> => openChecked(realRoot, full);

/** Test hook: files kept and leases held on them. */
export function openFileCountsForTests(): { kept: number; leased: number } {
  return kept.counts();
}

/** Opens and checks `full` (see openInside), with no kept handle. */
async function openChecked(realRoot: string, full: string): Promise<OpenedFile> {
  if (procFdWorks && localPaths.has(full)) {
    const now = openLocalNow(realRoot, full);
    if (now) return now;
  }
  const fh = await open(full, OPEN_FLAGS);
  try {
    const [stats, where] = await Promise.all([fh.stat(), locationOfHandle(fh)]);
    checkHandle(realRoot, stats, where);
    if (where === undefined) {
      const real = await realpath(full);
      if (!isInside(realRoot, real)) throw refusal('EPATHESCAPE', 'file lies outside its root');
      const named = await stat(real);
      if (named.ino !== stats.ino || named.dev !== stats.dev) throw refusal('ECHANGED', 'file changed while it was opened');
      // Without /proc the path is never opened on the loop, but a local file's bytes may still be sent from it.
      return { fh, stats, local: isLocalDevice(stats.dev, full) };
    }
    return { fh, stats, local: learn(full, stats) };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/** Test hook: forces the portable check, as on a platform without /proc. */
export function usePortableCheckForTests(on: boolean): void {
  procFdWorks = !on && process.platform === 'linux';
}

/**
 * `openInside` that gives up after `ms` (ETIMEDOUT): a dead network mount can park an open for minutes,
 * and a request must not wait on it. A handle that arrives after the deadline is closed at once.
 * A null root (a library whose root cannot be resolved now) fails with ENOENT.
 */
export function openInsideWithin(realRoot: string | null, full: string, ms: number, opener: Opener = openInside): Promise<OpenedFile> {
  if (realRoot === null) return Promise.reject(Object.assign(new Error('library root unavailable'), { code: 'ENOENT' }));
  const opening = opener(realRoot, full);
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(Object.assign(new Error('open timed out'), { code: 'ETIMEDOUT' }));
    }, ms);
    opening.then(
      (f) => {
        clearTimeout(timer);
        if (late) void f.fh.close().catch(() => undefined);
        else resolve(f);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!late) reject(err);
      },
    );
  });
}
