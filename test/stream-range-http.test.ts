/**
 * Range and conditional requests over real HTTP (SPEC §4 "Range semantics", RFC 9110 §13-§14), against files
 * whose byte i is i % 251, so every body can be checked byte for byte.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdir, open, rm, stat, truncate, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FileBody, FIRST_READ, MAX_READ } from '../app/stream/file-body.ts';
import { offsetBytes, tempDir, writeOffsetFile, openDescriptorsOn, heldDescriptorsOn } from './helpers/fixtures.ts';
import { openAndPause } from './helpers/raw-http.ts';
import { startTestServer, type RawResponse, type TestServer } from './helpers/server.ts';

const SMALL = 10_000;
const BIG = 3 * 1024 * 1024 + 4321; // several reads: 64 KiB, then doubling up to 1 MiB
const HUGE = 32 * 1024 * 1024; // more than loopback socket buffers hold, so a paused client really stalls the body
const MOV = 2_000;
const REPLACED = 1_000;
const TWO_53 = 2 ** 53;

let ts: TestServer;
const bigBytes = offsetBytes(0, BIG - 1);

before(async () => {
  ts = await startTestServer(async (lib) => {
    await writeOffsetFile(path.join(lib, 'small.mp4'), SMALL);
    await writeOffsetFile(path.join(lib, 'big.mp4'), BIG);
    await writeOffsetFile(path.join(lib, 'huge.mp4'), HUGE);
    await writeOffsetFile(path.join(lib, 'shrinks.mp4'), HUGE);
    await writeOffsetFile(path.join(lib, 'clip.mov'), MOV);
    await writeOffsetFile(path.join(lib, 'gone.mp4'), 500);
    await writeOffsetFile(path.join(lib, 'now-a-folder.mp4'), 500);
    await writeOffsetFile(path.join(lib, 'replaced.mp4'), REPLACED);
    await writeFile(path.join(lib, 'empty.mp4'), '');
  });
});
after(() => ts.close());

const streamPath = (rel: string): string => `/api/stream/${ts.idOf(rel)}`;
const get = (rel: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> =>
  ts.request(streamPath(rel), { method, headers });

function assertPartial(res: RawResponse, start: number, end: number, size: number, expected = offsetBytes(start, end)): void {
  assert.equal(res.status, 206);
  assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${size}`);
  assert.equal(res.headers['content-length'], String(end - start + 1));
  assert.equal(res.headers['accept-ranges'], 'bytes');
  assert.equal(res.body.length, end - start + 1);
  assert.ok(res.body.equals(expected), `body of ${start}-${end} differs from the file`);
}

function assertFull(res: RawResponse, size: number, expected = offsetBytes(0, size - 1)): void {
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-range'], undefined);
  assert.equal(res.headers['content-length'], String(size));
  assert.equal(res.headers['accept-ranges'], 'bytes');
  assert.equal(res.body.length, size);
  assert.ok(res.body.equals(expected), 'full body differs from the file');
}

function assertEnvelope(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json<{ error: { code: string; message: string } }>();
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  const text = res.body.toString('utf8');
  assert.ok(!text.includes(ts.libraryDir), 'the error body reveals the library path');
  assert.doesNotMatch(text, /\n\s+at |\.ts:\d+/, 'the error body carries a stack trace');
}

function assertUnsatisfiable(res: RawResponse, size: number): void {
  assertEnvelope(res, 416, 'RANGE_NOT_SATISFIABLE');
  assert.equal(res.headers['content-range'], `bytes */${size}`);
}

describe('the v1 §8.2 range table over HTTP (10000-byte file)', () => {
  const cases: [string, number, number][] = [
    ['bytes=0-1023', 0, 1023],
    ['bytes=0-', 0, SMALL - 1],
    ['bytes=-500', SMALL - 500, SMALL - 1],
    ['bytes=5000-5999', 5000, 5999],
  ];
  for (const [range, start, end] of cases) {
    it(`${range} → 206 ${start}-${end}`, async () => assertPartial(await get('small.mp4', { Range: range }), start, end, SMALL));
  }
  it('no Range → 200 with the whole file', async () => assertFull(await get('small.mp4'), SMALL));
});

describe('when the body spans many reads (3 MiB file)', () => {
  it('a whole-file GET is byte-exact', async () => assertFull(await get('big.mp4'), BIG, bigBytes));
  it('bytes=0- is byte-exact', async () => assertPartial(await get('big.mp4', { Range: 'bytes=0-' }), 0, BIG - 1, BIG, bigBytes));
  it('a range from the middle that crosses read boundaries is byte-exact', async () => {
    assertPartial(await get('big.mp4', { Range: 'bytes=1000003-2999999' }), 1_000_003, 2_999_999, BIG);
  });
  it('the last bytes by suffix are byte-exact', async () => {
    assertPartial(await get('big.mp4', { Range: 'bytes=-1500000' }), BIG - 1_500_000, BIG - 1, BIG);
  });
});

describe('when the range starts at or past the size (RFC 9110 §14.1.2)', () => {
  it('a start equal to the size is 416 with Content-Range bytes */size', async () => {
    assertUnsatisfiable(await get('small.mp4', { Range: `bytes=${SMALL}-` }), SMALL);
  });
  it('a start past the size is 416', async () => {
    assertUnsatisfiable(await get('small.mp4', { Range: `bytes=${SMALL + 1}-${SMALL + 100}` }), SMALL);
  });
  it('bytes=-0 (an empty suffix) is 416', async () => {
    assertUnsatisfiable(await get('small.mp4', { Range: 'bytes=-0' }), SMALL);
  });
  it('a reversed range (last below first) is 416', async () => {
    assertUnsatisfiable(await get('small.mp4', { Range: 'bytes=500-100' }), SMALL);
  });
  it('any range of an empty file is 416 with bytes */0', async () => {
    assertUnsatisfiable(await get('empty.mp4', { Range: 'bytes=0-' }), 0);
    assertUnsatisfiable(await get('empty.mp4', { Range: 'bytes=-5' }), 0);
  });
  it('an empty file without Range is 200 with no body', async () => {
    const res = await get('empty.mp4');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], '0');
    assert.equal(res.body.length, 0);
  });
});

describe('when the range reaches past the end', () => {
  it('a suffix longer than the file is the whole file as 206', async () => {
    assertPartial(await get('small.mp4', { Range: `bytes=-${SMALL * 3}` }), 0, SMALL - 1, SMALL);
  });
  it('an end past the size is clamped to the last byte', async () => {
    assertPartial(await get('small.mp4', { Range: `bytes=9000-${SMALL + 5000}` }), 9000, SMALL - 1, SMALL);
  });
  it('a one-byte range at the last byte is served', async () => {
    assertPartial(await get('small.mp4', { Range: `bytes=${SMALL - 1}-${SMALL - 1}` }), SMALL - 1, SMALL - 1, SMALL);
  });
});

describe('when the Range header is one the server does not honour (RFC 9110 §14.2: ignore it)', () => {
  const ignored: [string, string][] = [
    ['several ranges', 'bytes=0-1,5-6'],
    ['another unit', 'items=0-5'],
    ['no equals sign', 'bytes 0-5'],
    ['letters', 'bytes=abc-def'],
    ['a bare dash', 'bytes=-'],
    ['an empty set', 'bytes='],
    ['a negative start', 'bytes=--5'],
    ['a header longer than any player sends', `bytes=0-${'0'.repeat(300)}`],
  ];
  for (const [what, range] of ignored) {
    it(`${what} (${range.slice(0, 30)}) → 200 with the whole file`, async () => assertFull(await get('small.mp4', { Range: range }), SMALL));
  }
});

describe('when range numbers pass 2^53', () => {
  it('a start past 2^53 is 416', async () => {
    assertUnsatisfiable(await get('small.mp4', { Range: `bytes=${TWO_53 + 1}-` }), SMALL);
    assertUnsatisfiable(await get('small.mp4', { Range: 'bytes=123456789012345678901234567890-' }), SMALL);
  });
  it('an end past 2^53 is clamped to the last byte', async () => {
    assertPartial(await get('small.mp4', { Range: `bytes=100-${TWO_53 + 1}` }), 100, SMALL - 1, SMALL);
    assertPartial(await get('small.mp4', { Range: 'bytes=0-99999999999999999999999' }), 0, SMALL - 1, SMALL);
  });
  it('a suffix past 2^53 is the whole file', async () => {
    assertPartial(await get('small.mp4', { Range: `bytes=-${TWO_53 + 1}` }), 0, SMALL - 1, SMALL);
  });
});

describe('when the range unit is written in another case (units are case-insensitive, §14.1)', () => {
  for (const range of ['BYTES=10-19', 'Bytes=10-19', 'bYtEs=10-19']) {
    it(`${range} → 206 10-19`, async () => assertPartial(await get('small.mp4', { Range: range }), 10, 19, SMALL));
  }
});

describe('the validators every file answer carries', () => {
  it('a strong ETag, Last-Modified from the file, Accept-Ranges and the exact length', async () => {
    const res = await get('small.mp4');
    const st = await stat(path.join(ts.libraryDir, 'small.mp4'));
    assert.match(String(res.headers.etag), /^"[^"]+"$/, 'ETag must be strong and quoted');
    assert.equal(res.headers['last-modified'], new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString());
    assert.equal(res.headers['accept-ranges'], 'bytes');
    assert.equal(res.headers['content-length'], String(st.size));
  });
  it('the same file answers the same ETag on every request', async () => {
    const a = await get('small.mp4', {}, 'HEAD');
    const b = await get('small.mp4', { Range: 'bytes=0-0' });
    assert.equal(a.headers.etag, b.headers.etag);
    assert.equal(a.headers['last-modified'], b.headers['last-modified']);
  });
  it('different files have different ETags', async () => {
    const a = await get('small.mp4', {}, 'HEAD');
    const b = await get('big.mp4', {}, 'HEAD');
    assert.notEqual(a.headers.etag, b.headers.etag);
  });
  it('Content-Type is video/mp4 for an .mp4', async () => {
    assert.equal((await get('small.mp4', { Range: 'bytes=0-9' })).headers['content-type'], 'video/mp4');
  });
  it('Content-Type is video/quicktime for a .mov', async () => {
    const res = await get('clip.mov', { Range: 'bytes=100-199' });
    assert.equal(res.headers['content-type'], 'video/quicktime');
    assertPartial(res, 100, 199, MOV);
  });
});

describe('when If-Range is present (RFC 9110 §13.1.5)', () => {
  let etag: string;
  let lastModified: string;
  before(async () => {
    const head = await get('small.mp4', {}, 'HEAD');
    etag = String(head.headers.etag);
    lastModified = String(head.headers['last-modified']);
  });

  it('a fresh ETag keeps the range: 206', async () => {
    assertPartial(await get('small.mp4', { Range: 'bytes=100-199', 'If-Range': etag }), 100, 199, SMALL);
  });
  it('a stale ETag makes the answer the whole file: 200', async () => {
    assertFull(await get('small.mp4', { Range: 'bytes=100-199', 'If-Range': '"not-the-current-tag"' }), SMALL);
  });
  it('a weak ETag never matches (If-Range needs a strong comparison): 200', async () => {
    assertFull(await get('small.mp4', { Range: 'bytes=100-199', 'If-Range': `W/${etag}` }), SMALL);
  });
  it('a date equal to Last-Modified keeps the range: 206', async () => {
    assertPartial(await get('small.mp4', { Range: 'bytes=100-199', 'If-Range': lastModified }), 100, 199, SMALL);
  });
  it('a later date is stale (it could splice two versions): 200', async () => {
    const later = new Date(Date.parse(lastModified) + 60_000).toUTCString();
    assertFull(await get('small.mp4', { Range: 'bytes=100-199', 'If-Range': later }), SMALL);
  });
  it('an earlier date is stale: 200', async () => {
    const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    assertFull(await get('small.mp4', { Range: 'bytes=100-199', 'If-Range': earlier }), SMALL);
  });
  it('a value that is neither a tag nor a date is stale: 200', async () => {
    assertFull(await get('small.mp4', { Range: 'bytes=100-199', 'If-Range': 'yesterday' }), SMALL);
  });
  it('a stale If-Range with an unsatisfiable range is still the whole file, not 416', async () => {
    assertFull(await get('small.mp4', { Range: `bytes=${SMALL}-`, 'If-Range': '"stale"' }), SMALL);
  });
});

describe('when If-None-Match is present (RFC 9110 §13.1.2, weak comparison)', () => {
  let etag: string;
  before(async () => {
    etag = String((await get('small.mp4', {}, 'HEAD')).headers.etag);
  });
  const assertNotModified = (res: RawResponse): void => {
    assert.equal(res.status, 304);
    assert.equal(res.body.length, 0);
    assert.equal(res.headers.etag, etag);
  };

  it('the current ETag → 304 with no body', async () => assertNotModified(await get('small.mp4', { 'If-None-Match': etag })));
  it('* → 304', async () => assertNotModified(await get('small.mp4', { 'If-None-Match': '*' })));
  it('the weak form of the current ETag → 304', async () => assertNotModified(await get('small.mp4', { 'If-None-Match': `W/${etag}` })));
  it('the current ETag inside a list → 304', async () => {
    assertNotModified(await get('small.mp4', { 'If-None-Match': `"a", ${etag}, W/"b"` }));
  });
  it('304 also answers a request that carries a Range', async () => {
    assertNotModified(await get('small.mp4', { 'If-None-Match': etag, Range: 'bytes=0-9' }));
  });
  it('another ETag → the file as usual', async () => {
    assertPartial(await get('small.mp4', { 'If-None-Match': '"something-else"', Range: 'bytes=0-9' }), 0, 9, SMALL);
  });
  it('a non-matching If-None-Match overrides If-Modified-Since (§13.1.3)', async () => {
    const lm = String((await get('small.mp4', {}, 'HEAD')).headers['last-modified']);
    assertFull(await get('small.mp4', { 'If-None-Match': '"something-else"', 'If-Modified-Since': lm }), SMALL);
  });
});

describe('when If-Modified-Since is present (RFC 9110 §13.1.3)', () => {
  let lastModified: string;
  before(async () => {
    lastModified = String((await get('small.mp4', {}, 'HEAD')).headers['last-modified']);
  });
  it('a date equal to Last-Modified → 304', async () => {
    const res = await get('small.mp4', { 'If-Modified-Since': lastModified });
    assert.equal(res.status, 304);
    assert.equal(res.body.length, 0);
  });
  it('a later date → 304', async () => {
    const res = await get('small.mp4', { 'If-Modified-Since': new Date(Date.parse(lastModified) + 3_600_000).toUTCString() });
    assert.equal(res.status, 304);
  });
  it('an older date → 200 with the whole file', async () => {
    assertFull(await get('small.mp4', { 'If-Modified-Since': new Date(Date.parse(lastModified) - 3_600_000).toUTCString() }), SMALL);
  });
  it('an invalid date is ignored → 200', async () => {
    assertFull(await get('small.mp4', { 'If-Modified-Since': 'not a date' }), SMALL);
  });
});

describe('when a precondition fails (If-Match, If-Unmodified-Since → 412)', () => {
  let etag: string;
  let lastModified: string;
  before(async () => {
    const head = await get('small.mp4', {}, 'HEAD');
    etag = String(head.headers.etag);
    lastModified = String(head.headers['last-modified']);
  });
  it('If-Match with another tag → 412 envelope', async () => {
    assertEnvelope(await get('small.mp4', { 'If-Match': '"other"', Range: 'bytes=0-9' }), 412, 'PRECONDITION_FAILED');
  });
  it('If-Match with the weak form of the current tag → 412 (strong comparison)', async () => {
    assertEnvelope(await get('small.mp4', { 'If-Match': `W/${etag}` }), 412, 'PRECONDITION_FAILED');
  });
  it('If-Match with the current tag → the range is served', async () => {
    assertPartial(await get('small.mp4', { 'If-Match': etag, Range: 'bytes=20-29' }), 20, 29, SMALL);
  });
  it('If-Match * → the file is served', async () => assertFull(await get('small.mp4', { 'If-Match': '*' }), SMALL));
  it('If-Unmodified-Since before Last-Modified → 412', async () => {
    const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    assertEnvelope(await get('small.mp4', { 'If-Unmodified-Since': earlier }), 412, 'PRECONDITION_FAILED');
  });
  it('If-Unmodified-Since at Last-Modified → served', async () => {
    assertFull(await get('small.mp4', { 'If-Unmodified-Since': lastModified }), SMALL);
  });
});

describe('when the method is HEAD (same headers as GET, no body)', () => {
  const compared = ['content-type', 'content-length', 'content-range', 'accept-ranges', 'etag', 'last-modified', 'cache-control'];
  for (const range of [undefined, 'bytes=100-199', 'bytes=-300', `bytes=9000-${SMALL * 2}`]) {
    it(range ? `with Range ${range}` : 'without Range', async () => {
      const headers: Record<string, string> = range ? { Range: range } : {};
      const g = await get('small.mp4', headers);
      const h = await get('small.mp4', headers, 'HEAD');
      assert.equal(h.status, g.status);
      assert.equal(h.status, range ? 206 : 200);
      for (const name of compared) assert.equal(h.headers[name], g.headers[name], `${name} differs between HEAD and GET`);
      assert.equal(h.body.length, 0);
      assert.ok(g.body.length > 0);
    });
  }
  it('HEAD with an unsatisfiable range → 416 with Content-Range and no body', async () => {
    const res = await get('small.mp4', { Range: `bytes=${SMALL}-` }, 'HEAD');
    assert.equal(res.status, 416);
    assert.equal(res.headers['content-range'], `bytes */${SMALL}`);
    assert.equal(res.body.length, 0);
  });
});

/** Descriptors this process holds open on `file` (the server runs in this process). */

async function waitFor(check: () => boolean | Promise<boolean>, ms = 3_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe('when a client disconnects mid-body', () => {
  it('the file handle is closed and the next request is byte-exact', async () => {
    const huge = path.join(ts.libraryDir, 'huge.mp4');
    const canSeeFds = existsSync('/proc/self/fd');
    const open = await openAndPause(ts, streamPath('huge.mp4'), { Range: 'bytes=0-' });
    assert.match(open.statusLine, /^HTTP\/1\.1 206 /);
    if (canSeeFds) assert.ok(await waitFor(() => openDescriptorsOn(huge) === 1), 'the body should hold the file open while it is sent');
    open.abort();
    if (canSeeFds) assert.ok(await waitFor(async () => (await heldDescriptorsOn(huge)) === 0), 'the file handle leaked after the client went away');

    const start = HUGE - 2 * 1024 * 1024 - 7;
    assertPartial(await get('huge.mp4', { Range: `bytes=${start}-` }), start, HUGE - 1, HUGE);
    if (canSeeFds) assert.ok(await waitFor(async () => (await heldDescriptorsOn(huge)) === 0), 'a finished body left the file open');
  });
  it('many aborted seeks in a row leave nothing open and do not disturb a full read', async () => {
    for (let i = 0; i < 5; i++) {
      const open = await openAndPause(ts, streamPath('big.mp4'), { Range: `bytes=${i * 100_000}-` });
      open.abort();
    }
    assertFull(await get('big.mp4'), BIG, bigBytes);
    if (existsSync('/proc/self/fd')) {
      assert.ok(await waitFor(async () => (await heldDescriptorsOn(path.join(ts.libraryDir, 'big.mp4'))) === 0), 'aborted bodies left the file open');
    }
  });
});

describe('when the id does not name a catalogued file', () => {
  it('an unknown id → 404 CONTENT_NOT_FOUND', async () => {
    assertEnvelope(await ts.request('/api/stream/AAAAAAAAAAAA'), 404, 'CONTENT_NOT_FOUND');
  });
  it('an unknown id with a Range → 404, not 416', async () => {
    assertEnvelope(await ts.request('/api/stream/AAAAAAAAAAAA', { headers: { Range: 'bytes=0-9' } }), 404, 'CONTENT_NOT_FOUND');
  });
  for (const [what, id] of [
    ['an encoded path escape', '..%2F..'],
    ['an encoded escape to a real file', '..%2F..%2F..%2Fpackage.json'],
    ['a NUL byte', 'abc%00def'],
    ['a very long id', 'a'.repeat(5_000)],
    ['spaces and quotes', '%22%20or%201%3D1'],
  ] as const) {
    it(`${what} → 404`, async () => {
      const res = await ts.request(`/api/stream/${id}`);
      assertEnvelope(res, 404, 'CONTENT_NOT_FOUND');
      assert.ok(res.body.length < 1_000, 'the 404 should not echo a long id back');
    });
  }
  it('an unencoded ../ path does not reach a file → 404', async () => {
    const res = await ts.request('/api/stream/../../package.json');
    assert.equal(res.status, 404);
    assert.doesNotMatch(res.body.toString('utf8'), /wsoptv-stream-server/);
  });
});

describe('when the file was deleted after the scan', () => {
  it('the stream answers 503 STREAM_FILE_UNAVAILABLE with Retry-After, and so does /info', async () => {
    const id = ts.idOf('gone.mp4');
    assert.equal((await get('gone.mp4', { Range: 'bytes=0-9' })).status, 206);
    await rm(path.join(ts.libraryDir, 'gone.mp4'));
    const res = await ts.request(`/api/stream/${id}`, { headers: { Range: 'bytes=0-9' } });
    assertEnvelope(res, 503, 'STREAM_FILE_UNAVAILABLE');
    assert.ok(res.headers['retry-after'], 'a 503 should say when to retry');
    assert.doesNotMatch(res.body.toString('utf8'), /ENOENT|gone\.mp4/);
    const head = await ts.request(`/api/stream/${id}`, { method: 'HEAD' });
    assert.equal(head.status, 503);
    assertEnvelope(await ts.request(`/api/stream/${id}/info`), 503, 'STREAM_FILE_UNAVAILABLE');
  });
});

describe('when the catalogued file was replaced by a folder of the same name', () => {
  it('the stream answers 503 STREAM_FILE_UNAVAILABLE, not a directory listing or a 500', async () => {
    const id = ts.idOf('now-a-folder.mp4');
    const file = path.join(ts.libraryDir, 'now-a-folder.mp4');
    await rm(file);
    await mkdir(file);
    for (const method of ['GET', 'HEAD']) {
      const res = await ts.request(`/api/stream/${id}`, { method, headers: { Range: 'bytes=0-9' } });
      assert.equal(res.status, 503, method);
      if (method === 'GET') assertEnvelope(res, 503, 'STREAM_FILE_UNAVAILABLE');
    }
  });
});

describe('when a file is replaced with different bytes', () => {
  it('its ETag and Last-Modified change, stale validators stop matching, and the new bytes are served', async () => {
    const file = path.join(ts.libraryDir, 'replaced.mp4');
    const before = await get('replaced.mp4', {}, 'HEAD');
    const oldTag = String(before.headers.etag);
    const st = await stat(file);
    // Same size, different bytes, a clearly later mtime.
    const replacement = offsetBytes(5_000, 5_000 + REPLACED - 1);
    await writeFile(file, replacement);
    await utimes(file, st.atime, new Date(st.mtimeMs + 10_000));

    const now = await get('replaced.mp4', { Range: 'bytes=10-19' });
    assert.notEqual(now.headers.etag, oldTag);
    assert.notEqual(now.headers['last-modified'], before.headers['last-modified']);
    assertPartial(now, 10, 19, REPLACED, replacement.subarray(10, 20));
    // A player resuming with the old tag must get the whole new file, not a splice of two versions.
    assertFull(await get('replaced.mp4', { Range: 'bytes=10-19', 'If-Range': oldTag }), REPLACED, replacement);
    assert.equal((await get('replaced.mp4', { 'If-None-Match': oldTag })).status, 200);
    assert.equal((await get('replaced.mp4', { 'If-Match': oldTag })).status, 412);
  });
});

describe('when the file shrinks while its body is being sent', () => {
  it('the connection is cut short: the client gets a correct prefix, never padding or other bytes', async () => {
    const file = path.join(ts.libraryDir, 'shrinks.mp4');
    const open = await openAndPause(ts, streamPath('shrinks.mp4'), { Range: 'bytes=0-' });
    assert.match(open.statusLine, /^HTTP\/1\.1 206 /);
    // Past what the paused connection holds (the server's send buffer grows to 4 MiB here): bytes the socket
    // took before the cut are the file's as it was, and sendfile hands over pages, not copies, so a few MiB go.
    const keep = 16 * 1024 * 1024;
    await truncate(file, keep);
    const all = await open.rest();
    const headerEnd = all.indexOf('\r\n\r\n');
    const head = all.subarray(0, headerEnd).toString('latin1');
    assert.match(head, new RegExp(`content-length: ${HUGE}`, 'i'));
    const body = all.subarray(headerEnd + 4);
    assert.ok(body.length < HUGE, 'the body should be cut short, not completed');
    assert.ok(body.length <= keep, `got ${body.length} bytes of a file cut to ${keep}`);
    assert.ok(body.equals(offsetBytes(0, body.length - 1)), 'the bytes that did arrive must be the file’s');
    assert.ok(await waitFor(async () => !existsSync('/proc/self/fd') || (await heldDescriptorsOn(file)) === 0), 'the file handle leaked');
  });
});

describe('how the bodies leave', () => {
  const copying = process.env.WSOPTV_TEST_BODIES === 'copy';
  /** Connections this process holds by two fds: a sendfile body holds a duplicate of its socket while it runs. */
  const duplicatedSockets = (): number => {
    const seen = new Map<string, number>();
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        const link = readlinkSync(`/proc/self/fd/${fd}`);
        if (link.startsWith('socket:')) seen.set(link, (seen.get(link) ?? 0) + 1);
      } catch {
        // closed between readdir and readlink
      }
    }
    return [...seen.values()].filter((n) => n > 1).length;
  };
  it(copying ? 'with --sendfile off, read and written (no duplicated socket while a body runs)' : 'by sendfile on Linux (the body holds a duplicate of its socket while it runs)', { skip: process.platform !== 'linux' ? 'sendfile(2) and /proc are Linux only' : false }, async () => {
    const open = await openAndPause(ts, streamPath('huge.mp4'), { Range: 'bytes=0-' });
    assert.match(open.statusLine, /^HTTP\/1\.1 206 /);
    if (copying) {
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(duplicatedSockets(), 0);
    } else assert.ok(await waitFor(() => duplicatedSockets() === 1), 'no sendfile body is running');
    open.abort();
    assert.ok(await waitFor(() => duplicatedSockets() === 0), 'the duplicate outlived the response');
  });
});

describe('FileBody (the chunked reader behind every body)', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    tmp = await tempDir();
  });
  after(() => tmp.cleanup());

  const collect = (body: FileBody): Promise<{ chunks: Buffer[]; error: NodeJS.ErrnoException | undefined }> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      body.on('data', (c: Buffer) => chunks.push(c));
      body.once('end', () => resolve({ chunks, error: undefined }));
      body.once('error', (error: NodeJS.ErrnoException) => resolve({ chunks, error }));
    });
  const closed = async (fh: FileHandle): Promise<boolean> => {
    await new Promise((r) => setImmediate(r));
    return fh.fd === -1;
  };

  it('reads the range exactly, starting at 64 KiB and doubling up to 1 MiB, then closes the file', async () => {
    const file = path.join(tmp.dir, 'five-mib.bin');
    const size = 5 * 1024 * 1024;
    await writeOffsetFile(file, size);
    const fh = await open(file, 'r');
    const body = new FileBody(fh, 123, size - 1);
    const { chunks, error } = await collect(body);
    assert.equal(error, undefined);
    assert.ok(Buffer.concat(chunks).equals(offsetBytes(123, size - 1)));
    assert.equal(body.bytesRead, size - 123);
    const sizes = chunks.map((c) => c.length);
    assert.deepEqual(sizes.slice(0, 5), [FIRST_READ, FIRST_READ * 2, FIRST_READ * 4, FIRST_READ * 8, MAX_READ]);
    assert.equal(MAX_READ, FIRST_READ * 16);
    // Then whole 1 MiB reads, and whatever is left at the end.
    assert.ok(sizes.slice(4, -1).every((n) => n === MAX_READ), sizes.join(','));
    assert.ok(sizes.at(-1)! <= MAX_READ);
    assert.ok(await closed(fh), 'the file handle is still open');
  });
  it('a one-byte range is one byte', async () => {
    const file = path.join(tmp.dir, 'small.bin');
    await writeOffsetFile(file, 1000);
    const fh = await open(file, 'r');
    const { chunks } = await collect(new FileBody(fh, 999, 999));
    assert.deepEqual(Buffer.concat(chunks), offsetBytes(999, 999));
    assert.ok(await closed(fh));
  });
  it('a file shorter than the range fails with ESHRUNK after the bytes it had, and is closed', async () => {
    const file = path.join(tmp.dir, 'short.bin');
    await writeOffsetFile(file, 100_000);
    const fh = await open(file, 'r');
    const { chunks, error } = await collect(new FileBody(fh, 0, 299_999)); // as if the file had been 300,000 bytes
    assert.equal(error?.code, 'ESHRUNK');
    assert.ok(Buffer.concat(chunks).equals(offsetBytes(0, 99_999)));
    assert.ok(await closed(fh));
  });
  it('a read error ends the body with that error and still closes the handle', async () => {
    let closes = 0;
    const failing = {
      read: () => Promise.reject(Object.assign(new Error('input/output error'), { code: 'EIO' })),
      close: () => {
        closes++;
        return Promise.resolve();
      },
    } as unknown as FileHandle;
    const { chunks, error } = await collect(new FileBody(failing, 0, 1000));
    assert.equal(error?.code, 'EIO');
    assert.equal(chunks.length, 0);
    assert.equal(closes, 1);
  });
  it('destroying the body mid-way closes the handle', async () => {
    const file = path.join(tmp.dir, 'destroy.bin');
    await writeOffsetFile(file, 1_000_000);
    const fh = await open(file, 'r');
    const body = new FileBody(fh, 0, 999_999);
    await new Promise<void>((resolve) => body.once('data', () => resolve()));
    body.destroy();
    await new Promise((r) => body.once('close', r));
    assert.ok(await closed(fh));
  });
});
