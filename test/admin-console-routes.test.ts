/**
 * The console's REST routes on a real server and SQLite file: ending a stream with a reason the viewer is
 * told (and its position saved), the paged and filtered history with its 30-day figures, the library
 * rescan, the LAN share URLs, and who may call them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { lanUrls } from '../app/server/routes/admin-share.ts';
import { copySample } from './helpers/fixtures.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const PASSWORD = 'viewer-password';

describe('when an operator ends a stream with a reason', () => {
  let ts: TestServer;
  let viewer: string;
  let id: string;
  before(async () => {
    ts = await startTestServer((lib) => copySample(lib, 'final-table.mp4'));
    await ts.server.auth.createUser({ username: 'viewer-mia', password: PASSWORD, role: 'viewer', status: 'active' });
    viewer = await ts.login('viewer-mia', PASSWORD);
    id = ts.idOf('final-table.mp4');
  });
  after(() => ts.close());

  it('the viewer’s next range request and heartbeat are refused with the reason; the position is saved', async () => {
    const start = (await ts.request(`/api/stream/${id}/start`, { method: 'POST', as: viewer })).json();
    const hb = await ts.request(`/api/stream/${id}/heartbeat`, { method: 'POST', as: viewer, body: { session_id: start.session_id, position: 12.5, state: 'playing', mode: 'skip', qoe: { buffer_ahead_s: 7.5 } } });
    assert.equal(hb.status, 200, hb.body.toString());
    const listed = (await ts.request('/api/admin/streams')).json().items[0];
    assert.equal(listed.mode, 'skip');
    assert.equal(listed.qoe.buffer_ahead_s, 7.5);
    assert.deepEqual(listed.hand, { index: 2, count: 3 });

    const ended = await ts.request(`/api/admin/streams/${start.session_id}`, { method: 'DELETE', body: { reason: '  Maintenance tonight ' } });
    assert.equal(ended.status, 200);
    assert.equal(ended.json().end_reason, 'admin');

    const range = await ts.request(start.stream_url, { as: false, headers: { range: 'bytes=0-99', 'accept-language': 'ko' } });
    assert.equal(range.status, 410);
    assert.equal(range.json().error.details.note, 'Maintenance tonight');
    assert.match(range.json().error.message, /운영자가 재생을 종료했습니다: Maintenance tonight/);
    const beat = await ts.request(`/api/stream/${id}/heartbeat`, { method: 'POST', as: viewer, body: { session_id: start.session_id, position: 13 } });
    assert.equal(beat.status, 410);
    assert.equal(beat.json().error.message, 'The operator ended this stream: Maintenance tonight');
    assert.equal((await ts.request(`/api/progress/${id}`, { as: viewer })).json().position, 12.5);
  });

  it('a reason that is not short text is a 400, and the stream keeps playing', async () => {
    const start = (await ts.request(`/api/stream/${id}/start`, { method: 'POST', as: viewer })).json();
    for (const body of [{ reason: 'x'.repeat(201) }, { reason: 7 }, ['list']]) {
      const res = await ts.request(`/api/admin/streams/${start.session_id}`, { method: 'DELETE', body });
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.status} ${res.body.toString()}`);
      assert.equal(res.json().error.code, 'VALIDATION_FAILED');
    }
    assert.equal(ts.server.streams.activeSessions().length, 1);
    const bad = await ts.request(`/api/stream/${id}/heartbeat`, { method: 'POST', as: viewer, body: { session_id: start.session_id, mode: 'fast' } });
    assert.equal(bad.status, 400);
    // Without a reason the viewer is told only that the session ended.
    assert.equal((await ts.request(`/api/admin/streams/${start.session_id}`, { method: 'DELETE' })).status, 200);
    const range = await ts.request(start.stream_url, { as: false, headers: { range: 'bytes=0-99' } });
    assert.equal(range.json().error.message, 'This stream session has ended.');
  });
});

describe('when the operator reads the history', () => {
  let ts: TestServer;
  let viewer: string;
  before(async () => {
    ts = await startTestServer(async (lib) => {
      await copySample(lib, 'final-table.mp4');
      await copySample(lib, 'heads_up.mp4', false);
    });
    await ts.server.auth.createUser({ username: 'viewer_100', password: PASSWORD, role: 'viewer', status: 'active' });
    viewer = await ts.login('viewer_100', PASSWORD);
    const a = ts.idOf('final-table.mp4');
    const b = ts.idOf('heads_up.mp4');
    for (const [content, n] of [[a, 3], [b, 28]] as const) {
      for (let i = 0; i < n; i++) {
        const s = (await ts.request(`/api/stream/${content}/start`, { method: 'POST', as: viewer })).json();
        if (i === 0) assert.equal((await ts.request(`/api/admin/streams/${s.session_id}`, { method: 'DELETE' })).status, 200);
        else assert.equal((await ts.request(`/api/stream/${content}/end`, { method: 'POST', as: viewer, body: { session_id: s.session_id } })).status, 200);
      }
    }
  });
  after(() => ts.close());

  it('pages ended sessions newest first, 25 a page, with names and end reasons', async () => {
    const first = (await ts.request('/api/admin/history')).json();
    assert.equal(first.total, 31);
    assert.equal(first.page_size, 25);
    assert.equal(first.items.length, 25);
    assert.equal(first.items[0].user.username, 'viewer_100');
    assert.ok(first.items.every((x: { ended_at: string }, i: number, all: { ended_at: string }[]) => i === 0 || x.ended_at <= all[i - 1]!.ended_at));
    const second = (await ts.request('/api/admin/history?page=2')).json();
    assert.equal(second.items.length, 6);
    const ids = new Set([...first.items, ...second.items].map((x: { session_id: string }) => x.session_id));
    assert.equal(ids.size, 31);
  });

  it('filters by end reason, title and user (an _ in a name is matched literally)', async () => {
    assert.equal((await ts.request('/api/admin/history?reason=admin')).json().total, 2);
    assert.equal((await ts.request('/api/admin/history?title=final')).json().total, 3);
    assert.equal((await ts.request('/api/admin/history?user=r_1')).json().total, 31);
    assert.equal((await ts.request('/api/admin/history?user=i_w')).json().total, 0, 'the _ is not a wildcard');
    assert.equal((await ts.request('/api/admin/history?user=nobody')).json().total, 0);
    for (const q of ['reason=bogus', 'page=0', 'page=x', `user=${'u'.repeat(65)}`]) {
      const res = await ts.request(`/api/admin/history?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.json().error.code, 'VALIDATION_FAILED');
    }
  });

  it('counts plays per day and the top titles of the last 30 days', async () => {
    const stats = (await ts.request('/api/admin/history/stats')).json();
    assert.equal(stats.plays_per_day.length, 1);
    assert.equal(stats.plays_per_day[0].plays, 31);
    assert.deepEqual(stats.top_titles.map((t: { plays: number }) => t.plays), [28, 3]);
    assert.equal(stats.top_titles[1].title, 'Sample: Final Table (test pattern)');
  });

  it('is for admins only', async () => {
    for (const p of ['/api/admin/history', '/api/admin/history/stats', '/api/admin/share']) {
      assert.equal((await ts.request(p, { as: viewer })).status, 403, p);
    }
    assert.equal((await ts.request('/api/admin/library/rescan', { method: 'POST', as: viewer })).status, 403);
  });
});

describe('when the operator rescans the library and shares the viewer URL', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(async (lib) => {
      await copySample(lib, 'final-table.mp4');
      await copySample(lib, 'heads-up.mp4');
    });
  });
  after(() => ts.close());

  it('a rescan reports what changed and the catalogue follows', async () => {
    await rm(path.join(ts.libraryDir, 'heads-up.mp4'));
    const res = await ts.request('/api/admin/library/rescan', { method: 'POST' });
    assert.equal(res.status, 200);
    const body = res.json();
    assert.equal(body.removed, 1);
    assert.equal(body.files, 1);
    assert.equal(typeof body.duration_ms, 'number');
    assert.doesNotMatch(res.body.toString(), /\.mp4|\.json/);
    assert.equal((await ts.request('/api/contents')).json().total, 1);
    assert.equal((await ts.request('/api/admin/library/rescan')).status, 405);
  });

  it('shares the address it listens on, or every LAN address when it listens on all', async () => {
    const res = (await ts.request('/api/admin/share')).json();
    assert.deepEqual(res.urls, [`${ts.url}/`]);
    assert.deepEqual(lanUrls('::1', 8000), ['http://[::1]:8000/']);
    for (const u of lanUrls('0.0.0.0', 8000)) assert.match(u, /^http:\/\/\d+\.\d+\.\d+\.\d+:8000\/$/);
    assert.ok(!lanUrls('0.0.0.0', 8000).includes('http://127.0.0.1:8000/'), 'loopback is not a LAN address');
  });
});
