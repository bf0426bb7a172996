/**
 * The viewer page in real Chromium: log in through the form, play, and the 3-stream limit as a viewer
 * meets it (the 4th tab says so in words, in `.error-message`); a closed tab gives its slot back at once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { copySample } from '../test/helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../test/helpers/server.ts';
import { launchChromium } from './helpers/browser.ts';

const PASSWORD = 'viewer-password';

async function loginThroughForm(context: BrowserContext, ts: TestServer, username: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(ts.url + '/');
  await page.fill('#login-form [name=username]', username);
  await page.fill('#login-form [name=password]', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('.tile', { timeout: 10_000 });
  return page;
}

async function watch(page: Page, ts: TestServer, contentId: string): Promise<void> {
  await page.goto(`${ts.url}/watch/${contentId}`);
}

function playing(page: Page): Promise<unknown> {
  return page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v !== null && v.currentTime > 0.5;
  }, null, { timeout: 15_000 });
}

/** A server over the sample clip with one active viewer account. */
async function serverWithViewer(username: string, flags: string[] = []): Promise<TestServer> {
  const ts = await startTestServer((lib) => copySample(lib, 'final-table.mp4'), flags);
  await ts.server.auth.createUser({ username, password: PASSWORD, role: 'viewer', status: 'active' });
  return ts;
}

describe('when a viewer opens more tabs than the limit allows', () => {
  let browser: Browser;
  let ts: TestServer;
  before(async () => {
    browser = await launchChromium();
    ts = await serverWithViewer('viewer1', ['--max-streams-per-user', '3']);
  });
  after(async () => {
    await browser?.close();
    await ts?.close();
  });

  it('three tabs play, the fourth says "동시 재생 3개 초과", and closing a tab frees its slot at once', async () => {
    const context = await browser.newContext({ locale: 'ko-KR' });
    try {
      const id = ts.idOf('final-table.mp4');
      const first = await loginThroughForm(context, ts, 'viewer1');
      await watch(first, ts, id);
      await playing(first);
      const tabs = [first];
      for (let i = 0; i < 2; i++) {
        const p = await context.newPage();
        await watch(p, ts, id);
        await playing(p);
        tabs.push(p);
      }
      assert.equal(ts.server.streams.activeSessions().length, 3);

      const fourth = await context.newPage();
      await watch(fourth, ts, id);
      const message = fourth.locator('.error-message');
      await message.waitFor({ timeout: 10_000 });
      assert.match(await message.innerText(), /동시 재생 3개 초과/);
      assert.equal(await fourth.locator('video').count(), 0);

      // Closing a tab sends /end with a beacon; the slot is free before any heartbeat could be missed.
      await tabs[0]!.close({ runBeforeUnload: true });
      const deadline = Date.now() + 10_000;
      while (ts.server.streams.activeSessions().length !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(ts.server.streams.activeSessions().length, 2);
      await fourth.reload();
      await playing(fourth);
      assert.equal(ts.server.streams.activeSessions().length, 3);
    } finally {
      await context.close();
    }
  });

  it('an English browser reads the limit in English', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    try {
      // Whatever the Korean test left open, fill this viewer's three slots.
      const id = ts.idOf('final-table.mp4');
      const token = await ts.login('viewer1', PASSWORD);
      const missing = 3 - ts.server.streams.activeSessions().length;
      for (let i = 0; i < missing; i++) {
        assert.equal((await ts.request(`/api/stream/${id}/start`, { method: 'POST', as: token })).status, 201);
      }
      const page = await loginThroughForm(context, ts, 'viewer1');
      await watch(page, ts, id);
      const message = page.locator('.error-message');
      await message.waitFor({ timeout: 10_000 });
      assert.match(await message.innerText(), /3 concurrent streams already playing/);
    } finally {
      await context.close();
    }
  });
});

describe('when a viewer watches, leaves and comes back', () => {
  let browser: Browser;
  let ts: TestServer;
  before(async () => {
    browser = await launchChromium();
    ts = await serverWithViewer('viewer2');
  });
  after(async () => {
    await browser?.close();
    await ts?.close();
  });

  it('the position is saved on leaving and playback resumes there; next-hand jumps to the next hand', async () => {
    const context = await browser.newContext();
    try {
      const id = ts.idOf('final-table.mp4');
      const page = await loginThroughForm(context, ts, 'viewer2');
      await watch(page, ts, id);
      await playing(page);
      // Hands of the sample: 2-8, 10-15 (best), 18-26.
      await page.click('#next-hand');
      await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) >= 2, null, { timeout: 5_000 });
      await page.evaluate(() => {
        const v = document.querySelector('video')!;
        v.currentTime = 12;
      });
      await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) >= 12.2, null, { timeout: 10_000 });
      await page.goto(ts.url + '/#/'); // leaving the watch page ends the session with its position
      await page.waitForSelector('.tile .bar', { timeout: 10_000 });
      const saved = (await ts.request(`/api/progress/${id}`, { as: await ts.login('viewer2', PASSWORD) })).json();
      assert.ok(saved.position >= 12 && saved.position < 20, `saved ${saved.position}`);
      assert.equal(ts.server.streams.activeSessions().length, 0);
      await watch(page, ts, id);
      await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) >= 12, null, { timeout: 10_000 });
    } finally {
      await context.close();
    }
  });
});
