/**
 * What the bench serves and scans, made at bench time in a temp folder: one large "offset" file whose
 * every byte can be checked without keeping the file in memory, and a library of small MP4 copies
 * with a few corrupt ones for the catalogue scan.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../app/config/config.ts';

/** The byte at `offset` of an offset file: a prime modulus, so the pattern never lines up with powers of two. */
export const offsetByte = (offset: number): number => offset % 251;

/** One write of the large file: a whole number of pattern periods, so consecutive blocks continue the pattern. */
const BLOCK = 251 * 64 * 1024;
/** Read size when warming the page cache. */
const WARM_READ = 4 * 1024 * 1024;

/** Writes an offset file of `size` bytes. */
export async function writeOffsetFile(file: string, size: number): Promise<void> {
  const block = Buffer.allocUnsafe(BLOCK);
  for (let i = 0; i < BLOCK; i++) block[i] = offsetByte(i);
  const fh = await open(file, 'w');
  try {
    for (let pos = 0; pos < size; pos += BLOCK) {
      const n = Math.min(BLOCK, size - pos);
      await fh.write(block, 0, n, pos);
    }
  } finally {
    await fh.close();
  }
}

/** Reads a file once end to end so it sits in the page cache; returns the bytes read. */
export async function warmPageCache(file: string): Promise<number> {
  const fh = await open(file, 'r');
  const buf = Buffer.allocUnsafe(WARM_READ);
  let total = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, WARM_READ, total);
      if (bytesRead === 0) return total;
      total += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** True when `body` is exactly bytes start.. of an offset file. */
export function isOffsetSlice(body: Buffer, start: number): boolean {
  let expect = offsetByte(start);
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== expect) return false;
    expect = expect === 250 ? 0 : expect + 1;
  }
  return true;
}

/** The offset pattern, long enough that any piece up to 1 MiB is one slice of it from any phase. */
const PATTERN = Buffer.from(Array.from({ length: 251 * 4179 + 251 }, (_, i) => i % 251));
const PATTERN_SPAN = PATTERN.length - 251;

/**
 * True when `piece` is exactly the offset file's bytes from `offset` on: every byte compared, by memcmp
 * against the pattern, so a check of every body byte costs the checker little next to the reads.
 */
export function matchesOffsetFile(piece: Buffer, offset: number): boolean {
  for (let done = 0; done < piece.length; done += PATTERN_SPAN) {
    const n = Math.min(PATTERN_SPAN, piece.length - done);
    const phase = (offset + done) % 251;
    if (!piece.subarray(done, done + n).equals(PATTERN.subarray(phase, phase + n))) return false;
  }
  return true;
}

/** The small real clip (H.264/AAC, faststart) the scan library is made of. */
export const SCAN_SAMPLE = path.join(PROJECT_ROOT, 'samples', 'wsop-sample-heads-up.mp4');

/** Kinds of damage a library really holds: cut-off copies, foreign files renamed, empty files, lying box sizes. */
const CORRUPTIONS: readonly ((sample: Buffer) => Buffer)[] = [
  (s) => s.subarray(0, 1000),
  () => randomBytes(4096),
  () => Buffer.alloc(0),
  (s) => {
    const b = Buffer.from(s.subarray(0, 64 * 1024));
    b.writeUInt32BE(0xfffffff0, 0); // first box claims ~4 GiB
    return b;
  },
];

/**
 * Fills `root` with `count` MP4 files in nested folders (10 events × 10 days × files), `corrupt` of
 * them damaged; returns how many are corrupt.
 */
export async function writeScanLibrary(root: string, count: number, corrupt: number): Promise<number> {
  const sample = await readFile(SCAN_SAMPLE);
  const every = Math.max(1, Math.floor(count / Math.max(1, corrupt)));
  let damaged = 0;
  for (let i = 0; i < count; i++) {
    const dir = path.join(root, `event-${String(i % 10).padStart(2, '0')}`, `day-${Math.floor(i / 10) % 10}`);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `wsop_clip_${String(i).padStart(4, '0')}.mp4`);
    if (damaged < corrupt && i % every === every - 1) {
      await writeFile(file, CORRUPTIONS[damaged % CORRUPTIONS.length]!(sample));
      damaged++;
    } else {
      await copyFile(SCAN_SAMPLE, file);
    }
  }
  return damaged;
}
