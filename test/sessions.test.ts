import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../app/log.ts';
import type { StreamEvents } from '../app/model/stream.ts';
import { makeUsers, runStartLoad } from '../scripts/load-start.ts';
import { copySample, offsetBytes, writeOffsetFile } from './helpers/fixtures.ts';
import { ManualClock, startTestServer, type TestServer } from './helpers/server.ts';

async function viewer(ts: TestServer, name: string): Promise<string> {
  await ts.server.auth.createUser({ username: name, password: `${name}-password`, role: 'viewer', status: 'active' });
  return ts.login(name, `${name}-password`);
}

async function start(ts: TestServer, id: string, token: string) {
  return ts.request(`/api/stream/${id}/start`, { method: 'POST', as: token });
}

const twoFiles = async (lib: string): Promise<void> => {
  await writeOffsetFile(path.join(lib, 'a.mp4'), 100_000);
  await writeOffsetFile(path.join(lib, 'b.mp4'), 50_000);
};

describe('when a user starts more streams than the per-user limit', () => {
  let ts: TestServer;
  let token: string;
  before(async () => {
    ts = await startTestServer(twoFiles, ['--max-streams-per-user', '3']);
    token = await viewer(ts, 'alice');
  });
  after(() => ts.close());

  it('three starts pass and the fourth gets 429 with {scope: user, current: 3, limit: 3} and Retry-After', async () => {
    const id = ts.idOf('a.mp4');
    for (let i = 0; i < 3; i++) {
      const res = await start(ts, id, token);
      assert.equal(res.status, 201, res.body.toString());
      const body = res.json();
      assert.match(body.session_id, /^[A-Za-z0-9_-]{22}$/);
      assert.equal(body.stream_url, `/api/stream/${id}?session=${body.session_id}`);
      assert.equal(body.source, 'nas');
    }
    const fourth = await start(ts, id, token);
    assert.equal(fourth.status, 429);
    const err = fourth.json().error;
    assert.equal(err.code, 'RATE_LIMIT_EXCEEDED');
    assert.deepEqual(err.details, { scope: 'user', current: 3, limit: 3 });
    assert.match(err.message, /3 concurrent streams already playing/);
    assert.ok(Number(fourth.headers['retry-after']) >= 1);
    const ko = await ts.request(`/api/stream/${id}/start`, { method: 'POST', as: token, headers: { 'accept-language': 'ko-KR,ko;q=0.9' } });
    assert.match(ko.json().error.message, /동시 재생 3개 초과/);
  });

  it('/end frees a slot at once, and saves the position as progress', async () => {
    const list = ts.server.streams.activeSessions().filter((s) => s.contentId === ts.idOf('a.mp4'));
    const sid = list[0]!.sessionId;
    const ended = await ts.request(`/api/stream/${ts.idOf('a.mp4')}/end`, { method: 'POST', as: token, body: { session_id: sid, position: 0 } });
    assert.equal(ended.status, 200);
    assert.equal(ended.json().end_reason, 'client');
    assert.equal((await start(ts, ts.idOf('a.mp4'), token)).status, 201);
    // Ending twice answers the same record (a beacon may race the reaper).
    const again = await ts.request(`/api/stream/${ts.idOf('a.mp4')}/end`, { method: 'POST', as: token, body: { session_id: sid } });
    assert.equal(again.status, 200);
    assert.equal(again.json().status, 'ended');
  });

  it('another user’s session cannot be ended or heartbeaten by this user', async () => {
    const bob = await viewer(ts, 'bob');
    const sid = ts.server.streams.activeSessions().find((s) => s.contentId === ts.idOf('a.mp4'))!.sessionId;
    for (const action of ['end', 'heartbeat']) {
      const res = await ts.request(`/api/stream/${ts.idOf('a.mp4')}/${action}`, { method: 'POST', as: bob, body: { session_id: sid } });
      assert.equal(res.status, 404, action);
      assert.equal(res.json().error.code, 'STREAM_SESSION_NOT_FOUND');
    }
  });
});

describe('when the server is full', () => {
  it('with --max-streams 5 and three users, the sixth start gets scope "server"', async () => {
    const ts = await startTestServer(twoFiles, ['--max-streams', '5', '--max-streams-per-user', '3']);
    try {
      const id = ts.idOf('a.mp4');
      const tokens = [await viewer(ts, 'user1'), await viewer(ts, 'user2'), await viewer(ts, 'user3')];
      const statuses: number[] = [];
      for (const t of [tokens[0], tokens[0], tokens[1], tokens[1], tokens[2]]) statuses.push((await start(ts, id, t!)).status);
      assert.deepEqual(statuses, [201, 201, 201, 201, 201]);
      const sixth = await start(ts, id, tokens[2]!);
      assert.equal(sixth.status, 429);
      assert.deepEqual(sixth.json().error.details, { scope: 'server', current: 5, limit: 5 });
      assert.match(sixth.json().error.message, /limit of 5/);
    } finally {
      await ts.close();
    }
  });
});

describe('when a player fires many range requests', () => {
  let ts: TestServer;
  let token: string;
  before(async () => {
    ts = await startTestServer(twoFiles, ['--max-streams-per-user', '3']);
    token = await viewer(ts, 'carol');
  });
  after(() => ts.close());

  it('a burst of parallel range requests on one session counts one slot and the bytes are counted', async () => {
    const id = ts.idOf('a.mp4');
    const s = (await start(ts, id, token)).json();
    const ranges = Array.from({ length: 12 }, (_, i) => [i * 5000, i * 5000 + 4999] as const);
    const answers = await Promise.all(ranges.map(([a, b]) => ts.request(`${s.stream_url}`, { headers: { range: `bytes=${a}-${b}` }, as: false })));
    answers.forEach((res, i) => {
      assert.equal(res.status, 206);
      assert.deepEqual(res.body, offsetBytes(ranges[i]![0], ranges[i]![1]));
    });
    const active = ts.server.streams.activeSessions();
    assert.equal(active.length, 1);
    assert.equal(active[0]!.bytesTransferred, 12 * 5000);
    assert.equal(ts.server.streams.getStreamMetrics().active_streams, 1);
  });

  it('a burst with only a Bearer token opens one implicit session, and joins the open one for that video', async () => {
    const idB = ts.idOf('b.mp4');
    const answers = await Promise.all(Array.from({ length: 8 }, () => ts.request(`/api/stream/${idB}`, { headers: { range: 'bytes=0-99' }, as: token })));
    assert.ok(answers.every((r) => r.status === 206));
    const forB = ts.server.streams.activeSessions().filter((s) => s.contentId === idB);
    assert.equal(forB.length, 1);
    assert.equal(forB[0]!.implicit, true);
    // A Bearer request for a video the user already streams joins that session.
    const idA = ts.idOf('a.mp4');
    assert.equal((await ts.request(`/api/stream/${idA}`, { headers: { range: 'bytes=0-9' }, as: token })).status, 206);
    assert.equal(ts.server.streams.activeSessions().filter((s) => s.contentId === idA).length, 1);
  });

  it('the session capability alone is enough; another video’s, an unknown or a malformed session is 401', async () => {
    const idA = ts.idOf('a.mp4');
    const sid = ts.server.streams.activeSessions().find((s) => s.contentId === idA && !s.implicit)!.sessionId;
    const ok = await ts.request(`/api/stream/${idA}?session=${sid}`, { headers: { range: 'bytes=10-19' }, as: false });
    assert.equal(ok.status, 206);
    for (const url of [`/api/stream/${ts.idOf('b.mp4')}?session=${sid}`, `/api/stream/${idA}?session=AAAAAAAAAAAAAAAAAAAAAA`, `/api/stream/${idA}?session=..%2F..`]) {
      const res = await ts.request(url, { as: false });
      assert.equal(res.status, 401, url);
      assert.equal(res.json().error.code, 'AUTH_INVALID_TOKEN');
      assert.equal(res.headers['content-range'], undefined);
    }
  });
});

describe('when sessions go silent (driven clock)', () => {
  let ts: TestServer;
  let clock: ManualClock;
  let token: string;
  before(async () => {
    clock = new ManualClock();
    const sampleAndOffset = async (lib: string): Promise<void> => {
      await copySample(lib, 'a.mp4');
      await writeOffsetFile(path.join(lib, 'b.mp4'), 50_000);
    };
    ts = await startTestServer(sampleAndOffset, ['--max-streams-per-user', '3', '--stale-after', '60s', '--session-timeout', '30m', '--implicit-idle', '120s'], {
      clock: clock.now,
    });
    token = await viewer(ts, 'dave');
  });
  after(() => ts.close());

  it('a stale session gives its slot to the same user’s new start (reason replaced); a paused one heartbeating keeps it', async () => {
    const id = ts.idOf('a.mp4');
    const sessions: { session_id: string }[] = [];
    for (let i = 0; i < 3; i++) sessions.push((await start(ts, id, token)).json());
    assert.equal((await start(ts, id, token)).status, 429);
    clock.advance(45_000);
    // Sessions 1 and 2 are paused players that keep heartbeating; session 0 is a closed tab.
    for (const s of sessions.slice(1)) {
      const hb = await ts.request(`/api/stream/${id}/heartbeat`, { method: 'POST', as: token, body: { session_id: s.session_id, position: 12.5, state: 'paused', qoe: { ttff_ms: 180, stall_count: 1, stall_ms: 400, seek_ms: 35 } } });
      assert.equal(hb.status, 200);
      assert.equal(hb.json().state, 'paused');
    }
    clock.advance(30_000);
    const events: StreamEvents['stream.ended'][] = [];
    const off = ts.server.streams.bus.on('stream.ended', (e) => events.push(e));
    const fresh = await start(ts, id, token);
    off();
    assert.equal(fresh.status, 201);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.session_id, sessions[0]!.session_id);
    assert.equal(events[0]!.reason, 'replaced');
    const live = ts.server.streams.activeSessions().map((s) => s.sessionId).sort();
    assert.deepEqual(live, [sessions[1]!.session_id, sessions[2]!.session_id, fresh.json().session_id].sort());
    const qoe = ts.server.streams.activeSessions().find((s) => s.sessionId === sessions[1]!.session_id)!.qoe;
    assert.deepEqual(qoe, { ttff_ms: 180, stall_count: 1, stall_ms: 400, seek_ms: 35 });
    // The heartbeats saved the position as progress.
    const p = await ts.request(`/api/progress/${id}`, { as: token });
    assert.equal(p.json().position, 12.5);
    // The replaced session serves no more bytes.
    const gone = await ts.request(`/api/stream/${id}?session=${sessions[0]!.session_id}`, { as: false });
    assert.equal(gone.status, 410);
    assert.equal(gone.json().error.details.reason, 'replaced');
  });

  it('the timeout ends a silent session with reason timeout; the reaper frees its slot', async () => {
    const before = ts.server.streams.activeSessions().length;
    assert.ok(before > 0);
    clock.advance(31 * 60_000);
    const ended = ts.server.streams.reap();
    assert.equal(ended, before);
    assert.equal(ts.server.streams.activeSessions().length, 0);
    assert.equal(ts.server.streams.getStreamMetrics().active_streams, 0);
  });

  it('an implicit session ends after the implicit idle (reason idle)', async () => {
    const idB = ts.idOf('b.mp4');
    assert.equal((await ts.request(`/api/stream/${idB}`, { headers: { range: 'bytes=0-0' }, as: token })).status, 206);
    const events: StreamEvents['stream.ended'][] = [];
    const off = ts.server.streams.bus.on('stream.ended', (e) => events.push(e));
    clock.advance(100_000);
    assert.equal(ts.server.streams.reap(), 0);
    clock.advance(30_000);
    assert.equal(ts.server.streams.reap(), 1);
    off();
    assert.equal(events[0]!.reason, 'idle');
    assert.equal(events[0]!.bytes_transferred, 1);
  });
});

describe('when an admin ends a stream', () => {
  it('the next range request on it is refused before any byte, with 410', async () => {
    const ts = await startTestServer(twoFiles);
    try {
      const token = await viewer(ts, 'erin');
      const id = ts.idOf('a.mp4');
      const s = (await start(ts, id, token)).json();
      assert.equal((await ts.request(s.stream_url, { headers: { range: 'bytes=0-9' }, as: false })).status, 206);
      const list = (await ts.request('/api/admin/streams')).json();
      const row = list.items.find((x: { session_id: string }) => x.session_id === s.session_id);
      assert.equal(row.user.username, 'erin');
      assert.equal(row.content.id, id);
      assert.equal(row.bytes_transferred, 10);
      assert.equal(typeof row.rate_bps, 'number');
      const del = await ts.request(`/api/admin/streams/${s.session_id}`, { method: 'DELETE' });
      assert.equal(del.status, 200);
      assert.equal(del.json().end_reason, 'admin');
      const refused = await ts.request(s.stream_url, { headers: { range: 'bytes=0-9' }, as: false });
      assert.equal(refused.status, 410);
      assert.equal(refused.json().error.code, 'STREAM_SESSION_ENDED');
      assert.equal(refused.headers['content-range'], undefined);
      const hb = await ts.request(`/api/stream/${id}/heartbeat`, { method: 'POST', as: token, body: { session_id: s.session_id } });
      assert.equal(hb.status, 410);
      assert.equal((await ts.request(`/api/admin/streams/${s.session_id}`, { method: 'DELETE' })).status, 404);
      assert.equal((await ts.request('/api/admin/streams', { as: token })).status, 403);
    } finally {
      await ts.close();
    }
  });

  it('disabling a user ends their sessions and refuses their capability URLs', async () => {
    const ts = await startTestServer(twoFiles);
    try {
      const token = await viewer(ts, 'frank');
      const id = ts.idOf('a.mp4');
      const s = (await start(ts, id, token)).json();
      const frank = ts.server.auth.findUser('frank');
      assert.equal((await ts.request(`/api/admin/users/${frank.id}/disable`, { method: 'POST' })).status, 200);
      assert.equal(ts.server.streams.activeSessions().length, 0);
      const res = await ts.request(s.stream_url, { as: false });
      assert.equal(res.status, 403);
      assert.equal(res.json().error.code, 'AUTH_USER_DISABLED');
    } finally {
      await ts.close();
    }
  });
});

describe('when the server restarts', () => {
  it('sessions left active end with server_restart and slots start empty', async () => {
    const first = await startTestServer(twoFiles, ['--max-streams-per-user', '3']);
    const dirs = { libraryDir: first.libraryDir, dataDir: first.dataDir };
    const token = await viewer(first, 'gina');
    const id = first.idOf('a.mp4');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await start(first, id, token)).json().session_id);
    await first.server.close(100); // the process stops without ending its sessions
    const second = await startTestServer(undefined, ['--max-streams-per-user', '3'], { dirs });
    try {
      const again = await second.login('gina', 'gina-password');
      for (const sid of ids) {
        const res = await second.request(`/api/stream/${id}?session=${sid}`, { as: false });
        assert.equal(res.status, 410);
        assert.equal(res.json().error.details.reason, 'server_restart');
      }
      for (let i = 0; i < 3; i++) assert.equal((await start(second, id, again)).status, 201);
    } finally {
      await second.close();
      const { rm } = await import('node:fs/promises');
      await rm(path.dirname(dirs.dataDir), { recursive: true, force: true });
    }
  });
});

describe('when progress is saved and read', () => {
  let ts: TestServer;
  let token: string;
  before(async () => {
    ts = await startTestServer(async (lib) => {
      await copySample(lib, 'clip.mp4');
    });
    token = await viewer(ts, 'hana');
  });
  after(() => ts.close());

  it('round-trips with a whole percent (v1 §3.3, §3.4)', async () => {
    const id = ts.idOf('clip.mp4');
    const empty = await ts.request(`/api/progress/${id}`, { as: token });
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.json(), { content_id: id, position: 0, duration: null, progress_percent: 0, updated_at: null });
    const put = await ts.request(`/api/progress/${id}`, { method: 'PUT', as: token, body: { position: 1234.5, duration: 7320.5 } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.json(), { success: true, progress_percent: 17 });
    const got = (await ts.request(`/api/progress/${id}`, { as: token })).json();
    assert.equal(got.position, 1234.5);
    assert.equal(got.duration, 7320.5);
    assert.equal(got.progress_percent, 17);
    assert.ok(!Number.isNaN(Date.parse(got.updated_at)));
    const list = (await ts.request('/api/progress', { as: token })).json();
    assert.equal(list.items[0].content_id, id);
    assert.equal(list.items[0].title, 'Sample: Final Table (test pattern)');
    // Another user sees none of it.
    assert.equal((await ts.request(`/api/progress/${id}`)).json().position, 0);
  });

  it('answers 400 for bad positions and durations and saves nothing', async () => {
    const id = ts.idOf('clip.mp4');
    const bad: unknown[] = [
      { position: -1, duration: 10 },
      { position: 11, duration: 10 },
      { position: '5', duration: 10 },
      { position: 5 },
      { position: 1e400, duration: 10 },
      { position: null, duration: 10 },
      [1, 2],
    ];
    for (const body of bad) {
      const res = await ts.request(`/api/progress/${id}`, { method: 'PUT', as: token, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json().error.code, 'VALIDATION_FAILED');
    }
    const raw = await ts.request(`/api/progress/${id}`, { method: 'PUT', as: token, body: '{"position": NaN}', headers: { 'content-type': 'application/json' } });
    assert.equal(raw.status, 400);
    assert.equal((await ts.request(`/api/progress/${id}`, { as: token })).json().position, 1234.5);
    assert.equal((await ts.request('/api/progress/nope', { method: 'PUT', as: token, body: { position: 1, duration: 2 } })).status, 404);
  });

  it('end saves the position, clamped to the video’s duration', async () => {
    const id = ts.idOf('clip.mp4');
    const s = (await start(ts, id, token)).json();
    const res = await ts.request(`/api/stream/${id}/end`, { method: 'POST', as: token, body: { session_id: s.session_id, position: 21 } });
    assert.equal(res.status, 200);
    const p = (await ts.request(`/api/progress/${id}`, { as: token })).json();
    assert.equal(p.position, 21);
    assert.equal(p.duration, 30);
    assert.equal(p.progress_percent, 70);
  });

  it('heartbeat and end validate their bodies', async () => {
    const id = ts.idOf('clip.mp4');
    const s = (await start(ts, id, token)).json();
    for (const body of [{}, { session_id: 'short' }, { session_id: s.session_id, position: -3 }, { session_id: s.session_id, state: 'dancing' }, { session_id: s.session_id, qoe: { ttff_ms: -1 } }]) {
      const res = await ts.request(`/api/stream/${id}/heartbeat`, { method: 'POST', as: token, body });
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    assert.equal((await ts.request(`/api/stream/${id}/end`, { method: 'POST', as: token, body: { session_id: s.session_id } })).status, 200);
  });
});

describe('when the operator watches', () => {
  it('events carry the SPEC payloads, log lines carry the v1 §12.2 fields, /metrics parses as Prometheus text', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    const ts = await startTestServer(twoFiles, [], { log: createLogger('info', sink) });
    try {
      const token = await viewer(ts, 'ivan');
      const id = ts.idOf('a.mp4');
      const seen: { started?: StreamEvents['stream.started']; ended?: StreamEvents['stream.ended']; error?: StreamEvents['stream.error'] } = {};
      ts.server.streams.bus.on('stream.started', (e) => (seen.started = e));
      ts.server.streams.bus.on('stream.ended', (e) => (seen.ended = e));
      ts.server.streams.bus.on('stream.error', (e) => (seen.error = e));
      const s = (await start(ts, id, token)).json();
      await ts.request(s.stream_url, { headers: { range: 'bytes=0-4095' }, as: false });
      await ts.request(`/api/stream/${id}/end`, { method: 'POST', as: token, body: { session_id: s.session_id } });
      assert.deepEqual(Object.keys(seen.started!).sort(), ['content_id', 'session_id', 'source', 'timestamp', 'user_id']);
      assert.deepEqual(Object.keys(seen.ended!).sort(), ['bytes_transferred', 'content_id', 'reason', 'session_id', 'timestamp', 'user_id', 'watch_duration']);
      assert.equal(seen.ended!.bytes_transferred, 4096);
      // A file that vanished produces a stream.error and a 503.
      const { rm } = await import('node:fs/promises');
      await rm(path.join(ts.libraryDir, 'b.mp4'));
      const gone = await ts.request(`/api/stream/${ts.idOf('b.mp4')}`, { as: token });
      assert.equal(gone.status, 503);
      assert.equal(seen.error!.error_code, 'STREAM_FILE_UNAVAILABLE');
      assert.doesNotMatch(seen.error!.error_message, /\//, 'no path in the event');

      const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const startedLine = parsed.find((l) => l.action === 'stream_started')!;
      for (const field of ['timestamp', 'level', 'service', 'action', 'user_id', 'content_id', 'session_id', 'source', 'cache_hit', 'file_size']) {
        assert.ok(field in startedLine, `stream_started line lacks ${field}`);
      }
      assert.equal(startedLine.level, 'INFO');
      assert.equal(startedLine.service, 'stream');
      assert.equal(startedLine.file_size, 100_000);
      assert.ok(!Number.isNaN(Date.parse(String(startedLine.timestamp))));
      assert.ok(parsed.some((l) => l.action === 'stream_ended' && l.bytes_transferred === 4096));
      assert.ok(parsed.some((l) => l.action === 'stream_error' && l.error_code === 'STREAM_FILE_UNAVAILABLE'));

      const metrics = await ts.request('/metrics', { as: false });
      assert.equal(metrics.status, 200);
      assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const samples = parsePrometheus(metrics.body.toString());
      assert.equal(samples.get('wsoptv_streams_total{source="nas"}'), 1);
      assert.equal(samples.get('wsoptv_active_streams'), 0);
      assert.equal(samples.get('wsoptv_stream_errors_total{code="STREAM_FILE_UNAVAILABLE"}'), 1);
      assert.equal(samples.get('wsoptv_bytes_sent_total{source="nas"}'), 4096);
      assert.equal(samples.get('wsoptv_session_duration_seconds_count'), 1);
      assert.equal(samples.get('wsoptv_cache_hit_rate'), 0);

      const m = (await ts.request('/api/admin/metrics')).json();
      assert.equal(m.active_streams, 0);
      assert.equal(m.total_streams_today, 1);
      assert.equal(m.cache_hit_rate, 0);
      assert.equal(typeof m.bandwidth_mbps, 'number');
      assert.equal(typeof m.avg_session_duration, 'number');
      const alert = (name: string) => m.alerts.find((a: { name: string }) => a.name === name);
      assert.equal(alert('missing_file').firing, true);
      assert.equal(alert('low_cache_hit_rate').firing, true);
      assert.equal(alert('active_streams_near_limit').firing, false);
      assert.equal(alert('error_burst').firing, false);
    } finally {
      await ts.close();
    }
  });
});

/** Parses Prometheus text exposition strictly: every line is a comment, blank, or `name{labels} value`. */
function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (-?(?:[0-9.e+-]+|NaN|\+Inf|-Inf))(?: \d+)?$/.exec(line);
    assert.ok(m, `not Prometheus text: ${line}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('when 150 starts arrive at once from 50 users (bounded load)', () => {
  it('exactly the allowed starts succeed, the rest get 429, no 5xx, and no slot leaks', async () => {
    const ts = await startTestServer(twoFiles, ['--max-streams', '100', '--max-streams-per-user', '3']);
    try {
      const tokens = await makeUsers(ts.url, ts.adminToken, 50);
      const r = await runStartLoad(ts.url, ts.adminToken, tokens, ts.idOf('a.mp4'), 150);
      assert.equal(r.byStatus[201], 100);
      assert.equal(r.byStatus[429], 50);
      assert.deepEqual(Object.keys(r.byStatus).sort(), ['201', '429']);
      assert.equal(r.ended, 100);
      assert.equal(r.activeAfter, 0);
      // With a per-user limit below the server's, the refusals are per user.
      const r2 = await runStartLoad(ts.url, ts.adminToken, tokens.slice(0, 10), ts.idOf('a.mp4'), 50);
      assert.equal(r2.byStatus[201], 30);
      assert.equal(r2.byScope.user, 20);
      assert.equal(r2.activeAfter, 0);
    } finally {
      await ts.close();
    }
  });
});
