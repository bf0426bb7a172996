/**
 * The operator console in real Chromium against a real server: a viewer's stream appears live with its
 * source and a moving byte rate; the operator ends it with a reason the viewer's page then shows (and the
 * next range request is refused); approving a pending account lets it log in; disabling a streaming user
 * frees their slots at once; the charts draw the sampled metrics; a viewer gets "admins only".
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { copySample, makeLongClip } from '../test/helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../test/helpers/server.ts';
import { launchChromium, logInBrowser, throttleDownload } from './helpers/browser.ts';

const PASSWORD = 'viewer-password';

async function openConsole(browser: Browser, ts: TestServer, hash = '#/now'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await logInBrowser(context, ts);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${ts.url}/console/${hash}`);
  await page.waitForSelector('#feed-state.live');
  return { context, page };
}

/** How many pixels of a chart's canvas are drawn on. */
function drawnPixels(page: Page, chartId: string): Promise<number> {
  return page.evaluate((id) => {
    const canvas = document.querySelector(`#${id} canvas`) as HTMLCanvasElement | null;
    if (!canvas) return 0;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
    return n;
  }, chartId);
}

describe('when an operator runs the console', () => {
  let browser: Browser;
  let ts: TestServer;
  before(async () => {
    browser = await launchChromium();
    ts = await startTestServer((lib) => Promise.all([copySample(lib, 'final-table.mp4'), makeLongClip(path.join(lib, 'long-clip.mp4'))]), ['--max-streams-per-user', '3'], { feed: { metricsTickMs: 500 } });
    await ts.server.auth.createUser({ username: 'viewer-kim', password: PASSWORD, role: 'viewer', status: 'active' });
    await ts.server.auth.createUser({ username: 'viewer-joe', password: PASSWORD, role: 'viewer', status: 'active' });
  });
  after(async () => {
    await browser?.close();
    await ts?.close();
  });

  it('a viewer’s stream appears within 2 s with its source and a moving byte rate; ending it with a reason stops the viewer and tells them why', async () => {
    const { context: admin, page: consolePage } = await openConsole(browser, ts);
    const viewer = await browser.newContext();
    try {
      await logInBrowser(viewer, ts, { username: 'viewer-kim', password: PASSWORD });
      const watch = await viewer.newPage();
      // A slow line keeps the clip downloading, so the byte rate moves and a request is in flight.
      await throttleDownload(watch, 150_000);
      const id = ts.idOf('long-clip.mp4');
      const started = watch.waitForResponse((r) => r.url().endsWith(`/api/stream/${id}/start`));
      await watch.goto(`${ts.url}/watch/${id}`);
      const startRes = await started;
      const startedAt = Date.now();
      const sid = ((await startRes.json()) as { session_id: string }).session_id;
      const row = consolePage.locator(`tr.stream[data-session-id="${sid}"]`);
      await row.waitFor({ timeout: 2_000 });
      assert.ok(Date.now() - startedAt < 2_000, `appeared after ${Date.now() - startedAt} ms`);
      assert.equal(await row.locator('.user').innerText(), 'viewer-kim');
      assert.equal(await row.locator('.source').innerText(), 'NAS');

      // The rate is what the server sent: it rises from zero and keeps changing with each tick.
      const rates: number[] = [];
      const deadline = Date.now() + 12_000;
      while (Date.now() < deadline) {
        rates.push(Number(await row.locator('.rate').getAttribute('data-bps')));
        if (new Set(rates.filter((r) => r > 0)).size >= 2) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(new Set(rates.filter((r) => r > 0)).size >= 2, `rates seen: ${rates.join(', ')}`);

      await row.locator('button.end-stream').click();
      await consolePage.fill('#end-reason', 'Maintenance at 23:00');
      await consolePage.click('#end-confirm');
      await row.waitFor({ state: 'detached', timeout: 3_000 });
      assert.equal(ts.server.streams.activeSessions().length, 0);

      const message = watch.locator('.error-message');
      await message.waitFor({ timeout: 8_000 });
      assert.match(await message.innerText(), /Maintenance at 23:00/);
      const streamUrl = ((await startRes.json()) as { stream_url: string }).stream_url;
      const next = await watch.evaluate(async (u) => {
        const r = await fetch(u, { headers: { range: 'bytes=0-1023' } });
        return { status: r.status, body: (await r.json()) as { error: { code: string; message: string } } };
      }, streamUrl);
      assert.equal(next.status, 410);
      assert.equal(next.body.error.code, 'STREAM_SESSION_ENDED');
      assert.match(next.body.error.message, /Maintenance at 23:00/);
    } finally {
      await viewer.close();
      await admin.close();
    }
  });

  it('approving a pending account from the Users page lets it log in', async () => {
    const { context, page } = await openConsole(browser, ts, '#/users');
    try {
      const pending = await ts.server.auth.register('pending-lee', PASSWORD);
      assert.equal((await ts.request('/api/auth/login', { method: 'POST', as: false, body: { username: 'pending-lee', password: PASSWORD } })).status, 403);
      await page.waitForSelector('#pending-badge', { timeout: 8_000 });
      const row = page.locator('tr.user[data-username="pending-lee"]');
      await row.locator('button.approve').click();
      await row.locator('.status.active').waitFor();
      assert.equal(ts.server.auth.getUser(pending.id)!.status, 'active');
      assert.equal((await ts.request('/api/auth/login', { method: 'POST', as: false, body: { username: 'pending-lee', password: PASSWORD } })).status, 200);
      await page.waitForSelector('#pending-badge', { state: 'detached' });
    } finally {
      await context.close();
    }
  });

  it('disabling a streaming user ends their streams and frees their slots at once', async () => {
    const { context, page } = await openConsole(browser, ts, '#/users');
    try {
      const token = await ts.login('viewer-joe', PASSWORD);
      const id = ts.idOf('final-table.mp4');
      for (let i = 0; i < 3; i++) assert.equal((await ts.request(`/api/stream/${id}/start`, { method: 'POST', as: token })).status, 201);
      const refused = await ts.request(`/api/stream/${id}/start`, { method: 'POST', as: token });
      assert.equal(refused.status, 429);
      const joe = ts.server.auth.findUser('viewer-joe');
      assert.equal(ts.server.streams.activeSessions().filter((s) => s.userId === joe.id).length, 3);

      const disabled = page.waitForResponse((r) => r.url().endsWith(`/api/admin/users/${joe.id}/disable`));
      await page.locator('tr.user[data-username="viewer-joe"] button.disable').click();
      assert.equal((await disabled).status(), 200);
      assert.equal(ts.server.streams.activeSessions().filter((s) => s.userId === joe.id).length, 0, 'no stream left the moment the answer came');

      // The Slots page (the same page, no reload) shows the freed slots at once and the start the limit refused.
      await page.click('nav a[data-page="slots"]');
      await page.locator('.meter[data-label="Server"] .meter-count', { hasText: '0 / 100' }).waitFor({ timeout: 1_000 });
      assert.equal(await page.locator('.meter[data-label="viewer-joe"]').count(), 0);
      assert.match(await page.locator('table.refused').innerText(), /viewer-joe.*user limit 3 \/ 3/s);
    } finally {
      await context.close();
    }
  });

  it('the metrics page draws the sampled history as charts', async () => {
    const token = await ts.login('viewer-kim', PASSWORD);
    const id = ts.idOf('final-table.mp4');
    assert.equal((await ts.request(`/api/stream/${id}/start`, { method: 'POST', as: token })).status, 201);
    await new Promise((r) => setTimeout(r, 1_200)); // two more samples at the test's 500 ms tick
    const { context, page } = await openConsole(browser, ts, '#/metrics');
    try {
      await page.waitForSelector('#chart-active canvas');
      await page.waitForSelector('#chart-bandwidth canvas');
      assert.match(await page.locator('#card-active .figure').innerText(), /^1$/);
      for (const chart of ['chart-active', 'chart-bandwidth', 'chart-hit', 'chart-errors']) {
        assert.ok((await drawnPixels(page, chart)) > 100, `${chart} drew nothing`);
      }
    } finally {
      await context.close();
    }
  });

  it('a viewer who opens /console/ gets a clear "admins only" page', async () => {
    const context = await browser.newContext();
    try {
      await logInBrowser(context, ts, { username: 'viewer-kim', password: PASSWORD });
      const page = await context.newPage();
      await page.goto(`${ts.url}/console/`);
      await page.waitForSelector('#admins-only');
      assert.match(await page.locator('#admins-only').innerText(), /Admins only/);
      const status = await page.evaluate(async () => (await fetch('/api/admin/events')).status);
      assert.equal(status, 403);
    } finally {
      await context.close();
    }
  });
});
