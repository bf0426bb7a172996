/**
 * The built web UIs as the server serves them: the viewer at /, the console at /console/, hashed assets
 * cached for a year, the pages revalidated every time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';

describe('when a browser loads the web UIs', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(() => ts.close());

  for (const [page, marker] of [['/', 'id="view"'], ['/console/', 'id="app"']] as const) {
    it(`${page} is the built page, revalidated on every load, and its hashed assets are cached for a year`, async () => {
      const res = await ts.request(page, { as: false });
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /text\/html/);
      assert.equal(res.headers['cache-control'], 'no-cache');
      const html = res.body.toString();
      assert.ok(html.includes(marker));
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      assert.ok(assets.some((a) => /-[A-Za-z0-9_-]{8}\.js$/.test(a)), `a hashed script in ${html}`);
      for (const a of assets) {
        const asset = await ts.request(a, { as: false });
        assert.equal(asset.status, 200, a);
        assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable', a);
      }
    });
  }

  it('the viewer’s real URLs (/login, /watch/{id}) answer its page; any other path stays the JSON 404', async () => {
    const root = (await ts.request('/', { as: false })).body.toString();
    for (const page of ['/login', '/login?next=%2Fwatch%2Fabc', '/watch/Abc_123-x', '/watch/content-1?reel=1']) {
      const res = await ts.request(page, { as: false });
      assert.equal(res.status, 200, page);
      assert.equal(res.headers['cache-control'], 'no-cache', page);
      assert.equal(res.body.toString(), root, `${page} is the viewer page`);
    }
    for (const miss of ['/watch', '/watch/', '/watch/a/b', '/watch/a.mp4', '/login/x', '/library', '/index.htm']) {
      const res = await ts.request(miss, { as: false });
      assert.equal(res.status, 404, miss);
      assert.equal(res.json().error.code, 'ROUTE_NOT_FOUND', miss);
    }
    const api = await ts.request('/api/no-such-route');
    assert.equal(api.status, 404);
    assert.equal(api.json().error.code, 'ROUTE_NOT_FOUND');
    const post = await ts.request('/login', { method: 'POST', as: false });
    assert.notEqual(post.status, 200, 'only GET and HEAD serve the page');
  });

  it('/console redirects to /console/, and a missing asset is the JSON 404 envelope', async () => {
    const res = await ts.request('/console', { as: false });
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, '/console/');
    const missing = await ts.request('/assets/nothing-here-12345678.js', { as: false });
    assert.equal(missing.status, 404);
    assert.equal(missing.json().error.code, 'ROUTE_NOT_FOUND');
  });
});
