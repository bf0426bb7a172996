/**
 * Replacing a video's hands over HTTP: the document is checked whole (schema and rules), the sidecar is
 * rewritten atomically and the catalogue follows; an invalid document changes nothing anywhere.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { copySample } from './helpers/fixtures.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const hand = (index: number, start: number, end: number, is_best = false) => ({ index, start, end, is_best });

describe('when an admin replaces a video’s hands', () => {
  let ts: TestServer;
  let id: string;
  let sidecar: string;
  let duration: number;
  before(async () => {
    ts = await startTestServer((lib) => copySample(lib, 'final.mp4'));
    id = ts.idOf('final.mp4');
    sidecar = path.join(ts.libraryDir, 'final.json');
    duration = (await ts.request(`/api/stream/${id}/info`)).json().duration_seconds;
  });
  after(() => ts.close());

  const put = (body: unknown, as?: string) => ts.request(`/api/admin/contents/${id}/hands`, { method: 'PUT', body, as });

  it('valid hands replace the old ones in the catalogue and in the sidecar, and the title stays', async () => {
    const title = (await ts.request(`/api/contents/${id}`)).json().title;
    const res = await put({ hands: [hand(2, 8, 12, true), hand(1, 1, 5)] });
    assert.equal(res.status, 200, res.body.toString());
    const body = res.json();
    assert.deepEqual(body.hands, [hand(1, 1, 5), hand(2, 8, 12, true)], 'sorted by start');
    assert.deepEqual(body.skip_zones, [{ start: 0, end: 1 }, { start: 5, end: 8 }]);
    assert.equal(body.best_hands_count, 1);
    assert.equal(body.action_duration, 8);
    assert.equal(body.content.title, title);
    const info = (await ts.request(`/api/stream/${id}/info`)).json();
    assert.deepEqual(info.hands, body.hands);
    const onDisk = JSON.parse(await readFile(sidecar, 'utf8'));
    assert.deepEqual(onDisk, { title, hands: body.hands });
    assert.deepEqual((await readdir(ts.libraryDir)).filter((n) => n.startsWith('.')), [], 'no temporary file is left');
    const report = await ts.server.library.scan();
    assert.equal(report.updated, 0, 'the next scan finds the catalogue already current');
  });

  it('a new title in the document is taken; an empty list of hands clears them', async () => {
    const res = await put({ title: 'Final table, edited', hands: [] });
    assert.equal(res.status, 200);
    assert.equal(res.json().content.title, 'Final table, edited');
    assert.deepEqual(res.json().hands, []);
    assert.deepEqual(JSON.parse(await readFile(sidecar, 'utf8')), { title: 'Final table, edited', hands: [] });
  });

  const invalid: [string, unknown, RegExp][] = [
    ['overlapping hands', { hands: [hand(1, 0, 10), hand(2, 5, 15)] }, /hand 2 .*overlaps hand 1/],
    ['an end before the start', { hands: [hand(1, 10, 4)] }, /hand 1 ends \(4 s\) before it starts/],
    ['a hand past the duration', { hands: [hand(1, 0, 100_000)] }, /past the video's/],
    ['times that are not numbers', { hands: [{ index: 1, start: '0', end: 5 }] }, /hands\[0\]\.start must be a number/],
    ['is_best that is not a boolean', { hands: [{ index: 1, start: 0, end: 5, is_best: 1 }] }, /hands\[0\]\.is_best/],
    ['a duplicate index', { hands: [hand(1, 0, 1), hand(1, 2, 3)] }, /index 1 appears twice/],
    ['hands that are not a list', { hands: { 1: hand(1, 0, 1) } }, /hands must be an array/],
    ['a body that is a list', [hand(1, 0, 1)], /must be a JSON object/],
  ];
  for (const [what, body, problem] of invalid) {
    it(`${what}: 400 naming the problem, and nothing changes`, async () => {
      const before = await readFile(sidecar, 'utf8');
      const beforeInfo = (await ts.request(`/api/stream/${id}/info`)).json();
      const res = await put(body);
      assert.equal(res.status, 400, res.body.toString());
      const err = res.json().error;
      assert.equal(err.code, 'VALIDATION_FAILED');
      assert.match(err.details.problem, problem);
      assert.ok(err.message.includes(err.details.problem), `the sentence names the problem: ${err.message}`);
      assert.equal(await readFile(sidecar, 'utf8'), before);
      assert.deepEqual((await ts.request(`/api/stream/${id}/info`)).json(), beforeInfo);
    });
  }

  it('more than 10,000 hands: 400, and exactly 10,000 is accepted', async () => {
    // Hands that fit the sample's duration, whatever their number: a step of duration / 10,002.
    const step = duration / 10_002;
    const many = (n: number) => Array.from({ length: n }, (_, i) => hand(i + 1, i * step, i * step + step / 2));
    const over = await put({ hands: many(10_001) });
    assert.equal(over.status, 400);
    assert.match(over.json().error.details.problem, /more than 10000 hands/);
    const max = await put({ hands: many(10_000) });
    assert.equal(max.status, 200, max.body.toString().slice(0, 200));
    assert.equal(max.json().hands.length, 10_000);
  });

  it('a viewer may not edit (403), an unknown video is 404, other methods 405', async () => {
    await ts.server.auth.createUser({ username: 'vince', password: 'vince-password', role: 'viewer', status: 'active' });
    const token = await ts.login('vince', 'vince-password');
    assert.equal((await put({ hands: [] }, token)).status, 403);
    assert.equal((await ts.request('/api/admin/contents/nope/hands', { method: 'PUT', body: { hands: [] } })).status, 404);
    assert.equal((await ts.request(`/api/admin/contents/${id}/hands`, { method: 'POST', body: { hands: [] } })).status, 405);
  });
});
