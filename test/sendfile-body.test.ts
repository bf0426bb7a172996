/**
 * The sendfile body (app/server/sendfile-body.ts) on the real addon, a real HTTP server on loopback and
 * real files: which bytes go by sendfile and which are copied, a full socket, a client that leaves, a
 * pipelined second request, a file system sendfile refuses (an injected EINVAL, the one fault played
 * here), and that nothing stays open afterwards.
 */
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { constants } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FIRST_READ } from '../app/stream/file-body.ts';
import { SendfileBody } from '../app/server/sendfile-body.ts';
import { loadSendfile, type Sendfile } from '../app/stream/sendfile.ts';
import { offsetBytes, tempDir, writeOffsetFile, openDescriptorsOn } from './helpers/fixtures.ts';

const MIB = 1024 * 1024;

/** Socket fds of this process, by inode: a body in flight holds its connection twice (Node's fd and the duplicate). */
function socketFds(): Map<string, number> {
  const out = new Map<string, number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const link = readlinkSync(`/proc/self/fd/${fd}`);
      if (link.startsWith('socket:')) out.set(link, (out.get(link) ?? 0) + 1);
    } catch {
      // closed between readdir and readlink
    }
  }
  return out;
}
const duplicated = (): number => [...socketFds().values()].filter((n) => n > 1).length;
const fdsOn = openDescriptorsOn;

async function until(check: () => boolean, ms = 3_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

/** Every call the body made, by kind: sends on the pool and on the loop (with what they sent), waits for room. */
interface Calls {
  readonly pool: { errno: number; sent: number }[];
  readonly now: { errno: number; sent: number }[];
  waits: number;
}

/**
 * The real addon with every call recorded; `failFirst` makes the first send (either kind) answer that errno
 * without sending, the one fault played here (a file system sendfile cannot read).
 */
function recording(real: Sendfile, failFirst?: number): Sendfile & { calls: Calls } {
  const calls: Calls = { pool: [], now: [], waits: 0 };
  let failed = failFirst === undefined;
  const fault = (): boolean => (failed ? false : (failed = true));
  return {
    calls,
    dup: (fd) => real.dup(fd),
    close: (fd) => real.close(fd),
    shutdown: (fd) => real.shutdown(fd),
    cached: (fd, offset, count) => real.cached(fd, offset, count),
    readNow: (fd, buffer, offset) => real.readNow(fd, buffer, offset),
    poller: (fd) => real.poller(fd),
    closePoller: (p) => real.closePoller(p),
    whenWritable(p, done) {
      calls.waits++;
      return real.whenWritable(p, done);
    },
    sendNow(outFd, inFd, offset, count, result) {
      if (fault()) {
        result[0] = 0;
        result[1] = failFirst!;
      } else real.sendNow(outFd, inFd, offset, count, result);
      calls.now.push({ errno: result[1]!, sent: result[0]! });
    },
    send(outFd, inFd, offset, count, done) {
      if (fault()) {
        calls.pool.push({ errno: failFirst!, sent: 0 });
        setImmediate(() => done(failFirst!, 0));
        return;
      }
      real.send(outFd, inFd, offset, count, (errno, sent) => {
        calls.pool.push({ errno, sent });
        done(errno, sent);
      });
    },
  };
}

interface Outcome {
  readonly sent: number;
  readonly aborted: boolean;
  /** Bytes that went neither by a pool send nor by a loop send: read and written. */
  readonly copied: number;
}

describe('the sendfile body', () => {
  const loaded = loadSendfile();
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let file: string;
  const SIZE = 40 * MIB + 12_345; // more than a paused connection holds, so the socket really fills
  let server: Server;
  let port: number;
  let sf: ReturnType<typeof recording>;
  let outcomes: Outcome[] = [];

  before(async () => {
    tmp = await tempDir();
    file = path.join(tmp.dir, 'big.bin');
    await writeOffsetFile(file, SIZE);
    server = createServer(async (req, res) => {
      // `/start-end?where`: that range of the file as a 206; `local` lets cached bytes go from the loop,
      // `pool` sends every byte on the pool (a network mount). The body is the unit under test.
      const [, a, b, where] = /^\/(\d+)-(\d+)\?(local|pool)$/.exec(req.url ?? '') ?? [];
      const start = Number(a);
      const end = Number(b);
      const fh: FileHandle = await open(file, 'r');
      res.writeHead(206, { 'Content-Length': String(end - start + 1), 'Content-Range': `bytes ${start}-${end}/${SIZE}` });
      const calls = sf.calls;
      const pool0 = calls.pool.length;
      const now0 = calls.now.length;
      new SendfileBody([{ fh, start, end, local: where === 'local' }], res, sf, undefined, (sent, aborted) => {
        const viaPool = calls.pool.slice(pool0).reduce((t, c) => t + c.sent, 0);
        const viaNow = calls.now.slice(now0).reduce((t, c) => t + c.sent, 0);
        outcomes.push({ sent, aborted, copied: sent - viaPool - viaNow });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await tmp.cleanup();
  });

  /** Sends the raw request bytes on a fresh connection and returns everything read until it closes. */
  const fetchRaw = (request: string, opts: { pauseMs?: number; abortAfter?: number } = {}): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      let got = 0;
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        got += c.length;
        if (opts.pauseMs && got === c.length) {
          s.pause();
          setTimeout(() => s.resume(), opts.pauseMs);
        }
        if (opts.abortAfter !== undefined && got >= opts.abortAfter) s.destroy();
      });
      s.on('close', () => resolve(Buffer.concat(chunks)));
      s.on('error', opts.abortAfter !== undefined ? () => undefined : reject);
      s.write(request);
    });
  const get = (start: number, end: number, where: string, connection = 'close'): string =>
    `GET /${start}-${end}?${where} HTTP/1.1\r\nHost: x\r\nConnection: ${connection}\r\n\r\n`;
  const bodyOf = (raw: Buffer): Buffer => raw.subarray(raw.indexOf('\r\n\r\n') + 4);
  const fresh = (s: ReturnType<typeof recording>): void => {
    sf = s;
    outcomes = [];
  };

  it('loads on Linux, where the server uses it by default', () => {
    if (process.platform !== 'linux') {
      assert.equal(loaded.sendfile, null);
      return;
    }
    assert.notEqual(loaded.sendfile, null, `the addon did not load: ${loaded.why}`);
  });

  describe('with the addon', { skip: process.platform !== 'linux' ? 'sendfile(2) is Linux only' : false }, () => {
    it('bytes in the page cache of a local file go from the event loop; only the first 64 KiB is copied', async () => {
      fresh(recording(loaded.sendfile!));
      const start = 1_000_001;
      const end = start + 9 * MIB;
      const body = bodyOf(await fetchRaw(get(start, end, 'local')));
      assert.ok(body.equals(offsetBytes(start, end)), 'the body differs from the file');
      assert.ok(await until(() => outcomes.length === 1));
      assert.deepEqual(outcomes[0], { sent: end - start + 1, aborted: false, copied: FIRST_READ });
      assert.ok(sf.calls.now.length >= 4, `${sf.calls.now.length} sends on the loop`);
      assert.equal(sf.calls.pool.length, 0, 'cached bytes went through the pool');
      assert.ok(await until(() => fdsOn(file) === 0 && duplicated() === 0), 'a handle or the duplicate stayed open');
    });

    it('a network mount’s bytes go through the pool, whatever is cached', async () => {
      fresh(recording(loaded.sendfile!));
      const end = 5 * MIB;
      const body = bodyOf(await fetchRaw(get(0, end, 'pool')));
      assert.ok(body.equals(offsetBytes(0, end)), 'the body differs from the file');
      assert.ok(await until(() => outcomes.length === 1));
      assert.deepEqual(outcomes[0], { sent: end + 1, aborted: false, copied: FIRST_READ });
      assert.equal(sf.calls.now.length, 0);
      assert.ok(sf.calls.pool.length >= 1);
    });

    for (const where of ['local', 'pool']) {
      it(`(${where}) waits for room when the client stops reading, then goes on, every byte the file’s`, async () => {
        fresh(recording(loaded.sendfile!));
        const body = bodyOf(await fetchRaw(get(0, SIZE - 1, where), { pauseMs: 300 }));
        assert.equal(body.length, SIZE);
        assert.ok(body.equals(offsetBytes(0, SIZE - 1)), 'the body differs from the file');
        assert.ok(sf.calls.waits >= 1, 'the socket never filled: the test did not test the wait');
        assert.ok(await until(() => outcomes.length === 1));
        assert.deepEqual(outcomes[0], { sent: SIZE, aborted: false, copied: FIRST_READ });
      });

      it(`(${where}) a client that leaves mid-body: aborted, and the file and the duplicate are closed`, async () => {
        fresh(recording(loaded.sendfile!));
        const raw = await fetchRaw(get(0, SIZE - 1, where), { abortAfter: 3 * MIB });
        assert.ok(raw.length < SIZE);
        assert.ok(await until(() => outcomes.length === 1));
        assert.equal(outcomes[0]!.aborted, true);
        assert.ok(outcomes[0]!.sent < SIZE);
        assert.ok(await until(() => fdsOn(file) === 0 && duplicated() === 0), 'a handle or the duplicate stayed open');
      });

      it(`(${where}) two pipelined requests on one connection: each body in order, neither overtaking the other`, async () => {
        fresh(recording(loaded.sendfile!));
        const a = [5, 5 + 3 * MIB] as const;
        const b = [7 * MIB, 7 * MIB + 2 * MIB + 3] as const;
        const raw = await fetchRaw(get(a[0], a[1], where, 'keep-alive') + get(b[0], b[1], where));
        const first = raw.indexOf('\r\n\r\n') + 4;
        const firstEnd = first + (a[1] - a[0] + 1);
        assert.ok(raw.subarray(first, firstEnd).equals(offsetBytes(a[0], a[1])), 'the first body differs');
        const second = raw.indexOf('\r\n\r\n', firstEnd) + 4;
        assert.match(raw.subarray(firstEnd, second).toString('latin1'), /^HTTP\/1\.1 206 /);
        assert.ok(raw.subarray(second).equals(offsetBytes(b[0], b[1])), 'the second body differs');
        assert.ok(await until(() => outcomes.length === 2 && outcomes.every((o) => !o.aborted)));
      });

      it(`(${where}) a file sendfile cannot read (EINVAL before any byte): the body is copied instead, exactly`, async () => {
        fresh(recording(loaded.sendfile!, constants.errno.EINVAL));
        const end = 6 * MIB + 17;
        const body = bodyOf(await fetchRaw(get(3, end, where)));
        assert.ok(body.equals(offsetBytes(3, end)), 'the body differs from the file');
        assert.ok(await until(() => outcomes.length === 1));
        assert.equal(outcomes[0]!.copied, end - 3 + 1, 'after EINVAL every byte should be copied');
        assert.equal(sf.calls.pool.length + sf.calls.now.length, 1, 'no send after the refusal');
      });
    }
  });
});
