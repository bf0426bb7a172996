/**
 * Test fixtures on real disk: temp folders, files whose bytes are their own offsets (so any slice can be
 * checked without keeping the file in memory), and the bundled sample clips.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../app/config/config.ts';
import { closeIdleOpenFiles } from '../../app/library/safe-open.ts';

/** The byte at `offset` of an offset file: a prime modulus so the pattern never lines up with powers of two. */
export const offsetByte = (offset: number): number => offset % 251;

/** The bytes start..end (inclusive) of an offset file. */
export function offsetBytes(start: number, end: number): Buffer {
  const b = Buffer.allocUnsafe(Math.max(0, end - start + 1));
  for (let i = 0; i < b.length; i++) b[i] = offsetByte(start + i);
  return b;
}

/** Writes an offset file of `size` bytes. */
export async function writeOffsetFile(file: string, size: number): Promise<void> {
  await writeFile(file, offsetBytes(0, size - 1));
}

/** A fresh temp folder; `cleanup` removes it. */
export async function tempDir(prefix = 'wsoptv-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Path of a bundled sample clip (real H.264/AAC, faststart). */
export const SAMPLE_CLIP = path.join(PROJECT_ROOT, 'samples', 'wsop-sample-final-table.mp4');
/** Its hands sidecar. */
export const SAMPLE_SIDECAR = path.join(PROJECT_ROOT, 'samples', 'wsop-sample-final-table.json');

/** Copies the sample clip (and optionally its sidecar) into `dir` under `name`. */
export async function copySample(dir: string, name: string, withSidecar = true): Promise<string> {
  const dest = path.join(dir, name);
  await copyFile(SAMPLE_CLIP, dest);
  if (withSidecar) await copyFile(SAMPLE_SIDECAR, dest.replace(/\.[^.]+$/, '.json'));
  return dest;
}

/** Polls `probe` every 20 ms until it holds or `ms` pass; true when it held. A bounded wait, never a fixed sleep. */
export async function eventually(probe: () => boolean | Promise<boolean>, ms = 5_000): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Makes a long H.264/AAC clip with ffmpeg (a minute at 5 Mbit/s, about 35 MB, faststart): far more than
 * the socket buffers hold, so a slow player pulls it at its own pace and the server's byte rate moves.
 */
export async function makeLongClip(file: string, seconds = 60, bitrate = '5M'): Promise<void> {
  await promisify(execFile)('ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine', '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', bitrate, '-maxrate', bitrate, '-bufsize', '2M', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-shortest', '-movflags', '+faststart', file,
  ], { timeout: 60_000 });
}

/**
 * Descriptors on `file` that a response or a caller still holds: kept handles no one holds are closed first
 * (app/library/open-files.ts keeps a served file open for the next request), then they are counted.
 */
export async function heldDescriptorsOn(file: string): Promise<number> {
  await closeIdleOpenFiles();
  return openDescriptorsOn(file);
}

/**
 * Descriptors of this process open on `file` (Linux: /proc/self/fd), to prove a handle was closed; also
 * once the file was removed or replaced, when its link ends " (deleted)".
 */
export function openDescriptorsOn(file: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const to = readlinkSync(`/proc/self/fd/${fd}`);
      if (to === file || to === `${file} (deleted)`) n++;
    } catch {
      // closed between readdir and readlink
    }
  }
  return n;
}

/** The error code a promise rejects with, or undefined when it resolves. */
export const errorCodeOf = async (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (err: NodeJS.ErrnoException) => err.code,
  );

/** A temp folder holding a library root (its real path) and, beside it, a file outside it that must never be served. */
export async function rootWithOutside(): Promise<{ tmp: { dir: string; cleanup: () => Promise<void> }; root: string; outside: string }> {
  const tmp = await tempDir();
  const real = await realpath(tmp.dir);
  const root = path.join(real, 'lib');
  await mkdir(root);
  const outside = path.join(real, 'secret');
  await writeFile(outside, 'not to be served');
  return { tmp, root, outside };
}
