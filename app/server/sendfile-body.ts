/**
 * Sends a response body with sendfile(2): the socket takes the file's page-cache pages, so the bytes are
 * never copied into this process and back out (the copy path is `BodyPump` in send-video.ts).
 *
 * The first chunk (64 KiB) is copied and written through the response as before: it carries the headers
 * out, and its write callback says the socket's own queue is empty, so a send never overtakes bytes Node
 * still holds (a pipelined response waits in Node until the one before it ends; the callback runs only
 * once this one is on the socket). The rest goes by sendfile on a duplicate of the socket's fd, which keeps
 * the connection (and its fd number) ours while a send or a wait is in flight, even if Node closes its own
 * fd meanwhile.
 *
 * Where the bytes are: on a local file system and in the page cache (cachestat(2)), a send runs on the event
 * loop, as nginx's does, at most SEND_NOW_MAX at a time with other work between; a hop to the libuv pool
 * costs two thread wake-ups, more than such a send itself. Otherwise (a network mount, bytes still on the
 * disk) it runs on the pool, where a thread may wait on the disk, never on the client. The socket is
 * non-blocking, so a send stops when it is full; the wait for room is the addon's edge-triggered epoll set,
 * which the event loop watches.
 * Reads of copied chunks likewise try preadv2(RWF_NOWAIT) on the loop before the pool.
 *
 * Outcomes match the copy path: bytes are counted as the socket takes them, a file that ends early cuts the
 * connection (the client sees a short body, never a wrong one), and however the response ends the handles
 * and the duplicate are closed, after any send or wait in flight has landed, and `finish` runs once.
 */
import { constants } from 'node:os';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { FIRST_READ, giveReadBuffer, MAX_READ, takeReadBuffer, type Segment } from '../stream/file-body.ts';
import type { Poller, Sendfile } from '../stream/sendfile.ts';

/** Most bytes one send on the pool asks for: the socket takes what fits (a few MiB on loopback) and the call returns. */
export const SEND_MAX = 8 * 1024 * 1024;
/** Most bytes one send on the event loop takes before other work runs (nginx's sendfile_max_chunk is 2 MiB too). */
export const SEND_NOW_MAX = 2 * 1024 * 1024;
/** How far ahead one page-cache check looks. Pages evicted since are read by the send itself, from a local disk. */
export const CHECK_AHEAD = 16 * 1024 * 1024;

const { EAGAIN, EINVAL, ENOSYS, EOPNOTSUPP } = constants.errno;
/** Errors that mean "this file or socket cannot be sent from", before any byte went: copy instead. */
const UNSUPPORTED = new Set([EINVAL, ENOSYS, EOPNOTSUPP]);
/** Where sendNow answers (sent, errno); one for every body, read right after each call. */
const RESULT = new Float64Array(2);

/** The fd of a plain TCP socket, or undefined (TLS, a socket not yet attached, a closed one). */
function socketFd(res: ServerResponse): number | undefined {
  const s = res.socket as (Socket & { _handle?: { fd?: unknown }; encrypted?: boolean }) | null;
  const fd = s?._handle?.fd;
  return s && !s.destroyed && s.encrypted !== true && typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

export class SendfileBody {
  private seg = 0;
  private pos: number;
  private sent = 0;
  private over = false;
  private cleaned = false;
  /** A read, a send or a wait for room is in flight: the handles and the duplicate stay open until it lands. */
  private busy = false;
  /** The copied chunk being written. */
  private chunk: Buffer | null = null;
  private outFd = -1;
  private poller: Poller | null = null;
  /** Bytes of the current segment before this offset were in the page cache at the last look. */
  private cachedUntil = -1;
  /** Bytes the send in flight asked for. */
  private asked = 0;
  /** Copy every chunk (no socket fd, or a file system sendfile cannot read); reads double as in FileBody. */
  private copyOnly = false;
  private nextRead = FIRST_READ;

  constructor(
    private readonly segments: readonly Segment[],
    private readonly res: ServerResponse,
    private readonly sf: Sendfile,
    private readonly onBytes: ((n: number) => void) | undefined,
    private readonly finish: (sent: number, aborted: boolean) => void,
  ) {
    this.pos = segments[0]?.start ?? 0;
    res.on('close', this.onClose);
    const s = this.current();
    if (s) this.copy(s, FIRST_READ);
    else res.end();
  }

  /** The segment holding `pos`, moving past finished ones; undefined when the body is complete. */
  private current(): Segment | undefined {
    let s = this.segments[this.seg];
    while (s && s.end - this.pos + 1 <= 0) {
      s = this.segments[++this.seg];
      if (s) this.pos = s.start;
      this.cachedUntil = -1; // another file
    }
    return s;
  }

  /** The next move once the socket has taken everything so far: end the response, copy, or send. */
  private readonly step = (): void => {
    if (this.over) return;
    const s = this.current();
    if (!s) {
      this.res.end();
      return;
    }
    if (this.copyOnly) return this.copy(s, this.nextRead);
    if (this.outFd < 0) {
      const fd = socketFd(this.res);
      if (fd === undefined) return this.copyInstead();
      try {
        this.outFd = this.sf.dup(fd);
      } catch {
        return this.copyInstead(); // out of descriptors: this body is copied
      }
    }
    const left = s.end - this.pos + 1;
    if (s.local === true && this.inMemory(s, left)) return this.sendNow(s, Math.min(left, SEND_NOW_MAX));
    this.busy = true;
    this.asked = Math.min(left, SEND_MAX);
    this.sf.send(this.outFd, s.fh.fd, this.pos, this.asked, this.onSent);
  };

  /**
   * Whether the next bytes of `s` are in the page cache: one cachestat(2) answers for up to CHECK_AHEAD
   * bytes, so most sends of a long body make no check of their own.
   */
  private inMemory(s: Segment, left: number): boolean {
    if (this.pos < this.cachedUntil) return true;
    const span = Math.min(left, CHECK_AHEAD);
    if (this.sf.cached(s.fh.fd, this.pos, span) !== 1) return false;
    this.cachedUntil = this.pos + span;
    return true;
  }

  /**
   * Sends up to `n` bytes from the event loop. All of them: go on after whatever else the loop has to do.
   * A full socket (EAGAIN, after some bytes or none): wait for room.
   */
  private sendNow(s: Segment, n: number): void {
    this.sf.sendNow(this.outFd, s.fh.fd, this.pos, n, RESULT);
    const sent = RESULT[0]!;
    const errno = RESULT[1]!;
    if (sent > 0) this.advance(sent);
    if (errno === 0 && sent === n) return void setImmediate(this.step);
    if (errno === EAGAIN) return this.waitForRoom();
    if (sent === 0 && UNSUPPORTED.has(errno)) return this.copyInstead();
    // errno 0 with bytes missing: the file ended early. Anything else: the client left, or the disk failed.
    this.fail();
  }

  private readonly onSent = (errno: number, n: number): void => {
    this.busy = false;
    if (n > 0) this.advance(n);
    if (this.over) return this.cleanup();
    if (errno === 0 && n === this.asked) return this.step();
    if (errno === EAGAIN) return this.waitForRoom();
    if (n === 0 && UNSUPPORTED.has(errno)) return this.copyInstead();
    // errno 0 with bytes missing: the file ended early. Anything else: the client left, or the disk failed.
    this.fail();
  };

  private waitForRoom(): void {
    try {
      this.poller ??= this.sf.poller(this.outFd);
    } catch {
      return this.fail(); // the socket could not be watched (it is gone): nothing more can be sent on it
    }
    const r = this.sf.whenWritable(this.poller, this.onRoom);
    if (r === -1) this.busy = true;
    else if (r === 0) setImmediate(this.step); // room came while nothing waited
    else this.fail();
  }

  private readonly onRoom = (errno: number): void => {
    this.busy = false;
    if (this.over) return this.cleanup();
    if (errno !== 0) return this.fail();
    this.step();
  };

  private copyInstead(): void {
    this.copyOnly = true;
    this.step();
  }

  private copy(s: Segment, size: number): void {
    const n = Math.min(size, s.end - this.pos + 1);
    const buffer = Buffer.from(takeReadBuffer(size), 0, n);
    if (this.copyOnly) this.nextRead = Math.min(this.nextRead * 2, MAX_READ);
    if (s.local === true) {
      const r = this.sf.readNow(s.fh.fd, buffer, this.pos);
      if (r >= 0) return this.onRead({ bytesRead: r, buffer });
      // Not in memory (or the file system cannot say): read it on the pool.
    }
    this.busy = true;
    s.fh.read(buffer, 0, n, this.pos).then(this.onRead, this.onReadFailed);
  }

  private readonly onRead = ({ bytesRead, buffer }: { bytesRead: number; buffer: Buffer }): void => {
    this.busy = false;
    if (this.over || bytesRead === 0) {
      giveReadBuffer(buffer.buffer as ArrayBuffer);
      // bytesRead 0: the file shrank under us; cut, so Content-Length tells the client the body is short.
      return this.over ? this.cleanup() : this.fail();
    }
    this.pos += bytesRead;
    this.chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    this.res.write(this.chunk, this.onWritten);
  };

  private readonly onReadFailed = (): void => {
    this.busy = false;
    if (this.over) return this.cleanup();
    this.fail();
  };

  /** The socket took the copied chunk (or the response is gone: `err`, and the close handler ends it). */
  private readonly onWritten = (err?: Error | null): void => {
    const chunk = this.chunk;
    this.chunk = null;
    if (err || chunk === null) return;
    giveReadBuffer(chunk.buffer as ArrayBuffer);
    this.count(chunk.length);
    this.step();
  };

  private advance(n: number): void {
    this.pos += n;
    this.count(n);
  }

  private count(n: number): void {
    this.sent += n;
    this.onBytes?.(n);
  }

  private fail(): void {
    this.res.destroy();
    this.end(true);
  }

  private readonly onClose = (): void => this.end(!this.res.writableFinished);

  private end(aborted: boolean): void {
    if (this.over) return;
    this.over = true;
    // A send or a wait in flight on a connection that is being cut: stop it now (EPIPE, or a poll that
    // wakes) rather than when the client reads again.
    if (aborted && this.busy && this.outFd >= 0) this.sf.shutdown(this.outFd);
    this.finish(this.sent, aborted);
    if (!this.busy) this.cleanup();
  }

  private cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    if (this.poller) this.sf.closePoller(this.poller);
    this.poller = null;
    if (this.outFd >= 0) this.sf.close(this.outFd);
    this.outFd = -1;
    for (const fh of new Set(this.segments.map((s) => s.fh))) fh.close().catch(() => undefined);
  }
}
