/**
 * Copies a video (or its head) from the NAS to the SSD so that a partial copy can never be served:
 * into a temporary name, at a bounded rate, fsynced, checked against the source (size, mtime, and a
 * hash of sampled ranges), and only then renamed into place. A copy that fails or is cancelled leaves
 * nothing behind; a temporary file left by a crash is removed at start-up (see index.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { openInside, type Opener, type ReadHandle } from '../library/index.ts';

/** Folders below the cache root. */
export const CACHE_DIRS = { copies: 'copies', heads: 'heads', tmp: 'tmp' } as const;

/** What to copy. */
export interface CopyJob {
  readonly contentId: string;
  readonly kind: 'copy' | 'head';
  readonly sourcePath: string;
  readonly sourceRoot: string;
  /** The catalogued version: the copy is refused if the source is not (or stops being) this one. */
  readonly sourceSize: number;
  readonly sourceMtimeMs: number;
  /** For a head: how many leading bytes to keep. */
  readonly headBytes?: number;
  /** How to open the source; openInside unless wrapped. */
  readonly open?: Opener;
}

/** What a finished copy holds. */
export interface CopyResult {
  /** Path below the cache root, forward slashes. */
  readonly file: string;
  readonly size: number;
  readonly headLen: number;
  readonly moovOffset: number | null;
  readonly moovLen: number | null;
}

/** How a copy runs. */
export interface CopyOptions {
  /** Bytes per second at most. */
  readonly rateBytesPerSecond: number;
  readonly signal?: AbortSignal;
  /** Bytes copied so far, after each chunk. */
  readonly onProgress?: (copied: number, total: number) => void;
}

const CHUNK = 1024 * 1024;
const SAMPLES = 8;
const SAMPLE_BYTES = 64 * 1024;

/** A run of source bytes and where it goes in the copy. */
interface Span {
  readonly from: number;
  readonly length: number;
}

/**
 * Finds the top-level `moov` box of an MP4 by walking box headers (8 or 16 bytes each); undefined when
 * there is none or the structure is broken. Reads a few bytes per box, never a box's body.
 */
export async function findMoov(fh: ReadHandle, size: number): Promise<{ offset: number; length: number } | undefined> {
  const header = Buffer.alloc(16);
  let at = 0;
  for (let boxes = 0; at + 8 <= size && boxes < 10_000; boxes++) {
    const { bytesRead } = await fh.read(header, 0, 16, at);
    if (bytesRead < 8) return undefined;
    let len = header.readUInt32BE(0);
    const type = header.toString('latin1', 4, 8);
    if (len === 1) {
      if (bytesRead < 16) return undefined;
      len = Number(header.readBigUInt64BE(8));
    } else if (len === 0) len = size - at;
    if (len < 8 || at + len > size) return undefined;
    if (type === 'moov') return { offset: at, length: len };
    at += len;
  }
  return undefined;
}

/** The moov part of a head starts at a multiple of this (a power of two, so any smaller block size divides it). */
export const MOOV_ALIGN = 256 * 1024;

/** The source spans a copy holds: the whole file, or the head's leading bytes then the part of `moov` beyond them
 * (from the MOOV_ALIGN boundary before the box). */
async function spansOf(job: CopyJob, fh: ReadHandle): Promise<{ spans: Span[]; headLen: number; moovOffset: number | null; moovLen: number | null }> {
  if (job.kind === 'copy') return { spans: [{ from: 0, length: job.sourceSize }], headLen: 0, moovOffset: null, moovLen: null };
  const headLen = Math.min(job.headBytes ?? 0, job.sourceSize);
  const spans: Span[] = [{ from: 0, length: headLen }];
  const moov = await findMoov(fh, job.sourceSize);
  if (moov && moov.offset + moov.length > headLen) {
    // From the boundary before the box: players ask in aligned blocks (Chromium and Firefox in 32 KiB ones),
    // so the range that fetches a moov at the end starts a little before it, and must not need the NAS.
    const from = Math.max(Math.floor(moov.offset / MOOV_ALIGN) * MOOV_ALIGN, headLen);
    const length = moov.offset + moov.length - from;
    spans.push({ from, length });
    return { spans, headLen, moovOffset: from, moovLen: length };
  }
  return { spans, headLen, moovOffset: null, moovLen: null };
}

/** Where in the copy each sampled source offset lands, for the check after the copy. */
function samplePoints(spans: readonly Span[]): { src: number; dst: number; length: number }[] {
  const out: { src: number; dst: number; length: number }[] = [];
  let dst = 0;
  for (const s of spans) {
    for (let i = 0; i < SAMPLES && s.length > 0; i++) {
      const length = Math.min(SAMPLE_BYTES, s.length);
      const off = Math.floor(((s.length - length) * i) / Math.max(1, SAMPLES - 1));
      out.push({ src: s.from + off, dst: dst + off, length });
    }
    dst += s.length;
  }
  return out;
}

async function hashRanges(fh: ReadHandle, points: readonly { at: number; length: number }[]): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.alloc(SAMPLE_BYTES);
  for (const p of points) {
    const { bytesRead } = await fh.read(buf, 0, p.length, p.at);
    h.update(buf.subarray(0, bytesRead));
  }
  return h.digest('hex');
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** A copy that cannot be used: the source changed, or the check after the copy failed. */
export class CopyRefused extends Error {
  constructor(readonly reason: 'source_changed' | 'verify_failed', detail: string) {
    super(`${reason}: ${detail}`);
  }
}

/** Copies one job into `cacheRoot` (the cache root's real path); resolves with the file placed, or rejects leaving nothing. */
export async function copyToCache(job: CopyJob, cacheRoot: string, opts: CopyOptions): Promise<CopyResult> {
  const src = await (job.open ?? openInside)(job.sourceRoot, job.sourcePath);
  const tmpName = path.join(cacheRoot, CACHE_DIRS.tmp, `${job.contentId}.${job.kind}.${randomBytes(4).toString('hex')}.part`);
  const rel = job.kind === 'copy' ? `${CACHE_DIRS.copies}/${job.contentId}.mp4` : `${CACHE_DIRS.heads}/${job.contentId}.head`;
  let out: FileHandle | undefined;
  try {
    const same = (st: { size: number; mtimeMs: number }): boolean => st.size === job.sourceSize && st.mtimeMs === job.sourceMtimeMs;
    if (!same(src.stats)) throw new CopyRefused('source_changed', 'the file is not the catalogued version');
    const { spans, headLen, moovOffset, moovLen } = await spansOf(job, src.fh);
    const total = spans.reduce((n, s) => n + s.length, 0);
    await mkdir(path.dirname(tmpName), { recursive: true, mode: 0o700 });
    out = await open(tmpName, 'wx+', 0o600); // read back for the check after the copy
    const buf = Buffer.allocUnsafe(CHUNK);
    const t0 = performance.now();
    let copied = 0;
    for (const s of spans) {
      for (let done = 0; done < s.length; ) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        const n = Math.min(CHUNK, s.length - done);
        const { bytesRead } = await src.fh.read(buf, 0, n, s.from + done);
        if (bytesRead === 0) throw new CopyRefused('source_changed', 'the file shrank during the copy');
        await out.write(buf, 0, bytesRead, copied);
        done += bytesRead;
        copied += bytesRead;
        opts.onProgress?.(copied, total);
        // Pace to the rate: sleep until the wall clock catches up with the bytes copied.
        const ahead = (copied / opts.rateBytesPerSecond) * 1000 - (performance.now() - t0);
        if (ahead > 1) await sleep(ahead, opts.signal);
      }
    }
    await out.sync();
    if (!same(await src.fh.stat())) throw new CopyRefused('source_changed', 'the file changed during the copy');
    const points = samplePoints(spans);
    const [a, b] = await Promise.all([
      hashRanges(src.fh, points.map((p) => ({ at: p.src, length: p.length }))),
      hashRanges(out, points.map((p) => ({ at: p.dst, length: p.length }))),
    ]);
    if (a !== b || (await out.stat()).size !== total) throw new CopyRefused('verify_failed', 'sampled ranges differ from the source');
    await out.close();
    out = undefined;
    const final = path.join(cacheRoot, ...rel.split('/'));
    await mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
    await rename(tmpName, final);
    await syncDir(path.dirname(final));
    return { file: rel, size: total, headLen, moovOffset, moovLen };
  } catch (err) {
    await out?.close().catch(() => undefined);
    await rm(tmpName, { force: true });
    throw err;
  } finally {
    await src.fh.close().catch(() => undefined);
  }
}

/** Makes a rename durable: fsync of the folder that holds the new name (a no-op where folders cannot be opened). */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Windows cannot open a folder; its rename is durable enough for a cache that is checked at start-up.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
