/**
 * The zero-copy send behind stream bodies: the native addon in ./native (sendfile(2) on the libuv pool),
 * loaded once. Null where it cannot serve (not Linux, not built, or a runtime that cannot load it): the
 * server then reads into pooled buffers and writes them, as it did before (docs/performance.md).
 */
import { statfs } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/config.ts';

/** What the addon offers; see native/sendfile.c. */
export interface Sendfile {
  /**
   * sendfile(2) from `inFd` at `offset` to the socket `outFd` on the pool, until `count` bytes are sent,
   * the socket is full (`errno` EAGAIN), the file ends (`errno` 0 and `sent` < `count`) or an error (`errno`).
   */
  send(outFd: number, inFd: number, offset: number, count: number, done: (errno: number, sent: number) => void): void;
  /** A close-on-exec duplicate of `fd`, so a send in flight never writes to a number Node closed and reused. */
  dup(fd: number): number;
  close(fd: number): void;
  /** Shuts the connection down both ways: a send in flight stops with EPIPE. */
  shutdown(fd: number): void;
  /** `send` on the calling thread: bytes sent (> 0), 0 when the file ended at `offset`, or -errno (-EAGAIN: the socket is full). */
  sendNow(outFd: number, inFd: number, offset: number, count: number): number;
  /** 1 when every page of the range is in the page cache, 0 when not, -1 when the kernel cannot tell (before Linux 6.5). */
  cached(fd: number, offset: number, count: number): number;
  /** preadv2(RWF_NOWAIT) into `buffer` at `offset`: bytes read, or -errno (-EAGAIN: not in memory, read it on the pool). */
  readNow(fd: number, buffer: Buffer, offset: number): number;
  /** Calls back once the socket has room, with 0, or with the errno of a failed poll; once. */
  whenWritable(fd: number, done: (errno: number) => void): void;
}

/**
 * File systems whose cached pages a send on the event loop can take without waiting on anything: local
 * disks and memory. A network mount (NFS, SMB, FUSE) may revalidate with its server on a read even from the
 * page cache, so its bytes always go through the pool (statfs(2) f_type magic numbers).
 */
const LOCAL_FS = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs
  0xf2f52010, // f2fs
  0x2fc12fc1, // zfs
  0xca451a4e, // bcachefs
  0x2011bab0, // exfat
  0x4d44, // vfat
  0x7366746e, // ntfs3
]);

const deviceIsLocal = new Map<number, boolean>();

/**
 * Whether the file system of device `dev` is local, as learnt from one statfs(2) of a path on it. Until the
 * first answer lands (in the background, the first time a device is seen) it says false: that file's first
 * response goes through the pool.
 */
export function isLocalDevice(dev: number, pathOnIt: string): boolean {
  const known = deviceIsLocal.get(dev);
  if (known !== undefined) return known;
  deviceIsLocal.set(dev, false);
  statfs(pathOnIt).then(
    (s) => void deviceIsLocal.set(dev, LOCAL_FS.has(Number(s.type))),
    () => void deviceIsLocal.delete(dev),
  );
  return false;
}

/** The built addon, from the project root (the same path in `npm start` and in the desktop bundle). */
export const ADDON_PATH = path.join(PROJECT_ROOT, 'app', 'stream', 'native', 'build', 'Release', 'wsoptv_sendfile.node');

export type SendfileLoad = { readonly sendfile: Sendfile; readonly why?: undefined } | { readonly sendfile: null; readonly why: string };

let loaded: SendfileLoad | undefined;

/** The addon, or why there is none; tried once per process. */
export function loadSendfile(): SendfileLoad {
  if (loaded) return loaded;
  try {
    const mod = createRequire(import.meta.url)(ADDON_PATH) as Partial<Sendfile> & { supported?: boolean };
    if (mod.supported !== true || typeof mod.send !== 'function' || typeof mod.whenWritable !== 'function') loaded = { sendfile: null, why: `sendfile is not available on ${process.platform}` };
    else loaded = { sendfile: mod as Sendfile };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    loaded = { sendfile: null, why: code === 'MODULE_NOT_FOUND' ? 'the sendfile addon is not built (npm run native)' : `the sendfile addon did not load: ${(err as Error).message.split('\n')[0]}` };
  }
  return loaded;
}
