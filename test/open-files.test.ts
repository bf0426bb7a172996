/**
 * Kept handles (app/library/open-files.ts, through openInside): a file served again is read from the handle
 * kept for it while its path still names the same, unchanged file; anything else opens and checks it anew.
 * Real files in a temp folder, real descriptors counted in /proc/self/fd.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { IDLE_MS, MAX_KEPT, OpenFiles } from '../app/library/open-files.ts';
import { closeIdleOpenFiles, openFileCountsForTests, openInside, openUnkeptForTests } from '../app/library/safe-open.ts';
import { errorCodeOf, eventually, offsetBytes, openDescriptorsOn, rootWithOutside, writeOffsetFile } from './helpers/fixtures.ts';

async function bytesAt(f: { fh: { read: (b: Buffer, o: number, l: number, p: number) => Promise<{ bytesRead: number }> } }, at: number, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  const { bytesRead } = await f.fh.read(buf, 0, n, at);
  return buf.subarray(0, bytesRead);
}

const linux = process.platform === 'linux' ? false : 'descriptors are counted in /proc/self/fd (Linux)';

describe('kept handles', { skip: linux }, () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let root: string;
  let file: string;
  let outside: string;
  before(async () => {
    ({ tmp, root, outside } = await rootWithOutside());
  });
  beforeEach(async () => {
    await closeIdleOpenFiles();
    file = path.join(root, 'clip.mp4');
    await rm(file, { force: true, recursive: true });
    await writeOffsetFile(file, 100_000);
  });
  after(async () => {
    await closeIdleOpenFiles();
    await tmp.cleanup();
  });

  describe('when a file is opened again, unchanged', () => {
    it('both requests read one descriptor, each through its own lease', async () => {
      const a = await openInside(root, file);
      const b = await openInside(root, file);
      assert.equal(openDescriptorsOn(file), 1, 'the second open should reuse the kept descriptor');
      assert.equal(a.fh.fd, b.fh.fd);
      assert.deepEqual(openFileCountsForTests(), { kept: 1, leased: 2 });
      assert.ok((await bytesAt(a, 5000, 1000)).equals(offsetBytes(5000, 5999)));
      await a.fh.close();
      assert.equal(a.fh.fd, -1, 'a closed lease has no descriptor');
      assert.equal(await errorCodeOf(a.fh.read(Buffer.alloc(1), 0, 1, 0)), 'EBADF');
      await a.fh.close(); // twice releases once
      assert.ok((await bytesAt(b, 99_000, 1000)).equals(offsetBytes(99_000, 99_999)), 'the other lease still reads');
      assert.equal((await b.fh.stat()).size, 100_000);
      await b.fh.close();
      assert.deepEqual(openFileCountsForTests(), { kept: 1, leased: 0 });
      assert.equal(openDescriptorsOn(file), 1, 'kept for the next request');
      await closeIdleOpenFiles();
      assert.equal(openDescriptorsOn(file), 0);
    });
  });

  describe('when the path no longer names the kept file', () => {
    it('a file replaced by a rename is opened anew; a response reading the old one goes on with the old bytes', async () => {
      const old = await openInside(root, file);
      const next = path.join(root, 'next.tmp');
      await writeFile(next, Buffer.alloc(5000, 7));
      await rename(next, file);
      const now = await openInside(root, file);
      assert.equal(now.stats.size, 5000, 'the new file’s own stats');
      assert.ok((await bytesAt(now, 0, 10)).equals(Buffer.alloc(10, 7)));
      assert.ok((await bytesAt(old, 0, 10)).equals(offsetBytes(0, 9)), 'the old response reads the file it started on');
      assert.equal(openDescriptorsOn(file), 2);
      await old.fh.close();
      assert.equal(openDescriptorsOn(file), 1, 'the replaced file is closed with its last lease');
      await now.fh.close();
    });

    it('a file changed in place is given with its new stats', async () => {
      await (await openInside(root, file)).fh.close();
      await appendFile(file, Buffer.alloc(100, 1));
      const f = await openInside(root, file);
      assert.equal(f.stats.size, 100_100);
      assert.equal((await f.fh.stat()).size, 100_100);
      await f.fh.close();
      await closeIdleOpenFiles();
      assert.equal(openDescriptorsOn(file), 0, 'the dropped handle and the new one are both closed');
    });

    it('a symlink swapped in that leads out of the root is refused (EPATHESCAPE), and the kept handle is not given out', async () => {
      await (await openInside(root, file)).fh.close();
      await rename(file, `${file}.bak`);
      await symlink(outside, file);
      assert.equal(await errorCodeOf(openInside(root, file)), 'EPATHESCAPE');
      assert.equal(openDescriptorsOn(outside), 0, 'the refused handle is closed');
      assert.ok(await eventually(() => openDescriptorsOn(`${file}.bak`) === 0), 'the dropped kept handle is closed');
      assert.equal(openFileCountsForTests().kept, 0);
      await rm(file);
      await rename(`${file}.bak`, file);
    });

    it('a removed file is the file system’s own error (ENOENT), and its kept handle is closed', async () => {
      await (await openInside(root, file)).fh.close();
      await rm(file);
      assert.equal(await errorCodeOf(openInside(root, file)), 'ENOENT');
      await closeIdleOpenFiles();
      assert.equal(openDescriptorsOn(file), 0);
    });

    it('a folder swapped in is refused (ENOTREG)', async () => {
      await (await openInside(root, file)).fh.close();
      await rm(file);
      await mkdir(file);
      assert.equal(await errorCodeOf(openInside(root, file)), 'ENOTREG');
      await rm(file, { recursive: true });
    });
  });

  describe('what is kept is bounded', () => {
    it(`at most ${MAX_KEPT} files are kept; the oldest are closed`, async () => {
      const dir = path.join(root, 'many');
      await mkdir(dir, { recursive: true });
      const files = Array.from({ length: MAX_KEPT + 8 }, (_, i) => path.join(dir, `f${i}.mp4`));
      for (const f of files) await writeFile(f, 'x');
      for (const f of files) await (await openInside(root, f)).fh.close();
      assert.equal(openFileCountsForTests().kept, MAX_KEPT);
      // The closes of the oldest run on the pool.
      assert.ok(await eventually(() => files.slice(0, 8).reduce((n, f) => n + openDescriptorsOn(f), 0) === 0), 'the oldest are closed');
      assert.equal(files.slice(8).reduce((n, f) => n + openDescriptorsOn(f), 0), MAX_KEPT);
      await closeIdleOpenFiles();
      await rm(dir, { recursive: true });
    });

    it(`a kept file is closed once no lease has held it for ${IDLE_MS / 1000} s, and never while a lease holds it`, async () => {
      let now = 1_000_000;
      const files = new OpenFiles(() => now);
      const kept = files.keep(root, file, await openUnkeptForTests(root, file));
      const other = path.join(root, 'other.mp4');
      await writeFile(other, 'y');
      const held = files.keep(root, other, await openUnkeptForTests(root, other));
      await kept.fh.close();
      now += IDLE_MS - 1;
      await files.closeIdle(now - IDLE_MS);
      assert.equal(openDescriptorsOn(file), 1, 'not idle long enough yet');
      now += 2;
      await files.closeIdle(now - IDLE_MS);
      assert.equal(openDescriptorsOn(file), 0, 'idle: closed');
      assert.equal(openDescriptorsOn(other), 1, 'a leased file stays open however old');
      assert.deepEqual(files.counts(), { kept: 1, leased: 1 });
      await held.fh.close();
      await files.closeIdle();
      assert.equal(openDescriptorsOn(other), 0);
    });

    it('a file forgotten (the cache tier removed it) is closed when its last lease closes', async () => {
      const files = new OpenFiles();
      const a = files.keep(root, file, await openUnkeptForTests(root, file));
      files.forget(file);
      assert.equal(files.reuse(root, file), undefined, 'not given out again');
      assert.equal(openDescriptorsOn(file), 1, 'still read by its response');
      await a.fh.close();
      assert.equal(openDescriptorsOn(file), 0);
    });
  });

  describe('when the first open of a device was made before it was known to be local', () => {
    it('the kept file is reused on the event loop, and said to be local, once it is known', async () => {
      let known = false;
      const files = new OpenFiles(Date.now, () => known);
      const first = await openUnkeptForTests(root, file);
      await files.keep(root, file, { ...first, local: false }).fh.close();
      const unknown = files.reuse(root, file);
      assert.ok(unknown instanceof Promise, 'not known yet: the stat goes to the pool');
      await (await unknown)?.fh.close();
      known = true;
      const known2 = files.reuse(root, file);
      assert.ok(known2 !== undefined && !(known2 instanceof Promise), 'known local: checked on the loop');
      assert.equal(known2.local, true, 'so its bytes may be read and sent from the loop');
      await known2.fh.close();
      await files.closeIdle();
    });
  });

  describe('on a network mount', () => {
    it('the path is checked with a stat on the pool, and a replaced file is opened anew', async () => {
      const files = new OpenFiles(Date.now, () => false);
      const first = await openUnkeptForTests(root, file);
      await files.keep(root, file, { ...first, local: false }).fh.close();
      const again = files.reuse(root, file);
      assert.ok(again instanceof Promise, 'a network file’s stat waits on the pool');
      const f = await again;
      assert.ok(f && f.local === false);
      assert.ok((await bytesAt(f, 10, 5)).equals(offsetBytes(10, 14)));
      await f.fh.close();
      await writeFile(path.join(root, 'n.tmp'), 'new');
      await rename(path.join(root, 'n.tmp'), file);
      assert.equal(await files.reuse(root, file), undefined, 'another file now: opened anew by the caller');
      assert.ok(await eventually(() => openDescriptorsOn(file) === 0), 'the dropped handle is closed');
      assert.deepEqual(files.counts(), { kept: 0, leased: 0 });
    });
  });
});
