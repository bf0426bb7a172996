/**
 * A start from a sleeping NAS with the head on the SSD, as a browser makes it: the player's ranges come
 * in aligned blocks (Chromium asks for a moov at the end from the 32 KiB boundary before it), and /info,
 * /start and the first ranges arrive while the disk spins up. None of them may wait for the disk when the
 * head holds what they ask for. The NAS is played by an opener whose opens hang until the test wakes it.
 * And a seek past the head, the commonest range of all, neither opens the head file nor leaves it open;
 * while the disk wakes, a large head is handed out in steps.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, realpath, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { StreamPath } from '../app/cache/index.ts';
import { openInside, type Opener } from '../app/library/index.ts';
import { HEAD_ALONE_MAX_BYTES, sendVideo } from '../app/server/send-video.ts';
import { validatorsFor } from '../app/stream/range.ts';
import { copySample, eventually, tempDir } from './helpers/fixtures.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const HEAD = 65_536;

/** A library folder and an SSD folder with its heads/ under one temporary directory (real paths). */
async function libAndSsd(prefix: string): Promise<{ lib: string; ssd: string; cleanup: () => Promise<void> }> {
  const dirs = await tempDir(prefix);
  const lib = path.join(await realpath(dirs.dir), 'lib');
  const ssd = path.join(await realpath(dirs.dir), 'ssd');
  await mkdir(lib);
  await mkdir(path.join(ssd, 'heads'), { recursive: true });
  return { lib, ssd, cleanup: dirs.cleanup };
}

/** A real HTTP server on a loopback port that answers every request with sendVideo of `stream` (a failure as a 500). */
async function sendVideoServer(contentId: string, stream: StreamPath): Promise<{ base: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    sendVideo(req, res, contentId, stream).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('when the NAS disk sleeps and the video has its head on the SSD', () => {
  let ts: TestServer;
  let ssd: { dir: string; cleanup: () => Promise<void> };
  let opens = 0;
  let asleep = false;
  let wake = (): void => undefined;
  let woken: Promise<void> = Promise.resolve();
  const openNas: Opener = async (root, file) => {
    opens++;
    if (asleep) await woken;
    return openInside(root, file);
  };
  const sleepNas = (): void => {
    asleep = true;
    woken = new Promise((r) => (wake = r));
  };
  const wakeNas = (): void => {
    asleep = false;
    wake();
  };

  before(async () => {
    ssd = await tempDir('wsoptv-ssd-');
    ts = await startTestServer(
      async (lib) => {
        await copySample(lib, 'faststart.mp4', false);
        await promisify(execFile)('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '8', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', path.join(lib, 'moov-at-end.mp4')]);
      },
      ['--cache', ssd.dir, '--cache-reserve', '0', '--head-bytes', String(HEAD), '--nas-timeout', '30s'],
      { openNas },
    );
    await ts.server.cache.idle();
  });
  after(async () => {
    wakeNas();
    await ts.close();
    await ssd.cleanup();
  });
  beforeEach(() => {
    wakeNas();
    opens = 0;
  });

  it('the range a browser sends for a moov at the end (from the 32 KiB block before it) is answered from the head', async () => {
    const id = ts.idOf('moov-at-end.mp4');
    const file = await readFile(path.join(ts.libraryDir, 'moov-at-end.mp4'));
    const moovAt = file.lastIndexOf(Buffer.from('moov')) - 4;
    const blockStart = Math.floor(moovAt / 32_768) * 32_768;
    assert.ok(blockStart > HEAD && blockStart < moovAt, `the moov (at ${moovAt}) is past the leading bytes and not on a block boundary`);
    sleepNas();
    const res = await ts.request(`/api/stream/${id}`, { headers: { range: `bytes=${blockStart}-` } });
    assert.equal(res.status, 206);
    assert.equal(res.headers['content-range'], `bytes ${blockStart}-${file.length - 1}/${file.length}`);
    assert.deepEqual(res.body, file.subarray(blockStart));
    assert.equal(opens, 0, 'the NAS was not asked');
  });

  it('while the disk spins up, /info, /start and ranges the head answers do not wait for it again', async () => {
    const id = ts.idOf('faststart.mp4');
    sleepNas();
    // The first start waits a moment for the NAS (its open stays pending: the disk is waking) and goes ahead on the head.
    const first = await ts.request(`/api/stream/${id}/start`, { method: 'POST' });
    assert.equal(first.status, 201, first.body.toString());
    assert.equal(opens, 1);
    assert.equal((await ts.server.cache.getStreamPath(id)).nasWaitMs, 0, 'a range does not wait for a disk known to be waking');
    const info = await ts.request(`/api/stream/${id}/info`);
    assert.equal(info.status, 200);
    const again = await ts.request(`/api/stream/${id}/start`, { method: 'POST' });
    assert.equal(again.status, 201);
    assert.equal(opens, 1, 'neither /info nor the second /start opened the sleeping file again');
    for (let i = 0; i < 3; i++) {
      const range = await ts.request(first.json().stream_url, { as: false, headers: { range: 'bytes=0-' } });
      assert.equal(range.status, 206);
      assert.match(String(range.headers['content-range']), new RegExp(`^bytes 0-${HEAD - 1}/`), 'the head part alone');
    }
    assert.equal(opens, 1, 'nor did the ranges: the pending open wakes the disk for all of them');
    wakeNas();
    // Once the open lands the disk is awake: the next ranges wait their usual moment for it again.
    assert.ok(await eventually(async () => (await ts.server.cache.getStreamPath(id)).nasWaitMs > 0, 3_000));
    const full = await ts.request(first.json().stream_url, { as: false, headers: { range: 'bytes=0-' } });
    assert.equal(full.status, 206);
    assert.equal(full.body.length, (await readFile(path.join(ts.libraryDir, 'faststart.mp4'))).length);
  });
  it('seeks past the head while the disk spins up park one open on it between them, and all are answered once it wakes', async () => {
    const id = ts.idOf('faststart.mp4');
    const file = await readFile(path.join(ts.libraryDir, 'faststart.mp4'));
    const ranges = [1, 2, 3, 4, 5].map((i) => HEAD * 2 * i);
    sleepNas();
    const first = ts.request(`/api/stream/${id}`, { headers: { range: `bytes=${ranges[0]}-${ranges[0]! + 999}` } });
    // That open has been pending long enough for the tier to know the disk is waking.
    assert.ok(await eventually(async () => (await ts.server.cache.getStreamPath(id)).nasWaitMs === 0, 3_000));
    const rest = ranges.slice(1).map((at) => ts.request(`/api/stream/${id}`, { headers: { range: `bytes=${at}-${at + 999}` } }));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(opens, 1, 'the later seeks wait for the pending open instead of opening the sleeping file each');
    wakeNas();
    const answers = await Promise.all([first, ...rest]);
    answers.forEach((res, i) => {
      assert.equal(res.status, 206);
      assert.deepEqual(res.body, file.subarray(ranges[i]!, ranges[i]! + 1000));
    });
    assert.equal(opens, ranges.length, 'each opened the file for itself once it was awake');
  });
});

describe('when a range of a video with a head lies wholly past the head', () => {
  let ts: TestServer;
  let ssd: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    ssd = await tempDir('wsoptv-ssd-');
    ts = await startTestServer((lib) => copySample(lib, 'clip.mp4', false), ['--cache', ssd.dir, '--cache-reserve', '0', '--head-bytes', String(HEAD)]);
    await ts.server.cache.idle();
  });
  after(async () => {
    await ts.close();
    await ssd.cleanup();
  });

  /** This process's descriptors open on files under the SSD's heads folder (Linux: /proc/self/fd). */
  const headDescriptors = async (): Promise<number> => {
    const heads = path.join(await realpath(ssd.dir), 'heads') + path.sep;
    let n = 0;
    for (const fd of await readdir('/proc/self/fd')) {
      const to = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
      if (to.startsWith(heads)) n++;
    }
    return n;
  };

  it('the head file is not left open: each response closes every handle it opened', { skip: process.platform !== 'linux' }, async () => {
    const id = ts.idOf('clip.mp4');
    const file = await readFile(path.join(ts.libraryDir, 'clip.mp4'));
    for (let i = 0; i < 5; i++) {
      const at = HEAD + 10_000 * (i + 1);
      const res = await ts.request(`/api/stream/${id}`, { headers: { range: `bytes=${at}-${at + 999}` } });
      assert.equal(res.status, 206);
      assert.deepEqual(res.body, file.subarray(at, at + 1000));
    }
    assert.ok(await eventually(async () => (await headDescriptors()) === 0, 2_000), `${await headDescriptors()} descriptors still open on the head`);
  });
});

describe('when a range of a video with a head is answered, the head file is opened only for bytes it holds', () => {
  // sendVideo on a real server and real files, with a head whose file cannot be opened: whoever opens it
  // finds it gone, and says so through `stale`.
  let dirs: { lib: string; ssd: string; cleanup: () => Promise<void> };
  let server: { base: string; close: () => Promise<void> };
  let file: Buffer;
  let staleCalls = 0;
  before(async () => {
    dirs = await libAndSsd('wsoptv-head-');
    const { lib, ssd } = dirs;
    const full = await copySample(lib, 'clip.mp4', false);
    file = await readFile(full);
    const st = await stat(full);
    const stream: StreamPath = {
      path: full,
      root: lib,
      source: 'nas',
      mimeType: 'video/mp4',
      open: openInside,
      nasWaitMs: 150,
      nasTimeoutMs: 5_000,
      head: { path: path.join(ssd, 'heads', 'gone.mp4'), root: ssd, headLen: HEAD, moovOffset: null, moovLen: null, size: st.size, mtimeMs: st.mtimeMs, stale: () => void staleCalls++ },
    };
    server = await sendVideoServer('c_head', stream);
  });
  after(async () => {
    await server.close();
    await dirs.cleanup();
  });
  beforeEach(() => {
    staleCalls = 0;
  });

  it('a range wholly past the head (a seek into the body) is read from the NAS file without touching the head file', async () => {
    const at = HEAD + 50_000;
    const res = await fetch(`${server.base}/`, { headers: { range: `bytes=${at}-${at + 9_999}` } });
    assert.equal(res.status, 206);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), file.subarray(at, at + 10_000));
    assert.equal(staleCalls, 0, 'the head file was not opened, so it was not found gone');
  });

  it('a range the head holds finds the head file gone, says so, and is answered from the NAS file', async () => {
    const res = await fetch(`${server.base}/`, { headers: { range: 'bytes=0-9999' } });
    assert.equal(res.status, 206);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), file.subarray(0, 10_000));
    assert.equal(staleCalls, 1);
  });
});

describe('while the NAS sleeps, a head larger than one step is answered in steps', () => {
  // sendVideo on a real server over real files: a 6 MiB source and its 5 MiB head, with a NAS whose
  // opens hang until the test ends. Each range past the head's end gets at most HEAD_ALONE_MAX_BYTES.
  const HEAD_LEN = 5 * 1024 * 1024;
  let dirs: { lib: string; ssd: string; cleanup: () => Promise<void> };
  let server: { base: string; close: () => Promise<void> };
  let source: Buffer;
  let wake = (): void => undefined;
  before(async () => {
    dirs = await libAndSsd('wsoptv-head-steps-');
    const { lib, ssd } = dirs;
    source = randomBytes(6 * 1024 * 1024);
    const full = path.join(lib, 'video.mp4');
    await writeFile(full, source);
    await writeFile(path.join(ssd, 'heads', 'video.mp4'), source.subarray(0, HEAD_LEN));
    const st = await stat(full);
    const awake = new Promise<void>((r) => (wake = r));
    const stream: StreamPath = {
      path: full,
      root: lib,
      source: 'nas',
      mimeType: 'video/mp4',
      open: async (root, file) => {
        await awake;
        return openInside(root, file);
      },
      nasWaitMs: 20,
      nasTimeoutMs: 30_000,
      head: { path: path.join(ssd, 'heads', 'video.mp4'), root: ssd, headLen: HEAD_LEN, moovOffset: null, moovLen: null, size: st.size, mtimeMs: st.mtimeMs, stale: () => undefined },
    };
    server = await sendVideoServer('c_steps', stream);
  });
  after(async () => {
    wake();
    await server.close();
    await dirs.cleanup();
  });

  const get = async (range: string): Promise<{ status: number; contentRange: string | null; body: Buffer }> => {
    const res = await fetch(`${server.base}/`, { headers: { range } });
    return { status: res.status, contentRange: res.headers.get('content-range'), body: Buffer.from(await res.arrayBuffer()) };
  };

  it('an open-ended range from 0 walks the head in steps of HEAD_ALONE_MAX_BYTES, byte for byte, up to its end', async () => {
    assert.ok(HEAD_LEN > 2 * HEAD_ALONE_MAX_BYTES, 'the head takes several steps');
    for (let from = 0; from < HEAD_LEN; ) {
      const to = Math.min(from + HEAD_ALONE_MAX_BYTES, HEAD_LEN) - 1;
      const r = await get(`bytes=${from}-`);
      assert.equal(r.status, 206);
      assert.equal(r.contentRange, `bytes ${from}-${to}/${source.length}`);
      assert.deepEqual(r.body, source.subarray(from, to + 1));
      from = to + 1;
    }
  });

  it('a range the head holds whole is answered whole, however long', async () => {
    const r = await get(`bytes=100-${HEAD_LEN - 1}`);
    assert.equal(r.status, 206);
    assert.equal(r.contentRange, `bytes 100-${HEAD_LEN - 1}/${source.length}`);
    assert.deepEqual(r.body, source.subarray(100, HEAD_LEN));
  });
});

describe('when the NAS file has changed since its head was made', () => {
  // A head recorded for an older version of the file (another mtime): a seek past it reads the NAS file,
  // which answers with its own validators, and the head is reported stale.
  let dirs: { lib: string; ssd: string; cleanup: () => Promise<void> };
  let server: { base: string; close: () => Promise<void> };
  let file: Buffer;
  let staleCalls = 0;
  let current = '';
  before(async () => {
    dirs = await libAndSsd('wsoptv-head-changed-');
    const full = await copySample(dirs.lib, 'clip.mp4', false);
    file = await readFile(full);
    const st = await stat(full);
    current = validatorsFor(st.size, st.mtimeMs).etag;
    const stream: StreamPath = {
      path: full,
      root: dirs.lib,
      source: 'nas',
      mimeType: 'video/mp4',
      open: openInside,
      nasWaitMs: 150,
      nasTimeoutMs: 5_000,
      head: { path: path.join(dirs.ssd, 'heads', 'old.mp4'), root: dirs.ssd, headLen: HEAD, moovOffset: null, moovLen: null, size: st.size, mtimeMs: st.mtimeMs - 60_000, stale: () => void staleCalls++ },
    };
    server = await sendVideoServer('c_changed', stream);
  });
  after(async () => {
    await server.close();
    await dirs.cleanup();
  });

  it('a seek past the head answers with the NAS file’s own validators and drops the head', async () => {
    const at = HEAD + 20_000;
    const res = await fetch(`${server.base}/`, { headers: { range: `bytes=${at}-${at + 4_999}` } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('etag'), current, 'the validators of the file that was read, not of the head');
    assert.equal(res.headers.get('content-range'), `bytes ${at}-${at + 4_999}/${file.length}`);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), file.subarray(at, at + 5_000));
    assert.equal(staleCalls, 1);
  });

  it('a conditional seek with the head’s old ETag is not answered as if nothing had changed', async () => {
    const old = validatorsFor(file.length, (await stat(path.join(dirs.lib, 'clip.mp4'))).mtimeMs - 60_000).etag;
    const at = HEAD + 30_000;
    const res = await fetch(`${server.base}/`, { headers: { range: `bytes=${at}-${at + 999}`, 'if-range': old } });
    assert.equal(res.status, 200, 'If-Range with a stale tag gets the whole current file');
    assert.equal(res.headers.get('etag'), current);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), file);
  });
});
