/**
 * The error envelope of the HTTP API (SPEC §4: `{"error": {code, message, details?}}`, Korean or English by
 * Accept-Language, never a path or a stack), the health answer, and the SQLite schema's migrations.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { migrate, openDatabase, SchemaTooNew, type Db } from '../app/persistence/db.ts';
import { MIGRATIONS, type Migration } from '../app/persistence/migrations/index.ts';
import { ContentStore, type ContentRecord } from '../app/persistence/content-store.ts';
import { pickLang } from '../app/server/i18n.ts';
import { copySample, tempDir } from './helpers/fixtures.ts';
import { startTestServer, type RawResponse, type TestServer } from './helpers/server.ts';

const HANGUL = /[\uAC00-\uD7A3]/;

let ts: TestServer;
let id: string;
before(async () => {
  ts = await startTestServer(async (lib) => {
    await copySample(lib, 'final.mp4');
    await writeFile(path.join(lib, 'broken.mp4'), 'plain text, not a video');
  });
  id = ts.idOf('final.mp4');
});
after(() => ts.close());

/** Asserts the documented envelope, with nothing that leaks where files live or how the code runs. */
function assertEnvelope(res: RawResponse, status: number, code: string): { code: string; message: string; details?: Record<string, unknown> } {
  assert.equal(res.status, status, res.body.toString());
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json<{ error: { code: string; message: string; details?: Record<string, unknown> } }>();
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  for (const k of Object.keys(body.error)) assert.ok(['code', 'message', 'details'].includes(k), `unexpected field error.${k}`);
  assertNothingLeaks(res.body.toString('utf8'));
  return body.error;
}

function assertNothingLeaks(text: string): void {
  for (const p of [ts.libraryDir, ts.dataDir, PROJECT_ROOT]) assert.ok(!text.includes(p), `the body reveals ${p}`);
  assert.doesNotMatch(text, /\bat [\w.<>]+ \(|\.ts:\d+|node_modules|node:internal|\bstack\b/i, 'the body carries a stack');
  assert.doesNotMatch(text, /Unexpected token|SyntaxError|JSON\.parse/, 'the body carries a parser message');
}

describe('when no route answers an /api path (404 ROUTE_NOT_FOUND)', () => {
  for (const [method, p] of [
    ['GET', '/api/nope'],
    ['GET', '/api/contents/abc/extra/segments'],
    ['POST', '/api/nothing-here'],
    ['DELETE', '/api/'],
    ['GET', '/api/stream'],
  ] as const) {
    it(`${method} ${p}`, async () => {
      const e = assertEnvelope(await ts.request(p, { method }), 404, 'ROUTE_NOT_FOUND');
      assert.equal(e.details?.method, method);
    });
  }
});

describe('when a route exists but not for the method (405 with Allow)', () => {
  const cases: [string, () => string, string][] = [
    ['POST', () => '/api/contents', 'GET, HEAD'],
    ['DELETE', () => `/api/contents/${id}`, 'GET, HEAD'],
    ['PUT', () => '/api/health', 'GET, HEAD'],
    ['DELETE', () => `/api/stream/${id}`, 'GET, HEAD'],
    ['POST', () => `/api/stream/${id}/info`, 'GET, HEAD'],
    ['GET', () => `/api/stream/${id}/start`, 'POST'],
  ];
  for (const [method, p, allow] of cases) {
    it(`${method} on a ${allow} route`, async () => {
      const res = await ts.request(p(), { method });
      const e = assertEnvelope(res, 405, 'METHOD_NOT_ALLOWED');
      assert.equal(res.headers.allow, allow);
      assert.equal(e.details?.method, method);
    });
  }
});

describe('when a POST body is not valid JSON (400 VALIDATION_FAILED, never 500)', () => {
  for (const [what, body] of [
    ['cut short', '{"position": '],
    ['a trailing comma', '{"position": 12,}'],
    ['not JSON at all', 'position=12'],
  ] as const) {
    it(`to /start: ${what}`, async () => {
      const e = assertEnvelope(await ts.request(`/api/stream/${id}/start`, { method: 'POST', body, headers: { 'content-type': 'application/json' } }), 400, 'VALIDATION_FAILED');
      assert.equal(e.details?.field, 'body');
    });
  }
  it('to /heartbeat', async () => {
    assertEnvelope(await ts.request(`/api/stream/${id}/heartbeat`, { method: 'POST', body: '{"session_id": ]' }), 400, 'VALIDATION_FAILED');
  });
  it('to /end as a text/plain beacon', async () => {
    assertEnvelope(await ts.request(`/api/stream/${id}/end`, { method: 'POST', body: '{oops', headers: { 'content-type': 'text/plain' } }), 400, 'VALIDATION_FAILED');
  });
  it('to PUT /api/progress/{id}', async () => {
    assertEnvelope(await ts.request(`/api/progress/${id}`, { method: 'PUT', body: '{"position": 1', headers: { 'content-type': 'application/json' } }), 400, 'VALIDATION_FAILED');
  });
  it('a body over the limit is 413 PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ position: 1, pad: 'x'.repeat(200 * 1024) });
    assertEnvelope(await ts.request(`/api/stream/${id}/start`, { method: 'POST', body: big }), 413, 'PAYLOAD_TOO_LARGE');
  });
});

describe('when Accept-Language asks for Korean or English', () => {
  const message = async (acceptLanguage?: string): Promise<string> => {
    const headers: Record<string, string> = acceptLanguage === undefined ? {} : { 'Accept-Language': acceptLanguage };
    return assertEnvelope(await ts.request('/api/nope', { headers }), 404, 'ROUTE_NOT_FOUND').message;
  };
  const isKorean = (m: string): boolean => HANGUL.test(m);

  it('ko-KR gets Korean, en-US gets English, and they differ', async () => {
    const ko = await message('ko-KR');
    const en = await message('en-US');
    assert.ok(isKorean(ko), ko);
    assert.ok(!isKorean(en), en);
    assert.match(en, /[a-z]{3,}/i);
    assert.notEqual(ko, en);
  });
  it('no header gets English', async () => assert.ok(!isKorean(await message())));
  it('a language with no messages (de, fr) gets English', async () => assert.ok(!isKorean(await message('de-DE, fr;q=0.9'))));
  it('the higher q-value wins: en;q=0.5, ko;q=0.9 → Korean', async () => assert.ok(isKorean(await message('en;q=0.5, ko;q=0.9'))));
  it('the higher q-value wins: ko;q=0.3, en;q=0.8 → English', async () => assert.ok(!isKorean(await message('ko;q=0.3, en;q=0.8'))));
  it('a browser list with Korean first → Korean', async () => assert.ok(isKorean(await message('ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7'))));
  it('Korean at low priority behind an unsupported language → Korean', async () => assert.ok(isKorean(await message('ja, ko;q=0.1'))));
  it('ko;q=0 means "not Korean" → English', async () => assert.ok(!isKorean(await message('ko;q=0'))));
  it('the code is the same in both languages', async () => {
    const ko = assertEnvelope(await ts.request('/api/stream/AAAAAAAAAAAA', { headers: { 'Accept-Language': 'ko' } }), 404, 'CONTENT_NOT_FOUND');
    const en = assertEnvelope(await ts.request('/api/stream/AAAAAAAAAAAA', { headers: { 'Accept-Language': 'en' } }), 404, 'CONTENT_NOT_FOUND');
    assert.ok(isKorean(ko.message));
    assert.ok(!isKorean(en.message));
  });
  it('pickLang reads tags case-insensitively and ignores bad q-values', () => {
    assert.equal(pickLang('KO'), 'ko');
    assert.equal(pickLang('Ko-kr;q=1.0'), 'ko');
    assert.equal(pickLang('ko;q=abc, en;q=0.1'), 'en');
    assert.equal(pickLang(' en ; q=0.4 , ko ; q=0.6 '), 'ko');
    assert.equal(pickLang('*'), 'en');
    assert.equal(pickLang(''), 'en');
    assert.equal(pickLang(undefined), 'en');
  });
});

describe('no error body carries a stack or a path', () => {
  it('across the errors a client can provoke', async () => {
    const provoked: RawResponse[] = await Promise.all([
      ts.request('/api/nope'),
      ts.request('/api/contents', { method: 'PATCH' }),
      ts.request('/api/contents/..%2F..%2Fetc%2Fpasswd'),
      ts.request(`/api/stream/${'z'.repeat(300)}`),
      ts.request(`/api/stream/${id}`, { headers: { Range: 'bytes=999999999-' } }),
      ts.request(`/api/stream/${id}`, { headers: { 'If-Match': '"x"' } }),
      ts.request(`/api/stream/${id}/start`, { method: 'POST', body: '{', headers: { 'content-type': 'application/json' } }),
      ts.request('/api/contents', { as: false }),
    ]);
    for (const res of provoked) {
      assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
      const body = res.json<{ error?: { code?: string } }>();
      assert.equal(typeof body.error?.code, 'string');
      assertNothingLeaks(res.body.toString('utf8'));
    }
  });
  it('a 503 for a file that vanished names neither the file nor the errno', async () => {
    const tmp = await startTestServer(async (lib) => {
      await copySample(lib, 'gone.mp4', false);
    });
    try {
      const gone = tmp.idOf('gone.mp4');
      await rm(path.join(tmp.libraryDir, 'gone.mp4'));
      const res = await tmp.request(`/api/stream/${gone}`);
      assert.equal(res.status, 503);
      assert.equal(res.json().error.code, 'STREAM_FILE_UNAVAILABLE');
      const text = res.body.toString('utf8');
      assert.ok(!text.includes(tmp.libraryDir));
      assert.doesNotMatch(text, /gone\.mp4|ENOENT|\.ts:\d+/);
    } finally {
      await tmp.close();
    }
  });
});

describe('GET /api/health', () => {
  it('answers without credentials: status, version, uptime and catalogue counts', async () => {
    const res = await ts.request('/api/health', { as: false });
    assert.equal(res.status, 200);
    const h = res.json();
    const pkg = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(h.status, 'ok');
    assert.equal(h.version, pkg.version);
    assert.equal(typeof h.uptime_seconds, 'number');
    assert.ok(h.uptime_seconds >= 0);
    assert.deepEqual(h.catalogue, { total: 2, playable: 1, unplayable: 1 });
    assertNothingLeaks(res.body.toString('utf8'));
  });
  it('HEAD answers 200 with no body', async () => {
    const res = await ts.request('/api/health', { method: 'HEAD', as: false });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
  });
});

// ---- Schema migrations --------------------------------------------------------------------------------------

const LATEST = MIGRATIONS.at(-1)!.version;

/** Tables a list of migrations creates, read from their SQL. */
function tablesCreatedBy(migrations: readonly Migration[]): string[] {
  return migrations.flatMap((m) => [...m.sql.matchAll(/CREATE TABLE(?: IF NOT EXISTS)? (\w+)/gi)].map((x) => x[1]!));
}
const tablesIn = (db: Db): string[] =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((r) => r.name).sort();
const version = (db: Db): number => db.pragma('user_version', { simple: true }) as number;

const record = (over: Partial<ContentRecord> = {}): ContentRecord => ({
  id: 'AAAAAAAAAAAA',
  relPath: 'season1/ep1.mp4',
  title: 'Episode 1',
  size: 1234,
  mtimeMs: 1_700_000_000_123.5,
  mimeType: 'video/mp4',
  media: { durationSeconds: 60, videoCodec: 'H.264', audioCodec: 'AAC', width: 640, height: 360, bitrate: 1000, faststart: true, container: 'mp4' },
  unplayableReason: null,
  hands: [{ index: 1, start: 1, end: 2, is_best: true }],
  sidecarError: null,
  sidecarMtimeMs: null,
  ...over,
});

describe('schema migrations', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    tmp = await tempDir();
  });
  after(() => tmp.cleanup());

  it('migrations are numbered 1, 2, 3… in order', () => {
    assert.deepEqual(
      MIGRATIONS.map((m) => m.version),
      MIGRATIONS.map((_, i) => i + 1),
    );
  });

  it('a new database is created at the latest version with every table', () => {
    const db = openDatabase(path.join(tmp.dir, 'new.db'));
    try {
      assert.equal(version(db), LATEST);
      for (const t of tablesCreatedBy(MIGRATIONS)) assert.ok(tablesIn(db).includes(t), `table ${t} is missing`);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    } finally {
      db.close();
    }
  });

  it('an empty database at version 0 is upgraded by migrate()', () => {
    const file = path.join(tmp.dir, 'v0.db');
    const old = new Database(file);
    assert.equal(version(old), 0);
    assert.deepEqual(tablesIn(old), []);
    assert.equal(migrate(old), LATEST);
    assert.equal(version(old), LATEST);
    assert.deepEqual(tablesIn(old), tablesCreatedBy(MIGRATIONS).sort());
    old.close();
  });

  it('a database at version 1 with a catalogue keeps its rows when upgraded to the latest', () => {
    const file = path.join(tmp.dir, 'v1.db');
    const v1 = openDatabase(file, MIGRATIONS.slice(0, 1));
    assert.equal(version(v1), 1);
    assert.deepEqual(tablesIn(v1), tablesCreatedBy(MIGRATIONS.slice(0, 1)).sort());
    new ContentStore(v1).apply([record()], []);
    v1.close();

    const db = openDatabase(file);
    try {
      assert.equal(version(db), LATEST);
      for (const t of tablesCreatedBy(MIGRATIONS)) assert.ok(tablesIn(db).includes(t), `table ${t} is missing`);
      const c = new ContentStore(db).get('AAAAAAAAAAAA');
      assert.equal(c?.relPath, 'season1/ep1.mp4');
      assert.deepEqual(c?.hands, record().hands);
    } finally {
      db.close();
    }
  });

  it('every intermediate version upgrades to the latest', () => {
    for (let v = 0; v < MIGRATIONS.length; v++) {
      const file = path.join(tmp.dir, `step-${v}.db`);
      openDatabase(file, MIGRATIONS.slice(0, v)).close();
      const db = openDatabase(file);
      assert.equal(version(db), LATEST, `from version ${v}`);
      assert.deepEqual(tablesIn(db), tablesCreatedBy(MIGRATIONS).sort(), `from version ${v}`);
      db.close();
    }
  });

  it('migrating an up-to-date database changes nothing', () => {
    const file = path.join(tmp.dir, 'again.db');
    const db = openDatabase(file);
    try {
      const before = tablesIn(db);
      assert.equal(migrate(db), LATEST);
      assert.deepEqual(tablesIn(db), before);
    } finally {
      db.close();
    }
  });

  it('a migration that fails leaves the previous version intact (each runs in a transaction)', () => {
    const file = path.join(tmp.dir, 'failing.db');
    openDatabase(file).close();
    const broken: Migration = { version: LATEST + 1, name: 'broken', sql: 'CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);' };
    assert.throws(() => openDatabase(file, [...MIGRATIONS, broken]), /no_such_table/);
    const db = new Database(file);
    try {
      assert.equal(version(db), LATEST);
      assert.ok(!tablesIn(db).includes('half_done'), 'the failed migration was half-applied');
    } finally {
      db.close();
    }
  });

  it('a database newer than the code is refused with SchemaTooNew, and left as it was', () => {
    const file = path.join(tmp.dir, 'future.db');
    const future = new Database(file);
    future.exec('CREATE TABLE from_the_future (x INTEGER)');
    future.pragma(`user_version = ${LATEST + 5}`);
    future.close();
    assert.throws(
      () => openDatabase(file),
      (err: unknown) => {
        assert.ok(err instanceof SchemaTooNew, String(err));
        assert.equal(err.found, LATEST + 5);
        assert.equal(err.known, LATEST);
        assert.match(err.message, new RegExp(`${LATEST + 5}`));
        return true;
      },
    );
    // The handle was closed and nothing changed: the file opens again at the same version.
    const again = new Database(file);
    assert.equal(version(again), LATEST + 5);
    assert.deepEqual(tablesIn(again), ['from_the_future']);
    again.close();
  });
});

describe('the catalogue table (ContentStore)', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let db: Db;
  let store: ContentStore;
  before(async () => {
    tmp = await tempDir();
    db = openDatabase(path.join(tmp.dir, 'store.db'));
    store = new ContentStore(db);
  });
  after(async () => {
    db.close();
    await tmp.cleanup();
  });

  it('stores and reads back a record by id and by path', () => {
    store.apply([record()], [], '2025-01-01T00:00:00.000Z');
    const c = store.get('AAAAAAAAAAAA');
    assert.ok(c);
    assert.equal(c.title, 'Episode 1');
    assert.equal(c.mtimeMs, record().mtimeMs, 'sub-millisecond mtimes survive (renames are matched on them)');
    assert.deepEqual(c.media, record().media);
    assert.equal(c.playable, true);
    assert.equal(c.addedAt, '2025-01-01T00:00:00.000Z');
    assert.equal(store.getByPath('season1/ep1.mp4')?.id, 'AAAAAAAAAAAA');
    assert.equal(store.getByPath('nope.mp4'), undefined);
    assert.equal(store.get('nope'), undefined);
  });

  it('updates in place, keeping added_at', () => {
    store.apply([record({ title: 'Renamed', relPath: 'season1/renamed.mp4' })], [], '2025-02-01T00:00:00.000Z');
    const c = store.get('AAAAAAAAAAAA')!;
    assert.equal(c.title, 'Renamed');
    assert.equal(c.relPath, 'season1/renamed.mp4');
    assert.equal(c.addedAt, '2025-01-01T00:00:00.000Z');
    assert.equal(c.updatedAt, '2025-02-01T00:00:00.000Z');
    assert.equal(store.list().length, 1);
  });

  it('an unplayable record has no media and counts as unplayable', () => {
    store.apply([record({ id: 'BBBBBBBBBBBB', relPath: 'x.mp4', title: 'a first', media: null, unplayableReason: 'not an MP4 file' })], []);
    const c = store.get('BBBBBBBBBBBB')!;
    assert.equal(c.media, null);
    assert.equal(c.playable, false);
    assert.equal(c.unplayableReason, 'not an MP4 file');
    assert.deepEqual(store.counts(), { total: 2, playable: 1, unplayable: 1 });
  });

  it('lists by title, case-insensitively', () => {
    assert.deepEqual(store.list().map((c) => c.title), ['a first', 'Renamed']);
  });

  it('deletes and upserts in one transaction: a failing upsert leaves the delete undone', () => {
    const dup = record({ id: 'CCCCCCCCCCCC', relPath: 'x.mp4' }); // rel_path is unique: clashes with BBBB…
    assert.throws(() => store.apply([dup], ['AAAAAAAAAAAA']));
    assert.ok(store.get('AAAAAAAAAAAA'), 'the delete was applied although the transaction failed');
    store.apply([], ['AAAAAAAAAAAA']);
    assert.equal(store.get('AAAAAAAAAAAA'), undefined);
    assert.deepEqual(store.counts(), { total: 1, playable: 0, unplayable: 1 });
  });
});
