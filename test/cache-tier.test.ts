/**
 * The SSD tier on two real temp folders, one as the NAS library and one as the SSD: promotion after
 * the popularity threshold, serving from the copy, eviction within the budget, copies being streamed,
 * invalidation, heads (also across their end and for a moov at the end), a NAS outage, a copy killed
 * half-way in a child process, the operator API and a restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { openInside } from '../app/library/index.ts';
import { copySample, eventually, offsetBytes, tempDir, writeOffsetFile } from './helpers/fixtures.ts';
import { openAndPause } from './helpers/raw-http.ts';
import { rawRequest, startTestServer, TEST_ADMIN_PASSWORD, type TestServer } from './helpers/server.ts';

const run = promisify(execFile);


/** Starts and ends one stream; returns the source it started on. */
async function play(ts: TestServer, id: string): Promise<string> {
  const res = await ts.request(`/api/stream/${id}/start`, { method: 'POST' });
  assert.equal(res.status, 201, res.body.toString());
  const s = res.json<{ session_id: string; source: string }>();
  await ts.request(`/api/stream/${id}/end`, { method: 'POST', body: { session_id: s.session_id } });
  return s.source;
}

const FAST = ['--promote-after', '3', '--promote-rate', '2GB', '--cache-reserve', '0'];

describe('when a video passes the popularity threshold', () => {
  let ts: TestServer;
  let ssd: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    ssd = await tempDir('wsoptv-ssd-');
    ts = await startTestServer((lib) => writeOffsetFile(path.join(lib, 'a.mp4'), 3 * 1024 * 1024 + 17), [...FAST, '--cache', ssd.dir, '--head-bytes', '0']);
  });
  after(async () => {
    await ts.close();
    await ssd.cleanup();
  });

  it('it is copied after the 3rd start and then served from the SSD, byte-identical to the NAS file', async () => {
    const id = ts.idOf('a.mp4');
    assert.deepEqual([await play(ts, id), await play(ts, id)], ['nas', 'nas']);
    assert.equal((await ts.request(`/api/admin/cache`)).json().entries.length, 0, 'two starts are not enough');
    assert.equal(await play(ts, id), 'nas');
    await ts.server.cache.idle();
    const start = await ts.request(`/api/stream/${id}/start`, { method: 'POST' });
    assert.equal(start.json().source, 'ssd');
    const whole = await ts.request(start.json().stream_url, { as: false });
    assert.equal(whole.status, 200);
    assert.deepEqual(whole.body, await readFile(path.join(ts.libraryDir, 'a.mp4')));
    const part = await ts.request(start.json().stream_url, { as: false, headers: { range: 'bytes=1048570-2097160' } });
    assert.deepEqual(part.body, offsetBytes(1048570, 2097160));
    const info = (await ts.request(`/api/stream/${id}/info`)).json();
    assert.equal(info.source, 'ssd');
    assert.equal(info.cache_hit, true);
    const copy = path.join(ssd.dir, 'copies', `${id}.mp4`);
    assert.equal((await stat(copy)).size, 3 * 1024 * 1024 + 17);
    assert.deepEqual(await readdir(path.join(ssd.dir, 'tmp')).catch(() => []), [], 'no temporary file is left');
  });

  it('the hit rate by starts and by bytes, promotions and copy rate show in the metrics', async () => {
    const m = (await ts.request('/api/admin/metrics')).json();
    assert.equal(m.cache.copies, 1);
    assert.equal(m.cache.promotions.popular, 1);
    assert.ok(m.cache.copy_mb_per_second > 0);
    assert.ok(m.cache.hit_rate_bytes > 0 && m.cache.hit_rate_bytes <= 1);
    assert.equal(m.cache_hit_rate, 0.25, 'one start of four came from the SSD');
    const text = (await ts.request('/metrics', { as: false })).body.toString();
    assert.match(text, /^wsoptv_cache_used_bytes \d+/m);
    assert.match(text, /^wsoptv_cache_promotions\{reason="popular"\} 1$/m);
    assert.match(text, /^wsoptv_ttfb_seconds_count\{source="ssd"\} [1-9]/m);
  });

  it('changing the NAS file invalidates its copy: the new bytes come from the NAS', async () => {
    const id = ts.idOf('a.mp4');
    await writeFile(path.join(ts.libraryDir, 'a.mp4'), Buffer.alloc(3000, 7));
    assert.equal((await ts.request('/api/admin/library/rescan', { method: 'POST' })).status, 200);
    const res = await ts.request(`/api/stream/${id}`, { headers: { range: 'bytes=0-9' } });
    assert.equal(res.status, 206);
    assert.deepEqual(res.body, Buffer.alloc(10, 7));
    assert.equal((await ts.request(`/api/stream/${id}/info`)).json().source, 'nas');
    assert.ok(await eventually(async () => (await ts.request('/api/admin/cache')).json().entries.length === 0));
    assert.equal((await ts.request('/api/admin/metrics')).json().cache.evictions.invalid, 1);
  });
});

describe('when the budget is full', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(async (lib) => {
      // Copies large enough that a paused reader cannot have taken a whole one into its socket buffers.
      for (const n of ['a', 'b', 'c']) await writeOffsetFile(path.join(lib, `${n}.mp4`), 24_000_000);
      await writeFile(path.join(lib, 'huge.mp4'), '');
      await truncate(path.join(lib, 'huge.mp4'), 70_000_000);
    }, [...FAST, '--cache-budget', '60MB', '--head-bytes', '0']);
  });
  after(() => ts.close());

  const held = async (): Promise<string[]> =>
    (await ts.request('/api/admin/cache')).json().entries.map((e: { content_id: string }) => e.content_id).sort();

  it('the copy of least value is evicted, the budget holds, and a copy being streamed is never evicted', async () => {
    const [a, b, c] = ['a.mp4', 'b.mp4', 'c.mp4'].map((f) => ts.idOf(f)) as [string, string, string];
    for (const id of [a, a, a, b, b, b, b, b]) await play(ts, id);
    await ts.server.cache.idle();
    assert.deepEqual(await held(), [a, b].sort());
    // Same size, and b has more starts (5 against a's 4 with the start below), so a's copy is the one of
    // least value; a paused GET of a's copy leases it, so b must go instead.
    const s = (await ts.request(`/api/stream/${a}/start`, { method: 'POST' })).json();
    assert.equal(s.source, 'ssd');
    const reading = await openAndPause(ts, s.stream_url);
    for (let i = 0; i < 3; i++) await play(ts, c);
    await ts.server.cache.idle();
    assert.deepEqual(await held(), [a, c].sort(), 'the streamed copy stayed, the other made room');
    const state = (await ts.request('/api/admin/cache')).json();
    assert.ok(state.used_bytes <= 60_000_000, `used ${state.used_bytes}`);
    assert.equal(state.entries.find((e: { content_id: string }) => e.content_id === a).streaming, true);
    const evict = await ts.request(`/api/admin/cache/${a}`, { method: 'DELETE' });
    assert.equal(evict.status, 409);
    assert.equal(evict.json().error.code, 'CACHE_ENTRY_IN_USE');
    reading.abort();
    assert.equal((await ts.request('/api/admin/metrics')).json().cache.evictions.budget, 1);
  });

  it('a video larger than the budget is never promoted, and a pin over budget is refused whole', async () => {
    const huge = ts.idOf('huge.mp4');
    for (let i = 0; i < 4; i++) await play(ts, huge);
    await ts.server.cache.idle();
    assert.equal((await held()).includes(huge), false);
    const before = await held();
    const pin = await ts.request(`/api/admin/cache/${huge}/pin`, { method: 'POST' });
    assert.equal(pin.status, 409);
    assert.equal(pin.json().error.code, 'CACHE_OVER_BUDGET');
    assert.deepEqual(pin.json().error.details, { content_id: huge, need_bytes: 70_000_000, room_bytes: 60_000_000 });
    assert.deepEqual(await held(), before, 'nothing was evicted for it');
    assert.deepEqual((await ts.request('/api/admin/cache')).json().pinned, []);
  });

  it('a pin copies at once and survives budget pressure; unpin and evict work; bad ids get the envelope', async () => {
    const b = ts.idOf('b.mp4');
    assert.equal((await ts.request(`/api/admin/cache/${b}/pin`, { method: 'POST' })).status, 202);
    await ts.server.cache.idle();
    assert.ok((await held()).includes(b));
    for (const f of ['a.mp4', 'c.mp4']) for (let i = 0; i < 3; i++) await play(ts, ts.idOf(f));
    await ts.server.cache.idle();
    assert.ok((await held()).includes(b), 'a pinned copy is never evicted');
    assert.equal((await ts.request(`/api/admin/cache/${b}/pin`, { method: 'DELETE' })).json().pinned, false);
    assert.equal((await ts.request(`/api/admin/cache/${b}`, { method: 'DELETE' })).status, 200);
    assert.ok(await eventually(async () => !(await held()).includes(b)));
    assert.equal((await ts.request(`/api/admin/cache/${b}`, { method: 'DELETE' })).json().error.code, 'CACHE_ENTRY_NOT_FOUND');
    assert.equal((await ts.request('/api/admin/cache/no-such-video/pin', { method: 'POST' })).status, 404);
    assert.equal((await ts.request('/api/admin/cache/%2e%2e/pin', { method: 'POST' })).status, 404);
    assert.equal((await ts.request('/api/admin/cache/x/pin', { method: 'PUT' })).status, 405);
    const viewer = await ts.server.auth.createUser({ username: 'vic', password: 'vic-password', role: 'viewer', status: 'active' });
    const token = await ts.login(viewer.username, 'vic-password');
    assert.equal((await ts.request('/api/admin/cache', { as: token })).status, 403);
  });
});

describe('when a video has its head on the SSD', () => {
  let ts: TestServer;
  let ssd: { dir: string; cleanup: () => Promise<void> };
  const moovAtEnd = 'moov-at-end.mp4';
  before(async () => {
    ssd = await tempDir('wsoptv-ssd-');
    ts = await startTestServer(
      async (lib) => {
        await copySample(lib, 'long.mp4', false);
        await writeOffsetFile(path.join(lib, 'not-a-video.mp4'), 200_000);
        await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '6', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', path.join(lib, moovAtEnd)]);
      },
      [...FAST, '--cache', ssd.dir, '--head-bytes', '65536'],
    );
    await ts.server.cache.idle();
  });
  after(async () => {
    await ts.close();
    await ssd.cleanup();
  });

  it('every playable video gets a head (a file that is not a video does not)', async () => {
    const heads = (await ts.request('/api/admin/cache')).json().entries.filter((e: { kind: string }) => e.kind === 'head');
    assert.deepEqual(heads.map((h: { content_id: string }) => h.content_id).sort(), [ts.idOf('long.mp4'), ts.idOf(moovAtEnd)].sort());
    assert.equal(heads.find((h: { content_id: string }) => h.content_id === ts.idOf('long.mp4')).size, 65536);
  });

  it('a range across the head’s end is served from both, byte-exact, with one Content-Length', async () => {
    const id = ts.idOf('long.mp4');
    const file = await readFile(path.join(ts.libraryDir, 'long.mp4'));
    for (const [a, b] of [[60_000, 70_000], [0, 299_999], [65_535, 65_536], [65_536, 65_600], [0, file.length - 1]] as const) {
      const res = await ts.request(`/api/stream/${id}`, { headers: { range: `bytes=${a}-${b}` } });
      assert.equal(res.status, 206);
      assert.equal(res.headers['content-length'], String(b - a + 1));
      assert.equal(res.headers['content-range'], `bytes ${a}-${b}/${file.length}`);
      assert.deepEqual(res.body, file.subarray(a, b + 1), `bytes ${a}-${b}`);
    }
  });

  it('the moov box at the end of a file is part of its head', async () => {
    const id = ts.idOf(moovAtEnd);
    const head = (await ts.request('/api/admin/cache')).json().entries.find((e: { content_id: string; kind: string }) => e.content_id === id && e.kind === 'head');
    assert.ok(head.size > 65536, `the head holds more than its leading bytes (${head.size})`);
  });

  it('with the NAS folder renamed away, heads answer their first bytes and the moov, the rest answers 503, and all comes back', async () => {
    const long = ts.idOf('long.mp4');
    const mp4 = ts.idOf(moovAtEnd);
    const file = await readFile(path.join(ts.libraryDir, moovAtEnd));
    const moovAt = file.lastIndexOf(Buffer.from('moov')) - 4;
    assert.ok(moovAt > 65536, 'ffmpeg put moov at the end');
    const away = `${ts.libraryDir}.away`;
    await rename(ts.libraryDir, away);
    try {
      const longBytes = await readFile(path.join(away, 'long.mp4'));
      const first = await ts.request(`/api/stream/${long}`, { headers: { range: 'bytes=0-' } });
      assert.equal(first.status, 206);
      assert.equal(first.headers['content-range'], `bytes 0-65535/${longBytes.length}`, 'a shorter 206: the head part alone');
      assert.deepEqual(first.body, longBytes.subarray(0, 65536));
      const moov = await ts.request(`/api/stream/${mp4}`, { headers: { range: `bytes=${moovAt}-` } });
      assert.equal(moov.status, 206);
      assert.deepEqual(moov.body, file.subarray(moovAt));
      const beyond = await ts.request(`/api/stream/${long}`, { headers: { range: 'bytes=100000-100999' } });
      assert.equal(beyond.status, 503);
      assert.equal(beyond.json().error.code, 'STREAM_FILE_UNAVAILABLE');
      assert.equal((await ts.request(`/api/stream/${long}/start`, { method: 'POST' })).status, 503);
      const alerts = (await ts.request('/api/admin/metrics')).json().alerts;
      assert.equal(alerts.find((a: { name: string }) => a.name === 'missing_file').firing, true);
    } finally {
      await rename(away, ts.libraryDir);
    }
    const back = await ts.request(`/api/stream/${long}`, { headers: { range: 'bytes=100000-100999' } });
    assert.equal(back.status, 206);
    assert.deepEqual(back.body, (await readFile(path.join(ts.libraryDir, 'long.mp4'))).subarray(100_000, 101_000));
  });
});

describe('when the NAS is away and a video has a whole copy', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(async (lib) => {
      await writeOffsetFile(path.join(lib, 'cached.mp4'), 150_000);
      await writeOffsetFile(path.join(lib, 'plain.mp4'), 150_000);
    }, [...FAST, '--head-bytes', '0']);
  });
  after(() => ts.close());

  it('the cached video plays from the SSD, the other answers 503 and comes back with the folder', async () => {
    const cached = ts.idOf('cached.mp4');
    const plain = ts.idOf('plain.mp4');
    for (let i = 0; i < 3; i++) await play(ts, cached);
    await ts.server.cache.idle();
    const away = `${ts.libraryDir}.away`;
    await rename(ts.libraryDir, away);
    try {
      const s = await ts.request(`/api/stream/${cached}/start`, { method: 'POST' });
      assert.equal(s.status, 201);
      assert.equal(s.json().source, 'ssd');
      const body = await ts.request(s.json().stream_url, { as: false, headers: { range: 'bytes=0-' } });
      assert.deepEqual(body.body, offsetBytes(0, 149_999));
      assert.equal((await ts.request(`/api/stream/${plain}`, { headers: { range: 'bytes=0-9' } })).status, 503);
      const rescan = await ts.request('/api/admin/library/rescan', { method: 'POST' });
      assert.equal(rescan.status, 503, 'a rescan of a missing root says so');
      assert.equal(rescan.json().library.reachable, false);
      assert.equal(typeof rescan.json().library.root_error, 'string');
      assert.equal(ts.server.library.list().length, 2, 'and changes nothing');
    } finally {
      await rename(away, ts.libraryDir);
    }
    assert.equal((await ts.request(`/api/stream/${plain}`, { headers: { range: 'bytes=0-9' } })).status, 206);
  });

  it('a copy deleted from the SSD by hand leaves the index at once and the NAS serves again', async () => {
    const cached = ts.idOf('cached.mp4');
    await rm(path.join(ts.dataDir, 'ssd-cache', 'copies', `${cached}.mp4`));
    assert.ok(await eventually(async () => (await ts.request('/api/admin/cache')).json().entries.length === 0, 3_000));
    assert.equal((await ts.request(`/api/stream/${cached}/info`)).json().source, 'nas');
    assert.equal((await ts.request('/api/admin/metrics')).json().cache.evictions.missing, 1);
  });
});

describe('when a NAS open hangs (a dead mount)', () => {
  let ts: TestServer;
  let hung = 0;
  before(async () => {
    ts = await startTestServer(
      async (lib) => {
        await writeOffsetFile(path.join(lib, 'dead.mp4'), 100_000);
        await writeOffsetFile(path.join(lib, 'alive.mp4'), 3_000_000);
      },
      ['--nas-timeout', '1s'],
      {
        // Opens of dead.mp4 never come back, as on a mount whose server went away.
        openNas: (root, file) => {
          if (file.endsWith('dead.mp4')) {
            hung++;
            return new Promise(() => undefined);
          }
          return openInside(root, file);
        },
      },
    );
  });
  after(() => ts.close());

  it('the request answers 503 after --nas-timeout, and other viewers keep streaming meanwhile', async () => {
    const t0 = Date.now();
    const dead = ts.request(`/api/stream/${ts.idOf('dead.mp4')}`, { headers: { range: 'bytes=0-9' } });
    const alive: Promise<number>[] = [];
    for (let i = 0; i < 5; i++) alive.push(ts.request(`/api/stream/${ts.idOf('alive.mp4')}`, { headers: { range: `bytes=${i * 500_000}-${i * 500_000 + 99_999}` } }).then((r) => r.status));
    assert.deepEqual(await Promise.all(alive), [206, 206, 206, 206, 206]);
    assert.ok(Date.now() - t0 < 900, 'the others did not wait for the hung open');
    const res = await dead;
    assert.equal(res.status, 503);
    assert.equal(res.json().error.code, 'STREAM_FILE_UNAVAILABLE');
    assert.ok(Date.now() - t0 >= 950, 'it waited for the timeout');
    assert.equal(hung, 1);
    assert.equal((await ts.request(`/api/stream/${ts.idOf('dead.mp4')}/start`, { method: 'POST' })).status, 503);
  });

  it('past a few hung opens, new NAS opens are refused at once, so the hung ones cannot take every thread', async () => {
    const dead = ts.idOf('dead.mp4');
    // Two hung opens are pending from the test above; two more reach the limit of four.
    await Promise.all([0, 1].map(() => ts.request(`/api/stream/${dead}`, { headers: { range: 'bytes=0-9' } })));
    assert.equal(hung, 4);
    const t0 = Date.now();
    const res = await ts.request(`/api/stream/${dead}`, { headers: { range: 'bytes=0-9' } });
    assert.equal(res.status, 503);
    assert.ok(Date.now() - t0 < 500, `refused at once (${Date.now() - t0} ms)`);
    assert.equal(hung, 4, 'no fifth open was attempted');
    const ok = await ts.request(`/api/stream/${ts.idOf('alive.mp4')}`, { headers: { range: 'bytes=0-99' } });
    assert.equal(ok.status, 503, 'the NAS as a whole is not answering: a plain NAS read is refused too');
  });
});

describe('when a viewer passes 70 % of an episode', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(async (lib) => {
      await mkdir(path.join(lib, 'Main Event'));
      for (const n of ['Day 1', 'Day 2', 'Day 10']) await copySample(path.join(lib, 'Main Event'), `${n}.mp4`, false);
    }, [...FAST, '--head-bytes', '0']);
  });
  after(() => ts.close());

  it('the next one of the folder (natural order: Day 2 after Day 1, Day 10 last) is copied before it is asked for', async () => {
    const day1 = ts.idOf('Main Event/Day 1.mp4');
    const day2 = ts.idOf('Main Event/Day 2.mp4');
    const duration = (await ts.request(`/api/stream/${day1}/info`)).json().duration_seconds as number;
    const s = (await ts.request(`/api/stream/${day1}/start`, { method: 'POST' })).json();
    await ts.request(`/api/stream/${day1}/heartbeat`, { method: 'POST', body: { session_id: s.session_id, position: duration * 0.5 } });
    await ts.server.cache.idle();
    assert.equal((await ts.request('/api/admin/cache')).json().entries.length, 0, 'not at half-way');
    await ts.request(`/api/stream/${day1}/heartbeat`, { method: 'POST', body: { session_id: s.session_id, position: duration * 0.75 } });
    await ts.server.cache.idle();
    const entries = (await ts.request('/api/admin/cache')).json().entries;
    assert.deepEqual(entries.map((e: { content_id: string }) => e.content_id), [day2]);
    assert.equal((await ts.request(`/api/stream/${day2}/start`, { method: 'POST' })).json().source, 'ssd');
  });
});

describe('when the server restarts', () => {
  it('a valid copy is served at once without a new copy, and a copy changed on disk is dropped', async () => {
    const first = await startTestServer(async (lib) => {
      await writeOffsetFile(path.join(lib, 'keep.mp4'), 120_000);
      await writeOffsetFile(path.join(lib, 'tamper.mp4'), 120_000);
    }, [...FAST, '--head-bytes', '0']);
    const dirs = { libraryDir: first.libraryDir, dataDir: first.dataDir };
    const keep = first.idOf('keep.mp4');
    const tamper = first.idOf('tamper.mp4');
    for (const id of [keep, keep, keep, tamper, tamper, tamper]) await play(first, id);
    await first.server.cache.idle();
    await first.server.close(100);
    await writeFile(path.join(dirs.dataDir, 'ssd-cache', 'copies', `${tamper}.mp4`), 'truncated');
    const second = await startTestServer(undefined, [...FAST, '--head-bytes', '0'], { dirs });
    try {
      assert.equal(await play(second, keep), 'ssd');
      assert.equal(await play(second, tamper), 'nas');
      const m = (await second.request('/api/admin/metrics')).json().cache;
      assert.equal(m.promotions.popular, 0, 'nothing was copied again');
      assert.equal(m.evictions.invalid, 1);
    } finally {
      await second.close();
      await rm(path.dirname(dirs.dataDir), { recursive: true, force: true });
    }
  });
});

describe('when the process is killed during a copy', () => {
  it('the partial copy is never served and is removed at the next start', async () => {
    const tmp = await tempDir();
    const lib = path.join(tmp.dir, 'library');
    const data = path.join(tmp.dir, 'data');
    const ssd = path.join(tmp.dir, 'ssd');
    await mkdir(lib, { recursive: true });
    await writeOffsetFile(path.join(lib, 'big.mp4'), 8 * 1024 * 1024);
    const flags = ['--library', lib, '--data', data, '--cache', ssd, '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', '--head-bytes', '0', '--cache-reserve', '0', '--promote-rate', '1MB'];
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'app/cmd/serve.ts'), ...flags], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, WSOPTV_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      assert.ok(await eventually(() => /http:\/\/127\.0\.0\.1:\d+\//.test(out), 20_000), 'the child server started');
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(out)![0];
      const login = await rawRequest(`${url}/api/auth/login`, { method: 'POST', body: { username: 'admin', password: TEST_ADMIN_PASSWORD } });
      const token = login.json().token as string;
      const contents = await rawRequest(`${url}/api/contents`, { headers: { authorization: `Bearer ${token}` } });
      const id = contents.json().items[0].id as string;
      assert.equal((await rawRequest(`${url}/api/admin/cache/${id}/pin`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status, 202);
      let partName = '';
      const part = async (): Promise<number> => {
        const names = await readdir(path.join(ssd, 'tmp')).catch(() => [] as string[]);
        const n = names.find((x) => x.endsWith('.part'));
        if (n !== undefined) partName = n;
        return n === undefined ? 0 : (await stat(path.join(ssd, 'tmp', n))).size;
      };
      assert.ok(await eventually(async () => (await part()) > 1024 * 1024, 10_000), 'the copy is under way');
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      assert.ok((await part()) > 0 && (await part()) < 8 * 1024 * 1024, 'a partial copy is on the disk');

      // The pin stands, so the copy starts again; at the slowest rate it cannot finish during the checks below.
      const ts = await startTestServer(undefined, ['--cache', ssd, '--head-bytes', '0', '--promote-rate', '64KiB'], { dirs: { libraryDir: lib, dataDir: data } });
      try {
        const left = await readdir(path.join(ssd, 'tmp')).catch(() => [] as string[]);
        assert.ok(partName !== '' && !left.includes(partName), 'the old temporary file was removed at start');
        assert.equal((await ts.request('/api/admin/cache')).json().entries.length, 0, 'no entry for the partial copy');
        assert.equal((await ts.request(`/api/stream/${id}/info`)).json().source, 'nas');
        const res = await ts.request(`/api/stream/${id}`, { headers: { range: 'bytes=8388000-' } });
        assert.deepEqual(res.body, offsetBytes(8_388_000, 8 * 1024 * 1024 - 1));
      } finally {
        await ts.close();
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await tmp.cleanup();
    }
  });
});
