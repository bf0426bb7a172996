/**
 * The zero-copy send behind stream bodies: the native addon in ./native (sendfile(2) from the event loop
 * or the libuv pool, and the wait for room), loaded once. Null where it cannot serve (not Linux, not built,
 * or a runtime that cannot load it): the server then reads into pooled buffers and writes them, as it did
 * before (docs/performance.md).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/config.ts';

/** An opaque poll handle of the addon's. */
export type Poller = { readonly __poller: unique symbol };

/** What the addon offers; see native/sendfile.c. */
export interface Sendfile {
  /**
   * sendfile(2) from `inFd` at `offset` to the socket `outFd` on the pool, until `count` bytes are sent,
   * the socket is full (`errno` EAGAIN, `sent` what went before it), the file ends (`errno` 0 and `sent` <
   * `count`) or an error (`errno`).
   */
  send(outFd: number, inFd: number, offset: number, count: number, done: (errno: number, sent: number) => void): void;
  /** A close-on-exec duplicate of `fd`, so a send in flight never writes to a number Node closed and reused. */
  dup(fd: number): number;
  close(fd: number): void;
  /** Shuts the connection down both ways: a send in flight stops with EPIPE. */
  shutdown(fd: number): void;
  /**
   * `send` on the calling thread, answered in `result` (kept by the caller, so a call allocates nothing):
   * result[0] the bytes sent, result[1] the errno (EAGAIN: the socket is full after those bytes; 0 with
   * fewer than `count` sent: the file ended).
   */
  sendNow(outFd: number, inFd: number, offset: number, count: number, result: Float64Array): void;
  /** 1 when every page of the range is in the page cache, 0 when not, -1 when the kernel cannot tell (before Linux 6.5). */
  cached(fd: number, offset: number, count: number): number;
  /** preadv2(RWF_NOWAIT) into `buffer` at `offset`: bytes read, or -errno (-EAGAIN: not in memory, read it on the pool). */
  readNow(fd: number, buffer: Buffer, offset: number): number;
  /** The socket `fd` (the duplicate) in the addon's edge-triggered epoll set, one per response; close it before the fd. */
  poller(fd: number): Poller;
  /**
   * -1: calls back once, from the event loop, when the socket has room (0) or failed (an errno). 0 or an
   * errno: room came (or the socket failed) since the last wait; no call back will come.
   */
  whenWritable(poller: Poller, done: (errno: number) => void): number;
  /** Takes the socket out of the set; a wait in flight is dropped (its callback never runs). Twice is harmless. */
  closePoller(poller: Poller): void;
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
