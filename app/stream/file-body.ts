/**
 * A readable body for one byte range of an open file. Reads start small and grow: the first read of a
 * seek is 64 KiB so the first byte leaves quickly (from a NAS, 1 MiB costs ~9 ms at 1 Gbit/s), then
 * reads double up to 1 MiB, which halves the syscalls of a long sequential read (see docs/performance.md).
 * The file handle is closed when the body ends or is destroyed, however that happens.
 */
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

/** First read of a range. */
export const FIRST_READ = 64 * 1024;
/** Largest read. */
export const MAX_READ = 1024 * 1024;

/** Streams bytes start..end (inclusive) of `fh`, then closes it. */
export class FileBody extends Readable {
  private pos: number;
  private nextRead = FIRST_READ;
  private reading = false;
  /** Bytes handed to the consumer so far. */
  bytesRead = 0;

  constructor(private readonly fh: FileHandle, start: number, private readonly end: number) {
    // highWaterMark 0: hold no chunk beyond the one the socket is taking; memory per stream stays at one read.
    super({ highWaterMark: 0 });
    this.pos = start;
  }

  override _read(): void {
    if (this.reading) return;
    const remaining = this.end - this.pos + 1;
    if (remaining <= 0) {
      this.push(null);
      return;
    }
    const n = Math.min(this.nextRead, remaining);
    this.nextRead = Math.min(this.nextRead * 2, MAX_READ);
    this.reading = true;
    this.fh.read(Buffer.allocUnsafe(n), 0, n, this.pos).then(
      ({ bytesRead, buffer }) => {
        this.reading = false;
        if (this.destroyed) return;
        if (bytesRead === 0) {
          // The file shrank under us: end early; Content-Length tells the client the body is short.
          this.destroy(Object.assign(new Error('file shrank while being read'), { code: 'ESHRUNK' }));
          return;
        }
        this.pos += bytesRead;
        this.bytesRead += bytesRead;
        this.push(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      },
      (err: Error) => {
        this.reading = false;
        this.destroy(err);
      },
    );
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.fh.close().then(
      () => cb(err),
      () => cb(err),
    );
  }
}
