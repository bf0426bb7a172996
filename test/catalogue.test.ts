/**
 * The catalogue over a real temp library and a real SQLite file: what the scan picks up, how ids survive
 * restarts, renames and rescans, how sidecars are applied, and the JSON the API shows of it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { copySample, SAMPLE_CLIP, SAMPLE_SIDECAR, tempDir, writeOffsetFile } from './helpers/fixtures.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { PROJECT_ROOT } from '../app/config/config.ts';

const HEADS_UP = path.join(PROJECT_ROOT, 'samples', 'wsop-sample-heads-up.mp4');
const SAMPLE_HANDS = [
  { index: 1, start: 2, end: 8, is_best: false },
  { index: 2, start: 10, end: 15, is_best: true },
  { index: 3, start: 18, end: 26, is_best: false },
];
const OVERLAPPING = { title: 'Bad hands', hands: [SAMPLE_HANDS[0], { index: 2, start: 5, end: 12, is_best: true }] };

/** Everything catalogued: relPath → id. */
const idsOf = (ts: TestServer): Map<string, string> => new Map(ts.server.library.list().map((c) => [c.relPath, c.id]));

/** Moves a file's mtime well past its current one, so a rescan cannot mistake it for unchanged. */
async function touchLater(file: string, seconds = 10): Promise<void> {
  const st = await stat(file);
  await utimes(file, st.atime, new Date(st.mtimeMs + seconds * 1000));
}

/** Asserts a JSON answer names no file-system path: not the folders, not a library-relative path, not a file name. */
function assertNoPaths(ts: TestServer, text: string): void {
  for (const p of [ts.libraryDir, ts.dataDir, tmpdir(), PROJECT_ROOT]) assert.ok(!text.includes(p), `the JSON reveals ${p}`);
  assert.doesNotMatch(text, /\.(mp4|m4v|mov|json)\b/i, 'the JSON names a file');
  assert.doesNotMatch(text, /season1\/|deep\/|\/c"|\\\\/, 'the JSON carries a library-relative path');
}

describe('when the library is scanned', () => {
  let ts: TestServer;
  let outside: { dir: string; cleanup: () => Promise<void> };

  before(async () => {
    outside = await tempDir('wsoptv-outside-');
    await copyFile(HEADS_UP, path.join(outside.dir, 'secret.mp4'));
    await mkdir(path.join(outside.dir, 'folder'));
    await copyFile(HEADS_UP, path.join(outside.dir, 'folder', 'also-secret.mp4'));
    ts = await startTestServer(async (lib) => {
      await copySample(lib, 'final.mp4'); // with its sidecar final.json
      await mkdir(path.join(lib, 'season1', 'day1'), { recursive: true });
      await copyFile(HEADS_UP, path.join(lib, 'season1', 'day1', 'heads.m4v'));
      await copyFile(HEADS_UP, path.join(lib, 'season1', 'table.mov'));
      await mkdir(path.join(lib, 'deep', 'a', 'b', 'c'), { recursive: true });
      await writeOffsetFile(path.join(lib, 'deep', 'a', 'b', 'c', 'LOUD.MP4'), 4096);
      // Not videos.
      await writeFile(path.join(lib, 'notes.txt'), 'final table notes');
      await writeFile(path.join(lib, 'poster.jpg'), 'not really a jpeg');
      await writeOffsetFile(path.join(lib, 'episode.mkv'), 1000);
      await writeOffsetFile(path.join(lib, 'mp4'), 1000);
      // Hidden.
      await copyFile(HEADS_UP, path.join(lib, '.hidden.mp4'));
      await mkdir(path.join(lib, '.trash'));
      await copyFile(HEADS_UP, path.join(lib, '.trash', 'deleted.mp4'));
      // Broken and badly described.
      await writeFile(path.join(lib, 'broken.mp4'), 'this is a text file with a video extension\n'.repeat(10));
      await copySample(lib, 'bad-hands.mp4', false);
      await writeFile(path.join(lib, 'bad-hands.json'), JSON.stringify(OVERLAPPING));
      // Links: out of the library (file and folder), back to the root, and dangling.
      await symlink(path.join(outside.dir, 'secret.mp4'), path.join(lib, 'escape.mp4'));
      await symlink(path.join(outside.dir, 'folder'), path.join(lib, 'escape-dir'));
      await symlink(lib, path.join(lib, 'loop'));
      await symlink(path.join(lib, 'nothing-here.mp4'), path.join(lib, 'dangling.mp4'));
      // Swapped for an escaping link after the scan.
      await copyFile(HEADS_UP, path.join(lib, 'swap.mp4'));
    });
  });
  after(async () => {
    await ts.close();
    await outside.cleanup();
  });

  it('picks up .mp4, .m4v and .mov (any case) in nested folders, and nothing else', () => {
    assert.deepEqual(
      [...idsOf(ts).keys()].sort(),
      ['bad-hands.mp4', 'broken.mp4', 'deep/a/b/c/LOUD.MP4', 'final.mp4', 'season1/day1/heads.m4v', 'season1/table.mov', 'swap.mp4'],
    );
    assert.equal(ts.server.firstScan.files, 7);
  });

  it('ignores hidden files and hidden folders', () => {
    const paths = [...idsOf(ts).keys()];
    assert.ok(!paths.some((p) => p.split('/').some((part) => part.startsWith('.'))), paths.join(', '));
  });

  it('does not catalogue a link to a file or a folder outside the library, nor follow a link back to the root', () => {
    const paths = [...idsOf(ts).keys()];
    assert.ok(!paths.some((p) => p.startsWith('escape') || p.startsWith('loop/') || p === 'dangling.mp4'), paths.join(', '));
  });

  it('gives every video a distinct, URL-safe id', () => {
    const ids = [...idsOf(ts).values()];
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{8,64}$/);
  });

  it('catalogues a corrupt file as unplayable with a reason, and the scan goes on', async () => {
    const res = await ts.request(`/api/contents/${ts.idOf('broken.mp4')}`);
    assert.equal(res.status, 200);
    const c = res.json();
    assert.equal(c.playable, false);
    assert.equal(typeof c.unplayable_reason, 'string');
    assert.ok(c.unplayable_reason.length > 0);
    assert.equal(c.duration_seconds, null);
    assert.equal(ts.server.firstScan.unplayable, 2, 'broken.mp4 and the offset file deep/.../LOUD.MP4');
    const playable = ts.server.library.list().filter((x) => x.playable).map((x) => x.relPath).sort();
    assert.deepEqual(playable, ['bad-hands.mp4', 'final.mp4', 'season1/day1/heads.m4v', 'season1/table.mov', 'swap.mp4']);
  });

  it('GET /api/contents lists every video with its description and no file path', async () => {
    const res = await ts.request('/api/contents');
    assert.equal(res.status, 200);
    const body = res.json();
    assert.equal(body.total, 7);
    assert.equal(body.items.length, 7);
    const final = body.items.find((i: { id: string }) => i.id === ts.idOf('final.mp4'));
    assert.ok(final, 'final.mp4 is listed');
    assert.equal(final.title, 'Sample: Final Table (test pattern)');
    assert.equal(final.file_size, (await stat(SAMPLE_CLIP)).size);
    assert.equal(final.mime_type, 'video/mp4');
    assert.deepEqual(final.codecs, { video: 'H.264', audio: 'AAC' });
    assert.deepEqual(final.resolution, { width: 640, height: 360 });
    assert.ok(Math.abs(final.duration_seconds - 30) < 0.2);
    assert.equal(typeof final.bitrate, 'number');
    assert.equal(final.faststart, true);
    assert.equal(final.playable, true);
    assert.equal(final.unplayable_reason, null);
    assert.equal(final.hands_count, 3);
    assert.equal(final.best_hands_count, 1);
    assert.equal(final.sidecar_error, null);
    assert.ok(!Number.isNaN(Date.parse(final.added_at)));
    assert.ok(!Number.isNaN(Date.parse(final.updated_at)));
    // A file without a sidecar is titled from its name.
    const heads = body.items.find((i: { id: string }) => i.id === ts.idOf('season1/day1/heads.m4v'));
    assert.equal(heads.title, 'heads');
    assertNoPaths(ts, res.body.toString('utf8'));
  });

  it('GET /api/contents/{id} answers the same entry as the list, and 404 for an unknown id', async () => {
    const list = (await ts.request('/api/contents')).json();
    for (const item of list.items) {
      const one = await ts.request(`/api/contents/${item.id}`);
      assert.equal(one.status, 200);
      assert.deepEqual(one.json(), item);
      assertNoPaths(ts, one.body.toString('utf8'));
    }
    const missing = await ts.request('/api/contents/AAAAAAAAAAAA');
    assert.equal(missing.status, 404);
    assert.equal(missing.json().error.code, 'CONTENT_NOT_FOUND');
  });

  it('/api/stream/{id}/info has the v1 and v2 fields', async () => {
    const id = ts.idOf('final.mp4');
    const res = await ts.request(`/api/stream/${id}/info`);
    assert.equal(res.status, 200);
    const info = res.json();
    const size = (await stat(SAMPLE_CLIP)).size;
    assert.equal(info.content_id, id);
    assert.ok(Math.abs(info.duration - 30) < 0.2);
    assert.equal(info.duration_seconds, info.duration);
    assert.equal(info.file_size, size);
    assert.equal(info.mime_type, 'video/mp4');
    assert.deepEqual(info.codecs, { video: 'H.264', audio: 'AAC' });
    assert.deepEqual(info.resolution, { width: 640, height: 360 });
    assert.ok(Math.abs(info.bitrate - (size * 8) / info.duration) <= 1);
    assert.equal(info.source, 'nas');
    assert.equal(info.cache_hit, false);
    assert.deepEqual(info.hands, SAMPLE_HANDS);
    // Gaps before the first hand and between hands of the sample sidecar (2-8, 10-15, 18-26).
    assert.deepEqual(info.skip_zones, [
      { start: 0, end: 2 },
      { start: 8, end: 10 },
      { start: 15, end: 18 },
    ]);
    assert.equal(info.best_hands_count, 1);
    assert.equal(info.action_duration, 6 + 5 + 8);
    assertNoPaths(ts, res.body.toString('utf8'));
  });

  it('/api/stream/{id}/info of an unplayable file answers with nulls, not an error', async () => {
    const res = await ts.request(`/api/stream/${ts.idOf('broken.mp4')}/info`);
    assert.equal(res.status, 200);
    const info = res.json();
    assert.equal(info.duration, null);
    assert.deepEqual(info.codecs, { video: null, audio: null });
    assert.equal(info.resolution, null);
    assert.deepEqual(info.hands, []);
  });

  it('rejects an invalid sidecar whole: no hands, the reason kept, the title from the file name', async () => {
    const id = ts.idOf('bad-hands.mp4');
    const c = (await ts.request(`/api/contents/${id}`)).json();
    assert.equal(c.hands_count, 0);
    assert.match(c.sidecar_error, /overlaps/);
    assert.equal(c.title, 'bad-hands');
    const info = (await ts.request(`/api/stream/${id}/info`)).json();
    assert.deepEqual(info.hands, []);
    assert.deepEqual(info.skip_zones, []);
    assert.ok(ts.server.firstScan.sidecarErrors.some((e) => e.relPath === 'bad-hands.mp4' && /overlaps/.test(e.error)));
  });

  it('applies a fixed sidecar on rescan', async () => {
    const id = ts.idOf('bad-hands.mp4');
    const side = path.join(ts.libraryDir, 'bad-hands.json');
    await copyFile(SAMPLE_SIDECAR, side);
    await touchLater(side);
    const report = await ts.server.library.scan();
    assert.equal(report.sidecarErrors.length, 0);
    assert.equal(ts.idOf('bad-hands.mp4'), id, 'fixing a sidecar keeps the id');
    const c = (await ts.request(`/api/contents/${id}`)).json();
    assert.equal(c.sidecar_error, null);
    assert.equal(c.hands_count, 3);
    assert.equal(c.title, 'Sample: Final Table (test pattern)');
    assert.deepEqual((await ts.request(`/api/stream/${id}/info`)).json().hands, SAMPLE_HANDS);
  });

  it('breaking a good sidecar on rescan removes its hands rather than keeping stale ones', async () => {
    const id = ts.idOf('bad-hands.mp4');
    const side = path.join(ts.libraryDir, 'bad-hands.json');
    await writeFile(side, '{"hands": [ {"index": 1, "start": 5, "end": 2} ]}');
    await touchLater(side, 20);
    const report = await ts.server.library.scan();
    assert.equal(report.sidecarErrors.length, 1);
    const c = (await ts.request(`/api/contents/${id}`)).json();
    assert.equal(c.hands_count, 0);
    assert.match(c.sidecar_error, /before it starts/);
  });

  it('an unchanged library rescans without touching anything', async () => {
    const before = idsOf(ts);
    const report = await ts.server.library.scan();
    assert.equal(report.added, 0);
    assert.equal(report.updated, 0);
    assert.equal(report.removed, 0);
    assert.equal(report.probeBytesRead, 0, 'unchanged files are not probed again');
    assert.deepEqual(idsOf(ts), before);
  });

  it('a renamed file keeps its id, and unrelated files keep theirs', async () => {
    const before = idsOf(ts);
    await rename(path.join(ts.libraryDir, 'season1', 'day1', 'heads.m4v'), path.join(ts.libraryDir, 'season1', 'heads-up-renamed.m4v'));
    const report = await ts.server.library.scan();
    assert.equal(report.removed, 0, 'a rename is not a removal');
    assert.equal(report.added, 0, 'a rename is not an addition');
    const now = idsOf(ts);
    assert.equal(now.get('season1/heads-up-renamed.m4v'), before.get('season1/day1/heads.m4v'));
    assert.equal(now.has('season1/day1/heads.m4v'), false);
    for (const [rel, id] of before) if (rel !== 'season1/day1/heads.m4v') assert.equal(now.get(rel), id, `${rel} changed id`);
    const c = (await ts.request(`/api/contents/${before.get('season1/day1/heads.m4v')}`)).json();
    assert.equal(c.title, 'heads-up-renamed');
  });

  it('a removed file disappears on rescan; the others stay', async () => {
    const id = ts.idOf('deep/a/b/c/LOUD.MP4');
    const before = idsOf(ts);
    await rm(path.join(ts.libraryDir, 'deep'), { recursive: true });
    const report = await ts.server.library.scan();
    assert.equal(report.removed, 1);
    const res = await ts.request(`/api/contents/${id}`);
    assert.equal(res.status, 404);
    assert.equal(res.json().error.code, 'CONTENT_NOT_FOUND');
    assert.equal((await ts.request(`/api/stream/${id}/info`)).status, 404);
    const now = idsOf(ts);
    assert.equal(now.size, before.size - 1);
    for (const [rel, id2] of now) assert.equal(before.get(rel), id2);
  });

  it('a new file is added on rescan with a new id', async () => {
    const before = idsOf(ts);
    await copyFile(HEADS_UP, path.join(ts.libraryDir, 'season1', 'new-episode.mp4'));
    const report = await ts.server.library.scan();
    assert.equal(report.added, 1);
    const id = ts.idOf('season1/new-episode.mp4');
    assert.ok(![...before.values()].includes(id));
    assert.equal((await ts.request(`/api/contents/${id}`)).json().playable, true);
  });

  it('a file whose bytes change keeps its id and is probed again', async () => {
    const id = ts.idOf('broken.mp4');
    const file = path.join(ts.libraryDir, 'broken.mp4');
    await copyFile(HEADS_UP, file);
    await touchLater(file);
    const report = await ts.server.library.scan();
    assert.equal(report.updated, 1);
    assert.ok(report.probeBytesRead > 0);
    assert.equal(ts.idOf('broken.mp4'), id);
    const c = (await ts.request(`/api/contents/${id}`)).json();
    assert.equal(c.playable, true);
    assert.equal(c.unplayable_reason, null);
    assert.ok(Math.abs(c.duration_seconds - 20) < 0.2);
  });

  it('removing a sidecar on rescan removes its hands and title', async () => {
    const id = ts.idOf('final.mp4');
    assert.equal((await ts.request(`/api/contents/${id}`)).json().hands_count, 3);
    await rm(path.join(ts.libraryDir, 'final.json'));
    const report = await ts.server.library.scan();
    assert.equal(report.updated, 1);
    assert.equal(report.probeBytesRead, 0, 'the video itself did not change and is not probed again');
    const c = (await ts.request(`/api/contents/${id}`)).json();
    assert.equal(c.hands_count, 0);
    assert.equal(c.sidecar_error, null);
    assert.equal(c.title, 'final');
    assert.equal(c.playable, true);
  });

  it('a catalogued file swapped for a link out of the library is not served (503), nor kept on rescan', async () => {
    const id = ts.idOf('swap.mp4');
    const file = path.join(ts.libraryDir, 'swap.mp4');
    await rm(file);
    await symlink(path.join(outside.dir, 'secret.mp4'), file);
    const res = await ts.request(`/api/stream/${id}`, { headers: { Range: 'bytes=0-99' } });
    assert.equal(res.status, 503);
    assert.equal(res.json().error.code, 'STREAM_FILE_UNAVAILABLE');
    await ts.server.library.scan();
    assert.equal(idsOf(ts).has('swap.mp4'), false);
  });
});

describe('when a link inside the library points to a video inside it', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(async (lib) => {
      await mkdir(path.join(lib, 'real'));
      await copyFile(HEADS_UP, path.join(lib, 'real', 'episode.mp4'));
      await symlink(path.join(lib, 'real'), path.join(lib, 'alias'));
    });
  });
  after(() => ts.close());

  it('the link is followed and its video catalogued and served', async () => {
    const paths = [...idsOf(ts).keys()].sort();
    assert.deepEqual(paths, ['alias/episode.mp4', 'real/episode.mp4']);
    const res = await ts.request(`/api/stream/${ts.idOf('alias/episode.mp4')}`, { headers: { Range: 'bytes=0-7' } });
    assert.equal(res.status, 206);
    assert.equal(res.body.toString('latin1', 4, 8), 'ftyp');
  });
});

describe('when links inside the library form a cycle', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(async (lib) => {
      await mkdir(path.join(lib, 'a', 'b'), { recursive: true });
      await mkdir(path.join(lib, 'c'));
      await copyFile(HEADS_UP, path.join(lib, 'a', 'episode.mp4'));
      await writeOffsetFile(path.join(lib, 'c', 'other.mp4'), 100);
      await symlink(path.join(lib, 'a'), path.join(lib, 'a', 'b', 'up')); // to a folder above the link
      await symlink(path.join(lib, 'a'), path.join(lib, 'a', 'self')); // to the link's own folder
      await symlink(path.join(lib, 'a'), path.join(lib, 'a', 'self2'));
      await symlink(path.join(lib, 'c'), path.join(lib, 'a', 'to-c')); // a → c → a: a cycle through a sibling
      await symlink(path.join(lib, 'a'), path.join(lib, 'c', 'to-a'));
    });
  });
  after(() => ts.close());

  it('the scan ends and catalogues each path once, without walking round the loop', () => {
    const paths = [...idsOf(ts).keys()].sort();
    // Each video by its own path, plus the one path through the acyclic links (a/to-c, c/to-a) that do not loop back.
    assert.deepEqual(paths, ['a/episode.mp4', 'a/to-c/other.mp4', 'c/other.mp4', 'c/to-a/episode.mp4']);
  });
});

describe('when the server restarts on the same data folder', () => {
  it('every video keeps its id', async () => {
    const first = await startTestServer(async (lib) => {
      await copySample(lib, 'a.mp4');
      await mkdir(path.join(lib, 'sub'));
      await copyFile(HEADS_UP, path.join(lib, 'sub', 'b.mp4'));
      await writeFile(path.join(lib, 'c.mp4'), 'not a video');
    });
    try {
      const before = idsOf(first);
      assert.equal(before.size, 3);
      await first.server.close(100);
      const second = await startTestServer(undefined, [], { dirs: { libraryDir: first.libraryDir, dataDir: first.dataDir } });
      try {
        assert.deepEqual(idsOf(second), before);
        assert.equal(second.server.firstScan.added, 0);
        assert.equal(second.server.firstScan.probeBytesRead, 0, 'a restart does not probe unchanged files again');
        const res = await second.request(`/api/contents/${before.get('sub/b.mp4')}`);
        assert.equal(res.status, 200);
        assert.equal(res.json().title, 'b');
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
    }
  });
});
