/**
 * The operator console in real Chromium against a real server: a viewer's stream appears live with its
 * source and a moving byte rate; the operator ends it with a reason the viewer's page then shows (and the
 * next range request is refused); approving a pending account lets it log in; disabling a streaming user
 * frees their slots at once; the charts draw the sampled metrics; a viewer gets "admins only".
 *
 * "Admins only" runs on the worker's server with an account of its own. The other tests read the whole
 * server (every stream, the pending badge, the server's meter, the active-streams figure) and get a
 * server of their own with a per-user limit of 3: `live` plays a 60 s clip of a high bitrate; `lone`
 * has one sample, samples metrics every 500 ms, and pushes its periodic streams tick out of reach, so
 * that whatever the Slots page shows came from the events the feed sends the moment something happens.
 */
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { copySample } from '../test/helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../test/helpers/server.ts';
import { expect, test as base, VIEWER_PASSWORD } from './fixtures.ts';
import { CLIPS_DIR } from './global-setup.ts';
import { logInBrowser, throttleDownload } from './helpers/browser.ts';

/** The per-user limit of the tests' own servers. */
const LIMIT = 3;
const LIMIT_FLAGS = ['--max-streams-per-user', String(LIMIT)];

const test = base.extend<{ live: TestServer; lone: TestServer }>({
  live: async ({}, use) => {
    const ts = await startTestServer((lib) => copyFile(path.join(CLIPS_DIR, 'live.mp4'), path.join(lib, 'long-clip.mp4')), LIMIT_FLAGS);
    await use(ts);
    await ts.close();
  },
  lone: async ({}, use) => {
    const ts = await startTestServer((lib) => copySample(lib, 'final-table.mp4'), LIMIT_FLAGS, {
      feed: { metricsTickMs: 500, streamsTickMs: 10 * 60_000 },
    });
    await use(ts);
    await ts.close();
  },
});

/** A context logged in as the admin, on the console page `hash`, once its feed is live. */
async function openConsole(browser: Browser, ts: TestServer, hash = '#/now'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: ts.url, viewport: { width: 1400, height: 900 } });
  await logInBrowser(context, ts);
  const page = await context.newPage();
  await page.goto(`/console/${hash}`);
  await expect(page.locator('#feed-state.live')).toBeVisible();
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

const activeOf = (ts: TestServer, username: string): number => {
  const id = ts.server.auth.findUser(username).id;
  return ts.server.streams.activeSessions().filter((s) => s.userId === id).length;
};

test.describe('when an operator runs the console', () => {
  test('a viewer’s stream appears within 2 s with its source and a moving byte rate; ending it with a reason stops the viewer and tells them why', async ({ browser, live }) => {
    test.setTimeout(120_000);
    await live.server.auth.createUser({ username: 'viewer-kim', password: VIEWER_PASSWORD, role: 'viewer', status: 'active' });
    const { context: admin, page: consolePage } = await openConsole(browser, live);
    const viewer = await browser.newContext({ baseURL: live.url });
    try {
      await logInBrowser(viewer, live, { username: 'viewer-kim', password: VIEWER_PASSWORD });
      const watch = await viewer.newPage();
      // A slow line keeps the clip downloading, so the byte rate moves and a request is in flight.
      await throttleDownload(watch, 150_000);
      const id = live.idOf('long-clip.mp4');
      // The console notes when each stream's row enters the page, so that the 2 s are measured in the browser
      // (from the viewer's start answer to the row), not with this process's own delays on a busy machine.
      await consolePage.evaluate(() => {
        const seen: Record<string, number> = {};
        (window as unknown as { rowSeenAt: Record<string, number> }).rowSeenAt = seen;
        new MutationObserver(() => {
          for (const tr of document.querySelectorAll('tr.stream[data-session-id]')) {
            const sid = tr.getAttribute('data-session-id')!;
            if (!(sid in seen)) seen[sid] = Date.now();
          }
        }).observe(document.body, { childList: true, subtree: true });
      });
      const started = watch.waitForResponse((r) => r.url().endsWith(`/api/stream/${id}/start`));
      await watch.goto(`/watch/${id}`);
      const startRes = await started;
      const timing = startRes.request().timing();
      const answeredAt = timing.startTime + timing.responseStart;
      const { session_id: sid, stream_url: streamUrl } = (await startRes.json()) as { session_id: string; stream_url: string };
      const row = consolePage.locator(`tr.stream[data-session-id="${sid}"]`);
      await expect(row).toBeVisible();
      const seenAt = await consolePage.evaluate((s) => (window as unknown as { rowSeenAt: Record<string, number> }).rowSeenAt[s], sid);
      expect(seenAt! - answeredAt, 'ms from the start answer to the row').toBeLessThan(2_000);
      await expect(row.locator('.user')).toHaveText('viewer-kim');
      await expect(row.locator('.source')).toHaveText('NAS');

      // The rate is what the server sent: it rises from zero and keeps changing with each tick.
      const rates: number[] = [];
      await expect
        .poll(
          async () => {
            rates.push(Number(await row.locator('.rate').getAttribute('data-bps')));
            return new Set(rates.filter((r) => r > 0)).size >= 2 ? 'moving' : `rates seen: ${rates.join(', ')}`;
          },
          { message: 'two different non-zero byte rates', timeout: 20_000, intervals: [500] },
        )
        .toBe('moving');

      await row.locator('button.end-stream').click();
      await consolePage.fill('#end-reason', 'Maintenance at 23:00');
      await consolePage.click('#end-confirm');
      await expect(row).toHaveCount(0);
      expect(live.server.streams.activeSessions()).toHaveLength(0);

      await expect(watch.locator('.error-message')).toContainText('Maintenance at 23:00');
      const next = await watch.evaluate(async (u) => {
        const r = await fetch(u, { headers: { range: 'bytes=0-1023' } });
        return { status: r.status, body: (await r.json()) as { error: { code: string; message: string } } };
      }, streamUrl);
      expect(next.status).toBe(410);
      expect(next.body.error.code).toBe('STREAM_SESSION_ENDED');
      expect(next.body.error.message).toMatch(/Maintenance at 23:00/);
    } finally {
      await viewer.close();
      await admin.close();
    }
  });

  test('approving a pending account from the Users page lets it log in', async ({ browser, lone }) => {
    const { context, page } = await openConsole(browser, lone, '#/users');
    try {
      const logIn = () => lone.request('/api/auth/login', { method: 'POST', as: false, body: { username: 'pending-lee', password: VIEWER_PASSWORD } });
      await expect(page.locator('#pending-badge')).toHaveCount(0);
      const pending = await lone.server.auth.register('pending-lee', VIEWER_PASSWORD);
      expect((await logIn()).status).toBe(403);
      await expect(page.locator('#pending-badge')).toBeVisible();
      const row = page.locator('tr.user[data-username="pending-lee"]');
      await row.locator('button.approve').click();
      await expect(row.locator('.status.active')).toBeVisible();
      expect(lone.server.auth.getUser(pending.id)!.status).toBe('active');
      expect((await logIn()).status).toBe(200);
      await expect(page.locator('#pending-badge')).toHaveCount(0);
    } finally {
      await context.close();
    }
  });

  test('disabling a streaming user ends their streams and frees their slots at once', async ({ browser, lone }) => {
    await lone.server.auth.createUser({ username: 'viewer-joe', password: VIEWER_PASSWORD, role: 'viewer', status: 'active' });
    const { context, page } = await openConsole(browser, lone, '#/users');
    try {
      const token = await lone.login('viewer-joe', VIEWER_PASSWORD);
      const id = lone.idOf('final-table.mp4');
      for (let i = 0; i < LIMIT; i++) expect((await lone.request(`/api/stream/${id}/start`, { method: 'POST', as: token })).status).toBe(201);
      const refused = await lone.request(`/api/stream/${id}/start`, { method: 'POST', as: token });
      expect(refused.status).toBe(429);
      expect(activeOf(lone, 'viewer-joe')).toBe(LIMIT);

      // The slots as the page holds them before: taken by the starts it was told of.
      await page.click('nav a[data-page="slots"]');
      await expect(page.locator('.meter[data-label="Server"] .meter-count')).toHaveText('3 / 100');
      await expect(page.locator('.meter[data-label="viewer-joe"] .meter-count')).toHaveText('3 / 3');
      await page.click('nav a[data-page="users"]');

      const joe = lone.server.auth.findUser('viewer-joe');
      const disabled = page.waitForResponse((r) => r.url().endsWith(`/api/admin/users/${joe.id}/disable`));
      await page.locator('tr.user[data-username="viewer-joe"] button.disable').click();
      expect((await disabled).status()).toBe(200);
      expect(activeOf(lone, 'viewer-joe'), 'no stream left the moment the answer came').toBe(0);

      // The Slots page (the same page, no reload) shows the freed slots and the start the limit refused,
      // from the feed's events: this server's periodic streams tick does not come within the test.
      await page.click('nav a[data-page="slots"]');
      await expect(page.locator('.meter[data-label="Server"] .meter-count')).toHaveText('0 / 100');
      await expect(page.locator('.meter[data-label="viewer-joe"]')).toHaveCount(0);
      await expect(page.locator('table.refused')).toHaveText(/viewer-joe.*user limit 3 \/ 3/s);
    } finally {
      await context.close();
    }
  });

  test('the metrics page draws the sampled history as charts', async ({ browser, lone }) => {
    await lone.server.auth.createUser({ username: 'viewer-kim', password: VIEWER_PASSWORD, role: 'viewer', status: 'active' });
    const token = await lone.login('viewer-kim', VIEWER_PASSWORD);
    const id = lone.idOf('final-table.mp4');
    expect((await lone.request(`/api/stream/${id}/start`, { method: 'POST', as: token })).status).toBe(201);
    // Two samples with the stream in them in the history the console will be sent.
    await expect.poll(() => lone.server.feed.history().filter((s) => s.active_streams === 1).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    const { context, page } = await openConsole(browser, lone, '#/metrics');
    try {
      await expect(page.locator('#chart-active canvas')).toBeVisible();
      await expect(page.locator('#chart-bandwidth canvas')).toBeVisible();
      await expect(page.locator('#card-active .figure')).toHaveText(/^1$/);
      for (const chart of ['chart-active', 'chart-bandwidth', 'chart-hit', 'chart-errors']) {
        await expect.poll(() => drawnPixels(page, chart), { message: `${chart} drew nothing` }).toBeGreaterThan(100);
      }
    } finally {
      await context.close();
    }
  });

  test('a viewer who opens /console/ gets a clear "admins only" page', async ({ browser, server }) => {
    const username = await server.newUser();
    const context = await browser.newContext({ baseURL: server.url });
    try {
      await logInBrowser(context, server, { username, password: VIEWER_PASSWORD });
      const page = await context.newPage();
      await page.goto('/console/');
      await expect(page.locator('#admins-only')).toContainText('Admins only');
      const status = await page.evaluate(async () => (await fetch('/api/admin/events')).status);
      expect(status).toBe(403);
    } finally {
      await context.close();
    }
  });
});
