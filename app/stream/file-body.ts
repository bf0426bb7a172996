/**
 * A readable body for one byte range of an open file. Reads start small and grow: the first read of a
 * seek is 64 KiB so the first byte leaves quickly (from a NAS, 1 MiB costs ~9 ms at 1 Gbit/s), then
 * reads double up to 1 MiB, which halves the syscalls of a long sequential read (see docs/performance.md).
 * Read buffers come from a shared pool and go back to it when the consumer calls `release` after the
 * socket has written them. The file handle is closed when the body ends or is destroyed, however that happens.
 */
import type { ReadHandle } from '../library/safe-open.ts';
import { Readable } from 'node:stream';

/** First read of a range. */
export const FIRST_READ = 64 * 1024;
/** Largest read. */
export const MAX_READ = 1024 * 1024;
/** Most memory kept in free read buffers; buffers beyond it are left to the garbage collector. */
export const POOL_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Free read buffers by size (the read sizes are the few powers of two from FIRST_READ to MAX_READ).
 * Allocating a fresh buffer per read made V8 count every megabyte as new external memory and answer
 * with a full mark-compact every few dozen MiB: at 100 readers GC took about 40 % of the server's CPU
 * and pauses reached seek latency (docs/performance.md). Reusing buffers removes both.
 */
class ReadBufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private freeBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** A buffer of exactly `size` bytes, reused when one is free; its contents are stale, a read overwrites them. */
  take(size: number): ArrayBuffer {
    const reused = this.free.get(size)?.pop();
    if (reused) {
      this.freeBytes -= size;
      return reused;
    }
    return Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer;
  }

  /** Returns a buffer nothing references any more. */
  give(ab: ArrayBuffer): void {
    if (this.freeBytes + ab.byteLength > this.maxBytes) return;
    let list = this.free.get(ab.byteLength);
    if (!list) this.free.set(ab.byteLength, (list = []));
    list.push(ab);
    this.freeBytes += ab.byteLength;
  }
}

const pool = new ReadBufferPool(POOL_MAX_BYTES);

/** A pooled read buffer of `size` bytes (stale contents), for readers other than FileBody (the sendfile body's copied chunks). */
export const takeReadBuffer = (size: number): ArrayBuffer => pool.take(size);
/** Gives a buffer from `takeReadBuffer` back, once nothing references it. */
export const giveReadBuffer = (ab: ArrayBuffer): void => pool.give(ab);

/** A run of bytes start..end (inclusive) of one open file. */
export interface Segment {
  readonly fh: ReadHandle;
  readonly start: number;
  readonly end: number;
  /** On a local file system: its cached bytes may be sent from the event loop (see sendfile-body.ts). */
  readonly local?: boolean;
}

/**
 * Streams one or more segments in order (a cached head on the SSD, then the rest from the NAS), then
 * closes every handle. A reader never sees a seam: chunks are cut at segment ends.
 */
export class FileBody extends Readable {
  /** Pooled buffers handed to the consumer and not yet released. */
  private readonly lent = new Set<ArrayBuffer>();
  private readonly segments: readonly Segment[];
  private seg = 0;
  private pos: number;
  private nextRead = FIRST_READ;
  /** The buffer of the read in flight, if one is. */
  private reading: ArrayBuffer | null = null;
  /** Bytes handed to the consumer so far. */
  bytesRead = 0;

  constructor(fhOrSegments: ReadHandle | readonly Segment[], start = 0, end = -1) {
    // highWaterMark 0: hold no chunk beyond the one the socket is taking; memory per stream stays at one read.
    super({ highWaterMark: 0 });
    this.segments = Array.isArray(fhOrSegments) ? fhOrSegments : [{ fh: fhOrSegments as ReadHandle, start, end }];
    this.pos = this.segments[0]?.start ?? 0;
  }

  override _read(): void {
    if (this.reading !== null) return;
    let s = this.segments[this.seg];
    while (s && s.end - this.pos + 1 <= 0) {
      s = this.segments[++this.seg];
      if (s) this.pos = s.start;
    }
    if (!s) {
      this.push(null);
      return;
    }
    const remaining = s.end - this.pos + 1;
    const n = Math.min(this.nextRead, remaining);
    const ab = pool.take(this.nextRead);
    this.nextRead = Math.min(this.nextRead * 2, MAX_READ);
    this.reading = ab;
    s.fh.read(Buffer.from(ab, 0, n), 0, n, this.pos).then(this.onRead, this.onReadFailed);
  }

  /** The read in flight has landed (one at a time, so its buffer is `reading`): bound once, not a closure per read. */
  private readonly onRead = ({ bytesRead, buffer }: { bytesRead: number; buffer: Buffer }): void => {
    const ab = this.reading!;
    this.reading = null;
    if (this.destroyed) {
      pool.give(ab);
      return;
    }
    if (bytesRead === 0) {
      pool.give(ab);
      // The file shrank under us: end early; Content-Length tells the client the body is short.
      this.destroy(Object.assign(new Error('file shrank while being read'), { code: 'ESHRUNK' }));
      return;
    }
    this.pos += bytesRead;
    this.bytesRead += bytesRead;
    this.lent.add(ab);
    this.push(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
  };

  private readonly onReadFailed = (err: Error): void => {
    const ab = this.reading!;
    this.reading = null;
    pool.give(ab);
    this.destroy(err);
  };

  /**
   * Gives a chunk's memory back for later reads. Call it only once nothing will touch the chunk again
   * (the socket's write callback has run); a chunk never released is simply garbage-collected.
   */
  release(chunk: Buffer): void {
    const ab = chunk.buffer as ArrayBuffer;
    // Only buffers this body lent, and each once: a second release must not put one buffer in the pool twice.
    if (this.lent.delete(ab)) pool.give(ab);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    const handles = [...new Set(this.segments.map((s) => s.fh))];
    Promise.allSettled(handles.map((fh) => fh.close())).then(() => cb(err));
  }
}
