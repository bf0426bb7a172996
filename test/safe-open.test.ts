/**
 * openInside's two ways of opening (app/library/safe-open.ts): a path not seen yet is opened and checked on
 * the thread pool; once it has landed on a local file system it is opened and checked on the event loop.
 * The checks must hold the same on both: a symlink out of the root, a FIFO, a folder, a missing file.
 */
import assert from 'node:assert/strict';
import { mkdir, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { openInside, openUnkeptForTests, type OpenedFile } from '../app/library/safe-open.ts';
import { errorCodeOf, offsetBytes, openDescriptorsOn, rootWithOutside, writeOffsetFile } from './helpers/fixtures.ts';

/**
 * Opens until the path is opened on the event loop (its device's statfs lands in the background first),
 * without the kept handles of open-files.ts, whose leases hide which way the handle was opened.
 */
async function openedOnLoop(root: string, file: string): Promise<OpenedFile> {
  for (let i = 0; i < 50; i++) {
    const f = await openUnkeptForTests(root, file);
    if (f.fh.constructor.name !== 'FileHandle') return f;
    await f.fh.close();
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the path was never opened on the event loop: is the temp folder on a local file system?');
}

const fdsOn = openDescriptorsOn;

describe('openInside on the event loop, for a path known to be local', { skip: process.platform !== 'linux' ? 'the /proc handle check is Linux only' : false }, () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let root: string;
  let file: string;
  let outside: string;
  before(async () => {
    ({ tmp, root, outside } = await rootWithOutside());
    file = path.join(root, 'clip.mp4');
    await writeOffsetFile(file, 100_000);
  });
  after(() => tmp.cleanup());

  it('reads the file exactly, and closes it', async () => {
    const f = await openedOnLoop(root, file);
    assert.equal(f.stats.size, 100_000);
    const buf = Buffer.alloc(1000);
    const { bytesRead } = await f.fh.read(buf, 0, 1000, 5000);
    assert.equal(bytesRead, 1000);
    assert.ok(buf.equals(offsetBytes(5000, 5999)));
    assert.equal((await f.fh.stat()).size, 100_000);
    await f.fh.close();
    assert.equal(f.fh.fd, -1);
    await f.fh.close(); // twice is harmless
    assert.equal(await errorCodeOf(f.fh.read(buf, 0, 1, 0)), 'EBADF');
    assert.equal(fdsOn(file), 0);
  });

  const swapped = async (make: (at: string) => Promise<void>, expected: string): Promise<void> => {
    await (await openedOnLoop(root, file)).fh.close();
    await rename(file, `${file}.bak`);
    try {
      await make(file);
      assert.equal(await errorCodeOf(openInside(root, file)), expected);
      assert.equal(fdsOn(outside) + fdsOn(file), 0, 'a refused handle stayed open');
    } finally {
      await rm(file, { recursive: true, force: true });
      await rename(`${file}.bak`, file);
    }
  };

  it('a symlink swapped in that leads out of the root is refused (EPATHESCAPE)', () => swapped((at) => symlink(outside, at), 'EPATHESCAPE'));
  it('a FIFO swapped in is refused at once (ENOTREG), not waited on', () => swapped(async (at) => void execFileSync('mkfifo', [at]), 'ENOTREG'));
  it('a folder swapped in is refused (ENOTREG)', () => swapped((at) => mkdir(at), 'ENOTREG'));
  it('a file gone is the file system’s own error (ENOENT)', () => swapped(async () => undefined, 'ENOENT'));
});
