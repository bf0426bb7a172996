/**
 * Cross-site request forgery in real Chromium. The operator is logged in to the server (an HttpOnly,
 * SameSite=Lax cookie); a page on another port of the same host, which the browser treats as the same
 * site and so sends the cookie to, auto-submits a form that would approve a pending account. The server
 * refuses it; the same action from the server's own page still works.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { copySample } from '../test/helpers/fixtures.ts';
import { startTestServer, TEST_ADMIN_PASSWORD, type TestServer } from '../test/helpers/server.ts';
import { launchChromium } from './helpers/browser.ts';

describe('when a page on another port of the host posts a form to the server with the admin’s cookie', () => {
  let ts: TestServer;
  let browser: Browser;
  let evil: Server;
  let evilUrl: string;
  let pendingId: string;

  before(async () => {
    ts = await startTestServer((lib) => copySample(lib, 'final-table.mp4'));
    pendingId = (await ts.server.auth.register('pending-pat', 'pending-password')).id;
    const target = `${ts.url}/api/admin/users/${pendingId}/approve`;
    evil = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><title>prize</title><form id="f" method="POST" action="${target}"><input name="x" value="1"></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await new Promise((r) => evil.close(r));
    await ts.close();
  });

  it('the forged approval is refused with 403 and the account stays pending; the server’s own page still approves', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(ts.url + '/');
    await page.fill('#login-form [name=username]', 'admin');
    await page.fill('#login-form [name=password]', TEST_ADMIN_PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('.tile', { timeout: 10_000 });
    assert.ok((await context.cookies(ts.url)).some((c) => c.name === 'wsoptv_token' && c.sameSite === 'Lax'));

    const forged = page.waitForResponse((r) => r.url().endsWith(`/users/${pendingId}/approve`), { timeout: 10_000 });
    await page.goto(evilUrl);
    const res = await forged;
    const sent = await res.request().allHeaders();
    assert.match(sent.cookie ?? '', /wsoptv_token=/, 'the browser did send the cookie (same site)');
    assert.equal(sent['sec-fetch-site'], 'same-site');
    assert.equal(res.status(), 403);
    assert.equal((await res.json()).error.code, 'AUTH_CROSS_SITE');
    assert.equal(ts.server.auth.getUser(pendingId)!.status, 'pending');

    await page.goto(ts.url + '/');
    const status = await page.evaluate(async (url) => (await fetch(url, { method: 'POST', credentials: 'same-origin' })).status, `/api/admin/users/${pendingId}/approve`);
    assert.equal(status, 200);
    assert.equal(ts.server.auth.getUser(pendingId)!.status, 'active');
    await context.close();
  });
});
