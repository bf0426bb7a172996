/**
 * The live library on real temp folders and a real server: files dropped, edited, renamed and removed
 * under a running server reach the catalogue within 5 s; bursts become a bounded number of scans, never two
 * at once; a library root that vanishes keeps its rows, is reported unreachable and recovers by itself.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { copyFile, mkdir, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { copySample, eventually, SAMPLE_CLIP, tempDir, writeOffsetFile } from './helpers/fixtures.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { createLogger } from '../app/log.ts';
import { PROJECT_ROOT } from '../app/config/config.ts';

const HEADS_UP = path.join(PROJECT_ROOT, 'samples', 'wsop-sample-heads-up.mp4');
/** The catalogue's promise to an operator. */
const WITHIN_MS = 5_000;

/** Waits (bounded, polling) until `check` holds, or fails naming `what`; resolves with the time it took. */
async function within(ms: number, what: string, check: () => boolean | Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  assert.ok(await eventually(check, ms), `${what}: not within ${ms} ms`);
  return Math.round(performance.now() - t0);
}

/** A log sink that keeps every JSON line. */
function logSink(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

/** What GET /api/contents lists: id → title and hands count. */
async function listed(ts: TestServer): Promise<Map<string, { title: string; hands_count: number }>> {
  const res = await ts.request('/api/contents');
  assert.equal(res.status, 200);
  return new Map((res.json().items as { id: string; title: string; hands_count: number }[]).map((i) => [i.id, i]));
}

const pathsOf = (ts: TestServer): string[] => ts.server.library.list().map((c) => c.relPath).sort();
const idAt = (ts: TestServer, rel: string): string | undefined => ts.server.library.list().find((c) => c.relPath === rel)?.id;

/** Counts the scans the watcher asks for and the most that ever ran at once. */
function countScans(ts: TestServer): { readonly started: number; readonly maxAtOnce: number } {
  const lib = ts.server.library;
  const scan = lib.scan.bind(lib);
  const counts = { started: 0, maxAtOnce: 0 };
  let active = 0;
  lib.scan = async () => {
    counts.started++;
    counts.maxAtOnce = Math.max(counts.maxAtOnce, ++active);
    try {
      return await scan();
    } finally {
      active--;
    }
  };
  return counts;
}

describe('when files change under a running server', () => {
  let ts: TestServer;
  const log = logSink();
  before(async () => {
    ts = await startTestServer(
      async (lib) => {
        await copySample(lib, 'final.mp4');
        await mkdir(path.join(lib, 'season1'));
        await copyFile(HEADS_UP, path.join(lib, 'season1', 'heads.mp4'));
        await copyFile(HEADS_UP, path.join(lib, 'moving.mp4'));
        await writeOffsetFile(path.join(lib, 'doomed.mp4'), 5000);
      },
      ['--head-bytes', '65536'],
      { log: createLogger('info', log.stream) },
    );
  });
  after(() => ts.close());

  it('a new file dropped into the library appears in GET /api/contents within 5 s, without a restart', async (t) => {
    const before = await listed(ts);
    await copyFile(SAMPLE_CLIP, path.join(ts.libraryDir, 'season1', 'dropped.mp4'));
    const ms = await within(WITHIN_MS, 'the dropped file is listed', async () => (await listed(ts)).size === before.size + 1);
    t.diagnostic(`file drop → listed in ${ms} ms`);
    const id = idAt(ts, 'season1/dropped.mp4');
    assert.ok(id !== undefined && !before.has(id), 'a new id');
    const c = (await ts.request(`/api/contents/${id}`)).json();
    assert.equal(c.playable, true);
    assert.equal(c.title, 'dropped');
  });

  it('the dropped file gets its head on the SSD too, as the videos found at start do', async () => {
    const id = idAt(ts, 'season1/dropped.mp4');
    await within(WITHIN_MS, 'a head of the dropped file is listed', async () => {
      const cache = (await ts.request('/api/admin/cache')).json();
      return (cache.entries as { content_id: string; kind: string }[]).some((e) => e.content_id === id && e.kind === 'head');
    });
  });

  it('a sidecar edit changes the hands within 5 s', async (t) => {
    const id = ts.server.library.list().find((c) => c.relPath === 'final.mp4')!.id;
    assert.equal((await listed(ts)).get(id)?.hands_count, 3);
    const side = path.join(ts.libraryDir, 'final.json');
    await writeFile(side, JSON.stringify({ title: 'Edited final', hands: [{ index: 1, start: 1, end: 4, is_best: true }] }));
    const ms = await within(WITHIN_MS, 'the edited hands are served', async () => (await listed(ts)).get(id)?.hands_count === 1);
    t.diagnostic(`sidecar edit → new hands in ${ms} ms`);
    const info = (await ts.request(`/api/stream/${id}/info`)).json();
    assert.deepEqual(info.hands, [{ index: 1, start: 1, end: 4, is_best: true }]);
    assert.equal((await listed(ts)).get(id)?.title, 'Edited final');
  });

  it('a rename in the same folder keeps the id', async () => {
    const id = idAt(ts, 'moving.mp4')!;
    await rename(path.join(ts.libraryDir, 'moving.mp4'), path.join(ts.libraryDir, 'moved.mp4'));
    await within(WITHIN_MS, 'the renamed file is catalogued', () => idAt(ts, 'moved.mp4') !== undefined);
    assert.equal(idAt(ts, 'moved.mp4'), id);
    assert.equal(idAt(ts, 'moving.mp4'), undefined);
    assert.equal((await ts.request(`/api/contents/${id}`)).json().title, 'moved');
  });

  it('a rename into another folder keeps the id', async () => {
    const id = idAt(ts, 'moved.mp4')!;
    await mkdir(path.join(ts.libraryDir, 'season2', 'day1'), { recursive: true });
    await rename(path.join(ts.libraryDir, 'moved.mp4'), path.join(ts.libraryDir, 'season2', 'day1', 'moved.mp4'));
    await within(WITHIN_MS, 'the moved file is catalogued', () => idAt(ts, 'season2/day1/moved.mp4') !== undefined);
    assert.equal(idAt(ts, 'season2/day1/moved.mp4'), id);
    assert.equal(idAt(ts, 'moved.mp4'), undefined);
  });

  it('a folder renamed with its videos keeps their ids', async () => {
    const id = idAt(ts, 'season2/day1/moved.mp4')!;
    await rename(path.join(ts.libraryDir, 'season2'), path.join(ts.libraryDir, 'season-two'));
    await within(WITHIN_MS, 'the folder is catalogued under its new name', () => idAt(ts, 'season-two/day1/moved.mp4') !== undefined);
    assert.equal(idAt(ts, 'season-two/day1/moved.mp4'), id);
    assert.ok(!pathsOf(ts).some((p) => p.startsWith('season2/')));
  });

  it('a copy that lost its mtime, with the original then deleted, keeps the id (size and probe match)', async () => {
    const from = path.join(ts.libraryDir, 'season-two', 'day1', 'moved.mp4');
    const id = idAt(ts, 'season-two/day1/moved.mp4')!;
    const to = path.join(ts.libraryDir, 'season1', 'copied.mp4');
    await copyFile(from, to);
    const st = await stat(from);
    await utimes(to, st.atime, new Date(st.mtimeMs + 60_000)); // a copy across file systems gets a new mtime
    await rm(from);
    await within(WITHIN_MS, 'the copy is catalogued and the original gone', () => idAt(ts, 'season1/copied.mp4') !== undefined && idAt(ts, 'season-two/day1/moved.mp4') === undefined);
    assert.equal(idAt(ts, 'season1/copied.mp4'), id);
  });

  it('a removed file leaves the catalogue within 5 s; the others stay', async (t) => {
    const id = idAt(ts, 'doomed.mp4')!;
    const others = pathsOf(ts).filter((p) => p !== 'doomed.mp4');
    await rm(path.join(ts.libraryDir, 'doomed.mp4'));
    const ms = await within(WITHIN_MS, 'the removed file is gone', async () => (await ts.request(`/api/contents/${id}`)).status === 404);
    t.diagnostic(`file removed → 404 in ${ms} ms`);
    assert.deepEqual(pathsOf(ts), others);
  });

  it('hidden files, temp files and other types start no scan', async () => {
    const scansBefore = log.lines.filter((l) => l.action === 'library_rescanned').length;
    await writeFile(path.join(ts.libraryDir, '.partial.mp4'), 'a copy in progress');
    await writeFile(path.join(ts.libraryDir, 'notes.txt'), 'not a video');
    await writeFile(path.join(ts.libraryDir, 'upload.mp4.part'), 'a browser download');
    await copyFile(HEADS_UP, path.join(ts.libraryDir, 'marker.mp4'));
    await within(WITHIN_MS, 'the marker is catalogued', () => idAt(ts, 'marker.mp4') !== undefined);
    const scans = log.lines.filter((l) => l.action === 'library_rescanned').slice(scansBefore);
    const events = scans.reduce((n, l) => n + (l.events as number), 0);
    assert.equal(events, 1, `only marker.mp4 counts as an event: ${JSON.stringify(scans)}`);
    assert.ok(!pathsOf(ts).some((p) => p.startsWith('.') || p.endsWith('.part') || p.endsWith('.txt')));
  });
});

describe('when a burst of 50 files arrives, part of it during a scan', () => {
  let ts: TestServer;
  const log = logSink();
  before(async () => {
    ts = await startTestServer((lib) => writeOffsetFile(path.join(lib, 'first.mp4'), 100), [], { log: createLogger('info', log.stream) });
  });
  after(() => ts.close());

  it('all 50 are catalogued within 5 s by a bounded number of scans, never two at once', async (t) => {
    const counts = countScans(ts);
    // The first scan, once it has read the first half of the burst, holds on until the second half is
    // written: events that come while a scan runs must lead to one more scan after it.
    const lib = ts.server.library;
    const counted = lib.scan;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let scanned!: () => void;
    const firstScanned = new Promise<void>((r) => (scanned = r));
    let first = true;
    lib.scan = async () => {
      const report = await counted();
      if (first) {
        first = false;
        scanned();
        await gate;
      }
      return report;
    };
    const dir = path.join(ts.libraryDir, 'burst');
    await mkdir(dir);
    const t0 = performance.now();
    for (let i = 0; i < 25; i++) await writeOffsetFile(path.join(dir, `clip-${String(i).padStart(2, '0')}.mp4`), 1000 + i);
    await firstScanned;
    assert.equal(pathsOf(ts).filter((p) => p.startsWith('burst/')).length, 25, 'the first scan saw the first half');
    for (let i = 25; i < 50; i++) await writeOffsetFile(path.join(dir, `clip-${String(i).padStart(2, '0')}.mp4`), 1000 + i);
    release();
    await within(WITHIN_MS, 'all 50 are catalogued', () => pathsOf(ts).filter((p) => p.startsWith('burst/')).length === 50);
    t.diagnostic(`50 files → all listed ${Math.round(performance.now() - t0)} ms after the first write, in ${counts.started} scans`);
    assert.ok(counts.started >= 2, 'the half written during the first scan needs one more after it');
    assert.ok(counts.started <= 4, `${counts.started} scans for one burst`);
    assert.equal(counts.maxAtOnce, 1, 'two scans ran at once');
    const retried = log.lines.filter((l) => l.action === 'library_rescanned' && l.retried === true);
    assert.ok(retried.length >= 1, 'the scan after the busy one is logged as a retry');
    assert.ok(retried.every((l) => (l.events as number) <= 50));
  });
});

describe('when the library folder is renamed away and back', () => {
  let ts: TestServer;
  let away: string;
  const changes: boolean[] = [];
  before(async () => {
    ts = await startTestServer(async (lib) => {
      await copySample(lib, 'final.mp4');
      await copyFile(HEADS_UP, path.join(lib, 'heads.mp4'));
    });
    away = `${ts.libraryDir}-away`;
    ts.server.library.onReachabilityChange((r) => changes.push(r.reachable));
  });
  after(async () => {
    await rename(away, ts.libraryDir).catch(() => undefined);
    await ts.close();
  });

  it('is healthy to begin with', async () => {
    const h = (await ts.request('/api/health', { as: false })).json();
    assert.equal(h.status, 'ok');
    assert.equal(h.library.reachable, true);
    assert.equal(h.library.root_error, null);
  });

  it('renamed away: the rows are kept, /api/health reports the NAS unreachable, a stream answers 503', async (t) => {
    const ids = [...(await listed(ts)).keys()].sort();
    const t0 = performance.now();
    await rename(ts.libraryDir, away);
    const ms = await within(WITHIN_MS, 'health reports unreachable', async () => (await ts.request('/api/health', { as: false })).json().library.reachable === false);
    t.diagnostic(`root renamed away → unreachable in ${ms} ms`);
    const h = (await ts.request('/api/health', { as: false })).json();
    assert.equal(h.status, 'degraded');
    assert.equal(h.library.root_error, 'ENOENT');
    assert.ok(Date.parse(h.library.since) >= Date.now() - (performance.now() - t0) - 1000, 'since is when it went');
    assert.deepEqual(h.catalogue, { total: 2, playable: 2, unplayable: 0 });
    assert.deepEqual([...(await listed(ts)).keys()].sort(), ids, 'every row is kept');
    // A rescan asked for now changes nothing either.
    const report = await ts.server.library.scan();
    assert.equal(report.rootError, 'ENOENT');
    assert.equal(report.removed, 0);
    const res = await ts.request(`/api/stream/${ids[0]}`, { headers: { Range: 'bytes=0-99' } });
    assert.equal(res.status, 503);
    assert.equal(res.json().error.code, 'STREAM_FILE_UNAVAILABLE');
    assert.deepEqual(changes, [false]);
    assert.deepEqual(ts.server.library.reachability(), { reachable: false, since: h.library.since, rootError: 'ENOENT' });
  });

  it('renamed back with changes made meanwhile: reachable again and the catalogue current, ids kept', async (t) => {
    const before = new Map(ts.server.library.list().map((c) => [c.relPath, c.id]));
    await rm(path.join(away, 'heads.mp4'));
    await copyFile(SAMPLE_CLIP, path.join(away, 'new-while-away.mp4'));
    await rename(away, ts.libraryDir);
    const ms = await within(WITHIN_MS, 'reachable and current', async () => {
      const h = (await ts.request('/api/health', { as: false })).json();
      return h.status === 'ok' && idAt(ts, 'new-while-away.mp4') !== undefined && idAt(ts, 'heads.mp4') === undefined;
    });
    t.diagnostic(`root renamed back → reachable and current in ${ms} ms`);
    assert.equal(idAt(ts, 'final.mp4'), before.get('final.mp4'));
    assert.deepEqual(changes, [false, true]);
    assert.equal(ts.server.library.reachability().rootError, null);
    const res = await ts.request(`/api/stream/${idAt(ts, 'final.mp4')}`, { headers: { Range: 'bytes=0-7' } });
    assert.equal(res.status, 206);
  });

  it('the watches are set again: a file dropped after the return is picked up', async () => {
    await copyFile(HEADS_UP, path.join(ts.libraryDir, 'after-return.mp4'));
    await within(WITHIN_MS, 'the file dropped after the return is catalogued', () => idAt(ts, 'after-return.mp4') !== undefined);
  });

  it('an empty folder in its place (an unmounted share) is not "every file deleted"', async () => {
    const total = ts.server.library.counts().total;
    await rename(ts.libraryDir, away);
    await mkdir(ts.libraryDir);
    await within(WITHIN_MS, 'health reports the empty root', async () => (await ts.request('/api/health', { as: false })).json().library.root_error === 'EEMPTY');
    assert.equal(ts.server.library.counts().total, total);
    await rm(ts.libraryDir, { recursive: true });
    await rename(away, ts.libraryDir);
    await within(WITHIN_MS, 'reachable again', async () => (await ts.request('/api/health', { as: false })).json().status === 'ok');
    assert.equal(ts.server.library.counts().total, total);
  });
});

describe('with --watch-poll (a network mount that sends no file events)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer((lib) => copySample(lib, 'final.mp4'), ['--watch-poll', '1s']);
  });
  after(() => ts.close());

  it('a dropped file, a rename and a removal all reach the catalogue within 5 s', async (t) => {
    await copyFile(HEADS_UP, path.join(ts.libraryDir, 'polled.mp4'));
    const ms = await within(WITHIN_MS, 'the dropped file is catalogued', () => idAt(ts, 'polled.mp4') !== undefined);
    t.diagnostic(`polling: file drop → catalogued in ${ms} ms`);
    const id = idAt(ts, 'polled.mp4');
    await mkdir(path.join(ts.libraryDir, 'sub'));
    await rename(path.join(ts.libraryDir, 'polled.mp4'), path.join(ts.libraryDir, 'sub', 'polled.mp4'));
    await within(WITHIN_MS, 'the renamed file is catalogued', () => idAt(ts, 'sub/polled.mp4') !== undefined && idAt(ts, 'polled.mp4') === undefined);
    assert.equal(idAt(ts, 'sub/polled.mp4'), id);
    await rm(path.join(ts.libraryDir, 'sub', 'polled.mp4'));
    await within(WITHIN_MS, 'the removed file is gone', () => idAt(ts, 'sub/polled.mp4') === undefined);
    assert.deepEqual(pathsOf(ts), ['final.mp4']);
  });
});

describe('when --library is a link to the real folder (a mount reached through a symlink)', () => {
  let ts: TestServer;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let real: string;
  before(async () => {
    tmp = await tempDir();
    real = path.join(tmp.dir, 'nas');
    await mkdir(real);
    await copySample(real, 'final.mp4');
    await symlink(real, path.join(tmp.dir, 'library-link'));
    ts = await startTestServer(undefined, ['--library', path.join(tmp.dir, 'library-link')]);
  });
  after(async () => {
    await ts.close();
    await tmp.cleanup();
  });

  it('changes inside the linked folder are watched too', async () => {
    assert.deepEqual(pathsOf(ts), ['final.mp4']);
    await copyFile(HEADS_UP, path.join(real, 'through-link.mp4'));
    await within(WITHIN_MS, 'the file is catalogued', () => idAt(ts, 'through-link.mp4') !== undefined);
  });
});
