/**
 * Cross-site request forgery over HTTP, with the headers a browser really sends: a form on another site
 * or on another port of this host carries the admin's cookie, an Origin and Sec-Fetch-Site. The same
 * actions from the server's own page, and with a Bearer token, still work.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { crossSiteRefusal } from '../app/server/same-origin.ts';
import { writeOffsetFile } from './helpers/fixtures.ts';
import { rawRequest, startTestServer, TEST_ADMIN_PASSWORD, type TestServer } from './helpers/server.ts';
import type { IncomingMessage } from 'node:http';

/** Logs in like the viewer page does and returns the cookie pair. */
async function cookieOf(ts: TestServer, username: string, password: string): Promise<string> {
  const res = await rawRequest(`${ts.url}/api/auth/login`, { method: 'POST', body: { username, password } });
  assert.equal(res.status, 200);
  return String(res.headers['set-cookie']).split(';')[0]!;
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('when another site posts a form with the admin’s cookie', () => {
  let ts: TestServer;
  let adminCookie: string;
  let pendingId: string;
  let own: string;
  before(async () => {
    ts = await startTestServer((lib) => writeOffsetFile(path.join(lib, 'a.mp4'), 10_000), ['--max-streams-per-user', '3']);
    adminCookie = await cookieOf(ts, 'admin', TEST_ADMIN_PASSWORD);
    pendingId = (await ts.server.auth.register('pending-pat', 'pending-password')).id;
    own = ts.url;
  });
  after(() => ts.close());

  const statusOfPat = (): string => ts.server.auth.getUser(pendingId)!.status;

  it('a form from evil.example (Sec-Fetch-Site cross-site) approves nobody: 403 AUTH_CROSS_SITE', async () => {
    const res = await ts.request(`/api/admin/users/${pendingId}/approve`, {
      method: 'POST',
      headers: { ...form, cookie: adminCookie, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' },
      body: 'x=1',
    });
    assert.equal(res.status, 403);
    assert.equal(res.json().error.code, 'AUTH_CROSS_SITE');
    assert.equal(statusOfPat(), 'pending');
  });

  it('a form from another port of the same host (same-site to SameSite=Lax) is refused too', async () => {
    const other = new URL(own);
    other.port = String(Number(other.port) === 65535 ? 1 : Number(other.port) + 1);
    const res = await ts.request(`/api/admin/users/${pendingId}/disable`, {
      method: 'POST',
      headers: { ...form, cookie: adminCookie, origin: other.origin, 'sec-fetch-site': 'same-site' },
      body: '',
    });
    assert.equal(res.status, 403);
    assert.equal(statusOfPat(), 'pending');
  });

  it('a form that sends no Origin (a privacy extension strips it) but text/plain is refused with the cookie', async () => {
    const res = await ts.request(`/api/admin/users/${pendingId}/approve`, { method: 'POST', headers: { 'content-type': 'text/plain', cookie: adminCookie }, body: '{}' });
    assert.equal(res.status, 403);
    assert.equal(statusOfPat(), 'pending');
  });

  it('an Origin of "null" (a sandboxed frame, a file: page) is refused', async () => {
    const res = await ts.request(`/api/admin/users/${pendingId}/approve`, { method: 'POST', headers: { ...form, cookie: adminCookie, origin: 'null' }, body: '' });
    assert.equal(res.status, 403);
  });

  it('a viewer’s slot cannot be taken by a cross-site form POST to /start', async () => {
    await ts.server.auth.createUser({ username: 'vera', password: 'vera-password', role: 'viewer', status: 'active' });
    const cookie = await cookieOf(ts, 'vera', 'vera-password');
    const id = ts.idOf('a.mp4');
    const res = await ts.request(`/api/stream/${id}/start`, { method: 'POST', headers: { ...form, cookie, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }, body: '' });
    assert.equal(res.status, 403);
    assert.equal(ts.server.streams.activeSessions().length, 0);
  });

  it('the server’s own page (same Origin, Sec-Fetch-Site same-origin) still acts with the cookie', async () => {
    const res = await ts.request(`/api/admin/users/${pendingId}/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: adminCookie, origin: own, 'sec-fetch-site': 'same-origin' },
      body: {},
    });
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(statusOfPat(), 'active');
  });

  it('a client without browser headers may act with the cookie when it sends JSON (a form cannot)', async () => {
    const res = await ts.request(`/api/admin/users/${pendingId}/disable`, { method: 'POST', headers: { cookie: adminCookie, 'content-type': 'application/json' }, body: {} });
    assert.equal(res.status, 200);
    assert.equal(statusOfPat(), 'disabled');
  });

  it('Bearer-token requests are unaffected, whatever Origin they carry', async () => {
    const res = await ts.request(`/api/admin/users/${pendingId}/enable`, { method: 'POST', headers: { origin: 'http://tool.example', 'sec-fetch-site': 'cross-site' } });
    assert.equal(res.status, 200);
    assert.equal(statusOfPat(), 'active');
  });

  it('an origin the operator allowed with --cors-origin may act', () => {
    const req = { method: 'POST', headers: { origin: 'http://console.lan:9000', 'sec-fetch-site': 'cross-site', host: '127.0.0.1:8000', cookie: 'wsoptv_token=x' } } as unknown as IncomingMessage;
    assert.equal(crossSiteRefusal(req, new Set(['http://console.lan:9000'])), undefined);
    assert.equal(crossSiteRefusal(req, new Set()), 'http://console.lan:9000');
  });

  it('reading (GET, HEAD) is never refused: a <video src> keeps working', async () => {
    const id = ts.idOf('a.mp4');
    const res = await ts.request(`/api/stream/${id}`, { headers: { cookie: adminCookie, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', range: 'bytes=0-9' } });
    assert.equal(res.status, 206);
  });
});
