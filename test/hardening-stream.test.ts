/**
 * Regression tests for the streaming path met as an attacker and a careless client meet it: a catalogued
 * file swapped for a symlink, a socket closed right after the request bytes, a long GET whose session
 * ends under it, a disable from the users CLI while the server runs, and malformed requests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { loadConfig, PROJECT_ROOT } from '../app/config/config.ts';
import { usePortableCheckForTests } from '../app/library/safe-open.ts';
import { createLogger } from '../app/log.ts';
import { eventually, offsetBytes, tempDir, writeOffsetFile } from './helpers/fixtures.ts';
import { openAndPause } from './helpers/raw-http.ts';
import { ManualClock, startTestServer, type TestServer } from './helpers/server.ts';

const run = promisify(execFile);

async function viewer(ts: TestServer, name: string): Promise<{ id: string; token: string }> {
  const u = await ts.server.auth.createUser({ username: name, password: `${name}-password`, role: 'viewer', status: 'active' });
  return { id: u.id, token: await ts.login(name, `${name}-password`) };
}

async function startSession(ts: TestServer, contentId: string, token: string): Promise<string> {
  const res = await ts.request(`/api/stream/${contentId}/start`, { method: 'POST', as: token });
  assert.equal(res.status, 201, res.body.toString());
  return res.json<{ session_id: string }>().session_id;
}

/** Open file descriptors of this process (the server runs in it). */
async function openFds(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

/** The open descriptor count once it has held still for 200 ms (at most 5 s). */
async function settledFds(): Promise<number> {
  let last = await openFds();
  for (let still = 0, tries = 0; still < 4 && tries < 100; tries++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = await openFds();
    still = now === last ? still + 1 : 0;
    last = now;
  }
  return last;
}


/** Sends a GET on a raw socket and destroys the socket `afterMs` after the last request byte left. */
function sendAndHangUp(ts: TestServer, pathname: string, headers: Record<string, string>, afterMs: number): Promise<void> {
  const { hostname, port } = new URL(ts.url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      const lines = [`GET ${pathname} HTTP/1.1`, `Host: ${hostname}:${port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
      socket.write(lines.join('\r\n'), () => {
        if (afterMs === 0) socket.destroy();
        else setTimeout(() => socket.destroy(), afterMs);
      });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

describe('when a catalogued video is swapped for a symlink to a file outside the library', () => {
  let ts: TestServer;
  let secret: string;
  before(async () => {
    ts = await startTestServer(async (lib) => {
      await writeOffsetFile(path.join(lib, 'clip.mp4'), 200_000);
      await mkdir(path.join(lib, 'day1'));
      await writeOffsetFile(path.join(lib, 'day1', 'episode.mp4'), 50_000);
    });
    secret = await readFile(path.join(ts.dataDir, 'jwt-secret'), 'utf8');
  });
  after(async () => {
    usePortableCheckForTests(false);
    await ts.close();
  });

  const swapTo = async (rel: string, target: string): Promise<void> => {
    const file = path.join(ts.libraryDir, rel);
    await rename(file, `${file}.bak`);
    await symlink(target, file);
  };
  const restore = async (rel: string): Promise<void> => {
    const file = path.join(ts.libraryDir, rel);
    await rm(file);
    await rename(`${file}.bak`, file);
  };

  for (const check of ['the /proc handle check', 'the portable device-and-inode check'] as const) {
    it(`the token secret and the database are never served, right after a good request (${check})`, async () => {
      usePortableCheckForTests(check !== 'the /proc handle check');
      const id = ts.idOf('clip.mp4');
      const good = await ts.request(`/api/stream/${id}`, { headers: { range: 'bytes=0-99' } });
      assert.equal(good.status, 206);
      assert.deepEqual(good.body, offsetBytes(0, 99));
      for (const target of [path.join(ts.dataDir, 'jwt-secret'), path.join(ts.dataDir, 'wsoptv.db'), path.join(ts.dataDir, 'wsoptv.db-wal')]) {
        await swapTo('clip.mp4', target);
        try {
          const res = await ts.request(`/api/stream/${id}`, { headers: { range: 'bytes=0-' } });
          assert.equal(res.status, 503, `${path.basename(target)} was answered ${res.status}`);
          assert.equal(res.json().error.code, 'STREAM_FILE_UNAVAILABLE');
          assert.ok(!res.body.toString('latin1').includes(secret.slice(0, 16)), 'no byte of the secret');
        } finally {
          await restore('clip.mp4');
        }
      }
      usePortableCheckForTests(false);
    });
  }

  it('a folder of the library swapped for a link to the data folder serves nothing from it', async () => {
    const id = ts.idOf('day1/episode.mp4');
    assert.equal((await ts.request(`/api/stream/${id}`, { headers: { range: 'bytes=0-9' } })).status, 206);
    const dir = path.join(ts.libraryDir, 'day1');
    // The attacker puts a file of the catalogued name in reach: here, the data folder holds one.
    await writeFile(path.join(ts.dataDir, 'episode.mp4'), 'not a video, and not to be served');
    await rename(dir, `${dir}.bak`);
    await symlink(ts.dataDir, dir);
    try {
      const res = await ts.request(`/api/stream/${id}`);
      assert.equal(res.status, 503);
    } finally {
      await rm(dir);
      await rename(`${dir}.bak`, dir);
      await rm(path.join(ts.dataDir, 'episode.mp4'));
    }
    assert.equal((await ts.request(`/api/stream/${id}`, { headers: { range: 'bytes=0-9' } })).status, 206);
  });

  it('a FIFO swapped in is refused at once and does not hang the server', async () => {
    const id = ts.idOf('clip.mp4');
    const fifo = path.join(ts.dataDir, 'pipe');
    await run('mkfifo', [fifo]);
    await swapTo('clip.mp4', fifo);
    try {
      const res = await ts.request(`/api/stream/${id}`, { headers: { range: 'bytes=0-9' } });
      assert.equal(res.status, 503);
    } finally {
      await restore('clip.mp4');
      await rm(fifo);
    }
  });

  it('while a file flips between the video and a link to the secret, every 206 carries the video’s bytes', async () => {
    const id = ts.idOf('clip.mp4');
    const file = path.join(ts.libraryDir, 'clip.mp4');
    const real = path.join(ts.libraryDir, 'clip.real');
    const evil = path.join(ts.libraryDir, 'clip.evil');
    await rename(file, real);
    await symlink(real, file);
    await symlink(path.join(ts.dataDir, 'jwt-secret'), evil);
    const good = path.join(ts.libraryDir, 'clip.good');
    let flipping = true;
    // rename(2) over the name is atomic: at every instant the name is one link or the other.
    const flipper = (async () => {
      let toEvil = true;
      while (flipping) {
        if (toEvil) {
          await symlink(path.join(ts.dataDir, 'jwt-secret'), `${evil}.n`).catch(() => undefined);
          await rename(`${evil}.n`, file).catch(() => undefined);
        } else {
          await symlink(real, good).catch(() => undefined);
          await rename(good, file).catch(() => undefined);
        }
        toEvil = !toEvil;
      }
    })();
    const seen = { ok: 0, refused: 0 };
    try {
      for (let i = 0; i < 300; i++) {
        const res = await ts.request(`/api/stream/${id}`, { headers: { range: 'bytes=0-85' } });
        if (res.status === 206) {
          assert.deepEqual(res.body, offsetBytes(0, 85), 'a 206 carried bytes that are not the video’s');
          seen.ok++;
        } else {
          assert.equal(res.status, 503);
          seen.refused++;
        }
      }
    } finally {
      flipping = false;
      await flipper;
      await rm(file, { force: true });
      await rm(evil, { force: true });
      await rename(real, file);
    }
    assert.ok(seen.refused > 0, 'the swap was seen at least once');
  });
});

describe('when the data folder lies inside a served root', () => {
  it('the server refuses to start, naming the setting', async () => {
    const tmp = await tempDir();
    try {
      const lib = path.join(tmp.dir, 'library');
      await mkdir(lib);
      assert.throws(() => loadConfig(['--library', lib, '--data', path.join(lib, 'data')], {}, tmp.dir), /--data: .*inside the library/);
      await symlink(lib, path.join(tmp.dir, 'alias'));
      assert.throws(() => loadConfig(['--library', path.join(tmp.dir, 'alias'), '--data', path.join(lib, 'd2')], {}, tmp.dir), /inside the library/);
      assert.throws(() => loadConfig(['--library', lib, '--data', path.join(tmp.dir, 'c', 'data'), '--cache', path.join(tmp.dir, 'c')], {}, tmp.dir), /--data: .*inside the cache folder/);
      // The default layout (the cache folder inside the data folder) is fine: the cache root does not hold the data.
      assert.doesNotThrow(() => loadConfig(['--library', lib, '--data', path.join(tmp.dir, 'data')], {}, tmp.dir));
    } finally {
      await tmp.cleanup();
    }
  });
});

describe('when a client closes its socket right after the request bytes', () => {
  let ts: TestServer;
  const clock = new ManualClock();
  before(async () => {
    ts = await startTestServer((lib) => writeOffsetFile(path.join(lib, 'big.mp4'), 4 * 1024 * 1024), ['--max-streams-per-user', '3', '--stale-after', '30s'], { clock: clock.now });
  });
  after(() => ts.close());

  it('no file descriptor is left open and no session stays pinned: the user is not locked out', async () => {
    const id = ts.idOf('big.mp4');
    const alice = await viewer(ts, 'alice');
    const sessions = [await startSession(ts, id, alice.token), await startSession(ts, id, alice.token), await startSession(ts, id, alice.token)];
    // The count to come back to, once the set-up's own connections have closed on both sides: a count taken
    // while they close would let the check below pass with hang-ups still unread, whose requests would then
    // touch their sessions after the clock moved.
    const before = await settledFds();
    const hangUps: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      const sid = sessions[i % 3]!;
      hangUps.push(sendAndHangUp(ts, `/api/stream/${id}?session=${sid}`, { Range: `bytes=${i * 1000}-` }, i % 3));
    }
    await Promise.all(hangUps);
    assert.ok(await eventually(async () => (await openFds()) <= before), `fds: ${before} before, ${await openFds()} after`);
    // Every request settled its session: silent past stale-after, each is stale (in flight 0) and replaceable.
    clock.advance(31_000);
    const active = ts.server.streams.activeSessions();
    assert.deepEqual(active.map((s) => s.stale), [true, true, true]);
    const fourth = await ts.request(`/api/stream/${id}/start`, { method: 'POST', as: alice.token });
    assert.equal(fourth.status, 201, `a stale session gave up its slot: ${fourth.body.toString()}`);
  });
});

describe('when a long GET is running and its stream is ended', () => {
  let ts: TestServer;
  const size = 24 * 1024 * 1024;
  before(async () => {
    ts = await startTestServer((lib) => writeOffsetFile(path.join(lib, 'long.mp4'), size));
  });
  after(() => ts.close());

  /** Starts a GET that reads a little and then stalls, as a slow player does; resolves when the server hangs up. */
  async function stalledGet(pathname: string, headers: Record<string, string>): Promise<{ closed: Promise<number> }> {
    const open = await openAndPause(ts, pathname, headers);
    assert.match(open.statusLine, /^HTTP\/1\.1 200/);
    return { closed: open.rest().then((all) => all.length) };
  }

  it('an admin ending the session cuts the response within a second', async () => {
    const id = ts.idOf('long.mp4');
    const bob = await viewer(ts, 'bob');
    const sid = await startSession(ts, id, bob.token);
    const { closed } = await stalledGet(`/api/stream/${id}?session=${sid}`, { Cookie: 'x=y' });
    const ended = await ts.request(`/api/admin/streams/${sid}`, { method: 'DELETE' });
    assert.equal(ended.status, 200);
    const t0 = Date.now();
    const received = await closed;
    assert.ok(Date.now() - t0 < 1_000, `cut after ${Date.now() - t0} ms`);
    assert.ok(received < size, `the whole file was sent (${received} bytes)`);
  });

  it('disabling the user cuts their Bearer GET (implicit session) within a second', async () => {
    const id = ts.idOf('long.mp4');
    const carol = await viewer(ts, 'carol');
    const { closed } = await stalledGet(`/api/stream/${id}`, { Authorization: `Bearer ${carol.token}` });
    assert.equal(ts.server.streams.activeSessions().filter((s) => s.userId === carol.id).length, 1);
    const res = await ts.request(`/api/admin/users/${carol.id}/disable`, { method: 'POST' });
    assert.equal(res.status, 200);
    const t0 = Date.now();
    assert.ok((await closed) < size);
    assert.ok(Date.now() - t0 < 1_000);
    assert.equal(ts.server.streams.activeSessions().filter((s) => s.userId === carol.id).length, 0);
  });
});

describe('when an operator disables a streaming user with `npm run users` while the server runs', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer((lib) => writeOffsetFile(path.join(lib, 'long.mp4'), 24 * 1024 * 1024));
  });
  after(() => ts.close());

  it('the running server ends their sessions, frees their slots and cuts their GET within seconds', async () => {
    const id = ts.idOf('long.mp4');
    const dave = await viewer(ts, 'dave');
    const sid = await startSession(ts, id, dave.token);
    await startSession(ts, id, dave.token);
    const open = await openAndPause(ts, `/api/stream/${id}?session=${sid}`);
    const closed = open.rest();
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'app/cmd/users.ts'), 'disable', 'dave', '--data', ts.dataDir, '--library', ts.libraryDir], { cwd: PROJECT_ROOT });
    assert.match(stdout, /disabled dave/);
    assert.ok(await eventually(() => ts.server.streams.activeSessions().every((s) => s.userId !== dave.id), 3_000), 'sessions still active');
    await closed;
    const ended = await ts.request(`/api/admin/metrics`);
    assert.equal(ended.json().active_streams, 0);
    const again = await ts.request(`/api/stream/${id}?session=${sid}`, { as: false, headers: { range: 'bytes=0-9' } });
    assert.equal(again.status, 403);
  });
});

describe('when a request is malformed in a way only a client can cause', () => {
  let ts: TestServer;
  const lines: Record<string, unknown>[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    ts = await startTestServer((lib) => writeOffsetFile(path.join(lib, 'a.mp4'), 1000), [], { log: createLogger('info', sink) });
  });
  after(() => ts.close());

  it('a path with broken percent-encoding is a 400 envelope, also without credentials', async () => {
    for (const p of ['/api/stream/%zz', '/api/stream/%E0%A4%A', '/api/stream/abc%']) {
      for (const as of [undefined, false] as const) {
        const res = await ts.request(p, { as });
        assert.ok(res.status === 400 || res.status === 404, `${p}: ${res.status}`);
        if (p !== '/api/stream/abc%') {
          assert.equal(res.status, 400, p);
          assert.equal(res.json().error.code, 'VALIDATION_FAILED');
          assert.deepEqual(res.json().error.details, { field: 'path', problem: 'is not valid percent-encoding' });
        }
      }
    }
  });

  it('a body whose gzip, deflate or br stream is corrupt is a 400 envelope and changes nothing', async () => {
    const json = Buffer.from(JSON.stringify({ username: 'mallory', password: 'mallory-password' }));
    const corrupt = (b: Buffer): Buffer => Buffer.concat([b.subarray(0, Math.min(12, b.length - 2)), Buffer.from('not compressed data at all')]);
    for (const [enc, packed] of [['gzip', gzipSync(json)], ['deflate', deflateSync(json)], ['br', brotliCompressSync(json)]] as const) {
      const res = await ts.request('/api/auth/register', { method: 'POST', as: false, headers: { 'content-type': 'application/json', 'content-encoding': enc }, body: corrupt(packed).toString('latin1') });
      assert.equal(res.status, 400, `${enc}: ${res.body.toString()}`);
      assert.equal(res.json().error.code, 'VALIDATION_FAILED');
    }
    assert.equal(ts.server.auth.listUsers().some((u) => u.username === 'mallory'), false);
  });

  it('none of them logs at ERROR or with a stack', () => {
    const bad = lines.filter((l) => l.level === 'ERROR' || l.level === 'FATAL' || JSON.stringify(l).includes('    at '));
    assert.deepEqual(bad, []);
    assert.ok(lines.some((l) => l.msg === 'client error'), 'client errors are logged as such');
  });
});
