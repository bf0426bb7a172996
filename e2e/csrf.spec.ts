/**
 * Cross-site request forgery in real Chromium. The operator is logged in to the server (an HttpOnly,
 * SameSite=Lax cookie); a page on another port of the same host, which the browser treats as the same
 * site and so sends the cookie to, auto-submits a form that would approve a pending account. The server
 * refuses it; the same action from the server's own page still works.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_PASSWORD, expect, logInThroughForm, test } from './fixtures.ts';

/** A page on another port of the host that posts a form to `target` as soon as it loads. */
async function startEvilSite(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const evil: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><title>prize</title><form id="f" method="POST" action="${target}"><input name="x" value="1"></form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => evil.close(() => resolve())),
  };
}

test.describe('when a page on another port of the host posts a form to the server with the admin’s cookie', () => {
  test('the forged approval is refused with 403 and the account stays pending; the server’s own page still approves', async ({ browser, server }, info) => {
    const pendingId = (await server.server.auth.register(`pending-pat-w${info.workerIndex}-${Date.now()}`, 'pending-password')).id;
    const evil = await startEvilSite(`${server.url}/api/admin/users/${pendingId}/approve`);
    const context = await browser.newContext({ baseURL: server.url });
    try {
      const page = await context.newPage();
      await logInThroughForm(page, 'admin', ADMIN_PASSWORD);
      await expect(page.locator('.tile').first()).toBeVisible();
      expect((await context.cookies(server.url)).some((c) => c.name === 'wsoptv_token' && c.sameSite === 'Lax')).toBe(true);

      const forged = page.waitForResponse((r) => r.url().endsWith(`/users/${pendingId}/approve`));
      await page.goto(evil.url);
      const res = await forged;
      const sent = await res.request().allHeaders();
      expect(sent.cookie ?? '', 'the browser did send the cookie (same site)').toMatch(/wsoptv_token=/);
      expect(sent['sec-fetch-site']).toBe('same-site');
      expect(res.status()).toBe(403);
      expect((await res.json()).error.code).toBe('AUTH_CROSS_SITE');
      expect(server.server.auth.getUser(pendingId)!.status).toBe('pending');

      await page.goto('/');
      const status = await page.evaluate(async (url) => (await fetch(url, { method: 'POST', credentials: 'same-origin' })).status, `/api/admin/users/${pendingId}/approve`);
      expect(status).toBe(200);
      expect(server.server.auth.getUser(pendingId)!.status).toBe('active');
    } finally {
      await context.close();
      await evil.close();
    }
  });
});
