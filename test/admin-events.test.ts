/**
 * The console's live feed, GET /api/admin/events, against a real server: a snapshot first, then deltas
 * with ids; a reconnect with Last-Event-ID misses nothing and doubles nothing; a stalled console holds up
 * neither the other consoles nor the streams; viewers are refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConsoleSnapshot } from '../app/contract/events.ts';
import { SseClient, type SseEnd } from '../app/server/sse.ts';
import { copySample, writeOffsetFile } from './helpers/fixtures.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { openSse, type SseReader } from './helpers/sse.ts';
import path from 'node:path';

const VIEWER_PASSWORD = 'viewer-password';
/** Ticks far apart, so only the events a test makes appear in the feed. */
const QUIET = { streamsTickMs: 3_600_000, metricsTickMs: 3_600_000 };

async function withViewer(ts: TestServer, username: string): Promise<string> {
  await ts.server.auth.createUser({ username, password: VIEWER_PASSWORD, role: 'viewer', status: 'active' });
  return ts.login(username, VIEWER_PASSWORD);
}

const feedOf = (ts: TestServer, headers: Record<string, string> = {}): Promise<SseReader> =>
  openSse(`${ts.url}/api/admin/events`, { authorization: `Bearer ${ts.adminToken}`, ...headers });

async function start(ts: TestServer, token: string, id: string): Promise<string> {
  const res = await ts.request(`/api/stream/${id}/start`, { method: 'POST', as: token });
  assert.equal(res.status, 201, res.body.toString());
  return res.json().session_id;
}

async function end(ts: TestServer, token: string, id: string, sid: string): Promise<void> {
  const res = await ts.request(`/api/stream/${id}/end`, { method: 'POST', as: token, body: { session_id: sid, position: 3 } });
  assert.equal(res.status, 200);
}

describe('when a console connects to the live feed', () => {
  let ts: TestServer;
  let viewer: string;
  let clip: string;
  before(async () => {
    ts = await startTestServer((lib) => copySample(lib, 'final-table.mp4'), [], { feed: QUIET });
    viewer = await withViewer(ts, 'viewer-ann');
    clip = ts.idOf('final-table.mp4');
  });
  after(() => ts.close());

  it('gets a snapshot first, then each stream event as a delta with a rising id', async () => {
    const feed = await feedOf(ts);
    try {
      assert.equal(feed.status, 200);
      assert.match(String(feed.headers['content-type']), /^text\/event-stream/);
      assert.equal(feed.headers['cache-control'], 'no-cache, no-transform');
      const snap = await feed.waitFor(() => true);
      assert.equal(snap.event, 'snapshot');
      const data = snap.json<ConsoleSnapshot>();
      assert.deepEqual(data.streams, []);
      assert.equal(data.slots.server.limit, 100);
      assert.equal(data.slots.per_user_limit, 1000);
      assert.equal(typeof data.metrics.active_streams, 'number');

      const sid = await start(ts, viewer, clip);
      const started = await feed.waitFor((e) => e.event === 'stream.started');
      const s = started.json();
      assert.equal(s.session_id, sid);
      assert.equal(s.stream.user.username, 'viewer-ann');
      assert.equal(s.stream.content.title, 'Sample: Final Table (test pattern)');
      assert.equal(s.stream.source, 'nas');
      assert.deepEqual(s.stream.hand, { index: null, count: 3 });
      await end(ts, viewer, clip, sid);
      const ended = await feed.waitFor((e) => e.event === 'stream.ended');
      assert.equal(ended.json().reason, 'client');
      const seqs = [snap, started, ended].map((e) => Number(e.id!.split('-')[1]));
      assert.ok(seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!, `ids rise: ${seqs.join(' < ')}`);
    } finally {
      feed.close();
    }
  });

  it('a reconnect with Last-Event-ID gets exactly the events it missed, in order, and no snapshot', async () => {
    const first = await feedOf(ts);
    const snap = await first.waitFor((e) => e.event === 'snapshot');
    first.close();
    const a = await start(ts, viewer, clip);
    await end(ts, viewer, clip, a);
    const b = await start(ts, viewer, clip);

    const again = await feedOf(ts, { 'last-event-id': snap.id! });
    try {
      await again.waitFor((e) => e.event === 'stream.started' && e.json().session_id === b);
      const got = again.events.map((e) => [e.event, e.json().session_id]);
      assert.deepEqual(got, [
        ['stream.started', a],
        ['stream.ended', a],
        ['stream.started', b],
      ]);
      const middle = again.events[1]!.id!;
      again.close();
      await end(ts, viewer, clip, b);

      // Resuming from the middle: only what came after it, each once.
      const third = await feedOf(ts, { 'last-event-id': middle });
      try {
        await third.waitFor((e) => e.event === 'stream.ended' && e.json().session_id === b);
        assert.deepEqual(third.events.map((e) => [e.event, e.json().session_id]), [
          ['stream.started', b],
          ['stream.ended', b],
        ]);
        const ids = third.events.map((e) => e.id);
        assert.equal(new Set(ids).size, ids.length);
      } finally {
        third.close();
      }
    } finally {
      again.close();
    }
  });

  it('an id from another server process, or one it cannot resume, gets a fresh snapshot', async () => {
    for (const id of ['zzzz-3', 'garbage', '']) {
      const feed = await feedOf(ts, { 'last-event-id': id });
      try {
        assert.equal((await feed.waitFor(() => true)).event, 'snapshot', `Last-Event-ID ${JSON.stringify(id)}`);
      } finally {
        feed.close();
      }
    }
  });

  it('a viewer’s token is refused with 403 and no token with 401, in the error envelope', async () => {
    const asViewer = await ts.request('/api/admin/events', { as: viewer });
    assert.equal(asViewer.status, 403);
    assert.equal(asViewer.json().error.code, 'AUTH_FORBIDDEN');
    const anonymous = await ts.request('/api/admin/events', { as: false });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.json().error.code, 'AUTH_INVALID_TOKEN');
    const post = await ts.request('/api/admin/events', { method: 'POST', body: {} });
    assert.equal(post.status, 405);
  });
});

describe('when the feed ticks', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer((lib) => copySample(lib, 'final-table.mp4'), [], { feed: { streamsTickMs: 100, metricsTickMs: 100, keepAliveMs: 100 } });
  });
  after(() => ts.close());

  it('sends stream lists, metric samples kept for a reopened console, and keep-alive comments', async () => {
    const feed = await feedOf(ts);
    try {
      const tick = await feed.waitFor((e) => e.event === 'metrics.tick');
      assert.equal(typeof tick.json().sample.bandwidth_bps, 'number');
      assert.ok(Array.isArray(tick.json().metrics.alerts));
      await feed.waitFor((e) => e.event === 'streams.tick');
      const deadline = Date.now() + 3_000;
      while (!feed.comments.includes('keep-alive') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(feed.comments.includes('keep-alive'));
    } finally {
      feed.close();
    }
    const reopened = await feedOf(ts);
    try {
      const snap = (await reopened.waitFor((e) => e.event === 'snapshot')).json<ConsoleSnapshot>();
      assert.ok(snap.history.length >= 1, 'the snapshot carries the samples taken so far');
      assert.ok(snap.history.every((s, i, all) => i === 0 || s.t >= all[i - 1]!.t));
    } finally {
      reopened.close();
    }
  });
});

describe('when one console stops reading', () => {
  let ts: TestServer;
  const size = 4 * 1024 * 1024;
  before(async () => {
    ts = await startTestServer((lib) => writeOffsetFile(path.join(lib, 'bytes.mp4'), size), [], { feed: { ...QUIET, queueLimit: 64, writeTimeoutMs: 1_500 } });
  });
  after(() => ts.close());

  it('the other console gets every event at once, range requests stay fast, and the stalled one is cut', async () => {
    const healthy = await feedOf(ts);
    await healthy.waitFor((e) => e.event === 'snapshot');
    // A console whose socket never reads: the server's writes back up behind it.
    const stalled = connect(Number(new URL(ts.url).port), '127.0.0.1');
    await new Promise<void>((resolve) => stalled.once('connect', resolve));
    stalled.write(`GET /api/admin/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ts.adminToken}\r\n\r\n`);
    await new Promise<void>((resolve) => stalled.once('data', () => resolve()));
    stalled.pause();
    stalled.on('error', () => undefined);
    const deadline = Date.now() + 5_000;
    while (ts.server.feed.clients().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(ts.server.feed.clients().length, 2);

    const message = 'x'.repeat(60_000);
    const id = ts.idOf('bytes.mp4');
    let worstEmitMs = 0;
    let worstRangeMs = 0;
    let maxQueued = 0;
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      ts.server.streams.bus.emit('stream.error', { session_id: null, user_id: null, content_id: id, error_code: 'TEST', error_message: `${i} ${message}`, timestamp: new Date().toISOString() });
      worstEmitMs = Math.max(worstEmitMs, performance.now() - t0);
      for (const c of ts.server.feed.clients()) maxQueued = Math.max(maxQueued, c.queued);
      if (i % 20 === 0) {
        const r0 = performance.now();
        const res = await ts.request(`/api/stream/${id}`, { headers: { range: `bytes=${i * 1000}-${i * 1000 + 65535}`, authorization: `Bearer ${ts.adminToken}` } });
        assert.equal(res.status, 206);
        worstRangeMs = Math.max(worstRangeMs, performance.now() - r0);
      }
      await new Promise((r) => setImmediate(r));
    }
    const last = await healthy.waitFor((e) => e.event === 'stream.error' && e.json().error_message.startsWith('199 '), 5_000);
    assert.ok(last);
    const errors = healthy.events.filter((e) => e.event === 'stream.error');
    assert.equal(errors.length, 200, 'the reading console got every event');
    assert.ok(worstEmitMs < 50, `an emit took ${worstEmitMs.toFixed(1)} ms`);
    assert.ok(worstRangeMs < 500, `a range request took ${worstRangeMs.toFixed(1)} ms`);
    assert.ok(maxQueued <= 64, `a queue held ${maxQueued} frames`);
    // Cut for its write timeout (or its full queue); a paused socket would not even notice, so ask the server.
    const cutBy = Date.now() + 5_000;
    while (ts.server.feed.clients().length > 1 && Date.now() < cutBy) await new Promise((r) => setTimeout(r, 20));
    assert.equal(ts.server.feed.clients().length, 1, 'only the reading console is left');
    stalled.destroy();
    healthy.close();
  });
});

describe('one SSE connection on a socket that backs up', () => {
  let server: Server;
  let url: string;
  let onRequest: (res: import('node:http').ServerResponse) => void = () => undefined;
  before(async () => {
    server = createServer((_req, res) => onRequest(res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  /** Opens a connection that never reads and hands back the server side's client. */
  async function stalledClient(queueLimit: number, writeTimeoutMs: number): Promise<{ client: SseClient; ended: Promise<SseEnd> }> {
    let endedWith!: (why: SseEnd) => void;
    const ended = new Promise<SseEnd>((r) => (endedWith = r));
    const made = new Promise<SseClient>((resolve) => {
      onRequest = (res) => resolve(new SseClient(res, { queueLimit, writeTimeoutMs, keepAliveMs: 60_000 }, endedWith));
    });
    const sock = connect(Number(new URL(url).port), '127.0.0.1');
    sock.on('error', () => undefined);
    sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    sock.pause();
    const client = await made;
    // Far more than the socket buffers hold: the writes back up.
    for (let i = 0; i < 40; i++) client.send(`data: ${'y'.repeat(1 << 20)}\n\n`, false);
    return { client, ended };
  }

  it('drops the oldest droppable frames when its queue is full, and keeps the others', async () => {
    const { client } = await stalledClient(45, 60_000);
    const before = client.queued;
    for (let i = 0; i < 10; i++) client.send(`event: metrics.tick\ndata: ${i}\n\n`, true);
    assert.ok(client.queued <= 45);
    assert.ok(client.dropped > 0, 'some ticks were dropped');
    assert.equal(client.dropped, Math.max(0, before + 10 - 45));
    client.close('server');
  });

  it('with nothing droppable left, it closes (the browser reconnects and resumes)', async () => {
    const { ended } = await stalledClient(5, 60_000);
    assert.equal(await ended, 'overflow');
  });

  it('a socket that does not drain within the write timeout is cut', async () => {
    const { ended } = await stalledClient(1000, 300);
    const t0 = Date.now();
    assert.equal(await ended, 'write_timeout');
    assert.ok(Date.now() - t0 < 2_000);
  });
});
