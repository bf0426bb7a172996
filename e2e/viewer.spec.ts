/**
 * The viewer in real Chromium beyond the seeds' own test: a seek fetches the bytes where it lands, a
 * closed tab frees its slot at once, a deep link survives the login, the language follows the browser and
 * the switch, and an operator's end and an unreadable NAS file each get their own sentence.
 */
import { rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Page, Request } from '@playwright/test';
import { copySample } from '../test/helpers/fixtures.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { throttleDownload } from './helpers/browser.ts';
import { ADMIN_PASSWORD, expect, logInThroughForm, PER_USER_LIMIT, SEEK_CLIP, SEED_ID, test, VIEWER_PASSWORD } from './fixtures.ts';

const now = (page: Page): Promise<number> => page.locator('video').evaluate((v: HTMLVideoElement) => v.currentTime);

/** The first byte each stream request of the page asked for, in order. */
function recordRangeStarts(page: Page, contentId: string): number[] {
  const starts: number[] = [];
  page.on('request', (req: Request) => {
    if (!new URL(req.url()).pathname.startsWith(`/api/stream/${contentId}`) || new URL(req.url()).pathname.endsWith('/info')) return;
    void req.headerValue('range').then((range) => {
      const m = /^bytes=(\d+)-/.exec(range ?? '');
      if (m) starts.push(Number(m[1]));
    });
  });
  return starts;
}

async function playPast(page: Page, seconds: number): Promise<void> {
  await page.waitForFunction((s) => {
    const v = document.querySelector('video');
    return v !== null && !v.seeking && !v.paused && v.currentTime > s;
  }, seconds, { timeout: 30_000 });
}

test.describe('when a viewer seeks', () => {
  test('playback goes on past the new point, and the player asked for the bytes near it', async ({ browser, server }) => {
    const { context, page } = await server.viewer(browser);
    const id = server.idOf(SEEK_CLIP);
    const size = (await stat(path.join(server.libraryDir, SEEK_CLIP))).size;
    // About twice the clip's bitrate: it plays, but cannot hold the whole file when it seeks.
    await throttleDownload(page, 300_000);
    const starts = recordRangeStarts(page, id);
    await page.goto(`/watch/${id}`);
    await playPast(page, 1);
    const duration = await page.locator('video').evaluate((v: HTMLVideoElement) => v.duration);
    await page.locator('video').evaluate((v: HTMLVideoElement) => {
      v.currentTime = v.duration / 2;
    });
    await playPast(page, duration / 2 + 1);
    // A faststart file of a steady bitrate: the middle of the time is about the middle of the bytes.
    expect(starts.some((b) => b > size * 0.4 && b < size * 0.6), `range starts ${starts.join(', ')} of ${size}`).toBe(true);
    expect(await now(page)).toBeGreaterThan(duration / 2);
    await context.close();
  });
});

test.describe('when one viewer opens more tabs than the limit', () => {
  test('three play, the fourth says so in English, and closing one lets a new one start at once', async ({ browser, server }) => {
    test.setTimeout(120_000);
    const { context, page: first, username } = await server.viewer(browser, { locale: 'en-US' });
    const tabs = [first];
    for (let i = 1; i < PER_USER_LIMIT; i++) tabs.push(await context.newPage());
    for (const tab of tabs) {
      await tab.goto(`/watch/${SEED_ID}`);
      await expect(tab.locator('video[data-session-id]')).toBeVisible();
    }
    expect(server.streamsOf(username)).toBe(PER_USER_LIMIT);
    const fourth = await context.newPage();
    await fourth.goto(`/watch/${SEED_ID}`);
    await expect(fourth.locator('.error-message')).toHaveText('3 concurrent streams already playing');
    await expect(fourth.locator('video')).toHaveCount(0);
    // Closing a tab says goodbye (a beacon): the slot is free without waiting for a missed heartbeat.
    await tabs[0]!.close({ runBeforeUnload: true });
    await expect.poll(() => server.streamsOf(username)).toBe(PER_USER_LIMIT - 1);
    await fourth.click('#retry');
    await expect(fourth.locator('video[data-session-id]')).toBeVisible({ timeout: 20_000 });
    await expect.poll(() => server.streamsOf(username)).toBe(PER_USER_LIMIT);
    await context.close();
  });
});

test.describe('when the watch page is loaded cold', () => {
  test('its head start asks each question once, and the page plays the element it made', async ({ browser, server }) => {
    const { context, page, username } = await server.viewer(browser);
    const asked: string[] = [];
    page.on('request', (req: Request) => {
      const p = new URL(req.url()).pathname;
      if (p.startsWith('/api/') && !req.headers()['range']) asked.push(`${req.method()} ${p}`);
    });
    await page.goto(`/watch/${SEED_ID}`);
    await playPast(page, 0.5);
    const once = [`GET /api/auth/me`, `GET /api/stream/${SEED_ID}/info`, `POST /api/stream/${SEED_ID}/start`, `GET /api/progress/${SEED_ID}`];
    for (const q of once) expect(asked.filter((a) => a === q), `${q} in ${asked.join(', ')}`).toHaveLength(1);
    // Every answer was taken and the element adopted: nothing of the head start is left over.
    const left = await page.evaluate(() => {
      const hs = (window as unknown as { __wsoptvHeadStart?: { answers: Map<string, unknown>; video: unknown } }).__wsoptvHeadStart;
      return { answers: hs?.answers.size, video: hs?.video };
    });
    expect(left).toEqual({ answers: 0, video: null });
    const src = await page.locator('video[data-session-id]').evaluate((v: HTMLVideoElement) => v.src);
    expect(src).toContain(`/api/stream/${SEED_ID}?session=`);
    expect(server.streamsOf(username)).toBe(1);
    await context.close();
  });

  test('its answers come in the language chosen before, not the browser’s', async ({ browser, server }) => {
    const { context, page } = await server.viewer(browser, { locale: 'en-US' });
    await page.addInitScript(() => localStorage.setItem('wsoptv.lang', 'ko'));
    await page.goto('/watch/no-such-video-0');
    await expect(page.locator('.error-message')).toHaveText('콘텐츠를 찾을 수 없습니다.');
    await expect(page.locator('video')).toHaveCount(0);
    await context.close();
  });
});

test.describe('when a link names no video', () => {
  test('the watch page says so in a sentence and plays nothing', async ({ browser, server }) => {
    const { context, page } = await server.viewer(browser);
    await page.goto('/watch/no-such-video-0');
    await expect(page.locator('.error-message')).toHaveText('No video with that id.');
    await expect(page.locator('video')).toHaveCount(0);
    await context.close();
  });
});

test.describe('when a link to a video is opened logged out', () => {
  test('it goes to /login and back to the video after logging in; a reload stays there', async ({ browser, server }) => {
    const username = await server.newUser();
    const context = await browser.newContext({ baseURL: server.url });
    const page = await context.newPage();
    await page.goto(`/watch/${SEED_ID}`);
    await expect(page).toHaveURL(/\/login\?next=%2Fwatch%2Fcontent-1$/);
    await page.fill('[name="username"]', username);
    await page.fill('[name="password"]', VIEWER_PASSWORD);
    await page.click('button[type="submit"]');
    await expect(page).toHaveURL(new RegExp(`/watch/${SEED_ID}$`));
    await expect(page.locator('video[data-session-id]')).toBeVisible();
    await page.reload();
    await expect(page).toHaveURL(new RegExp(`/watch/${SEED_ID}$`));
    await expect(page.locator('video[data-session-id]')).toBeVisible();
    // A next= that points elsewhere is not followed.
    await page.click('#logout');
    await page.goto('/login?next=//example.com/x');
    await logInThroughForm(page, username, VIEWER_PASSWORD);
    await expect(page).toHaveURL(`${server.url}/`);
    await context.close();
  });
});

test.describe('when the viewer speaks Korean or English', () => {
  test('a Korean browser gets Korean, the switch turns it to English, and the choice sticks', async ({ browser, server }) => {
    const context = await browser.newContext({ baseURL: server.url, locale: 'ko-KR' });
    const page = await context.newPage();
    await page.goto('/login');
    await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
    await expect(page.locator('#login-form h2')).toHaveText('로그인');
    await page.fill('[name="username"]', 'nobody-here');
    await page.fill('[name="password"]', 'wrong-password');
    await page.click('button[type="submit"]');
    await expect(page.locator('.error-message')).toHaveText('아이디 또는 비밀번호가 올바르지 않습니다.');
    await page.selectOption('#lang', 'en');
    await expect(page.locator('#login-form h2')).toHaveText('Log in');
    await page.reload();
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    await page.fill('[name="username"]', 'nobody-here');
    await page.fill('[name="password"]', 'wrong-password');
    await page.click('button[type="submit"]');
    await expect(page.locator('.error-message')).toHaveText('Wrong username or password.');
    await context.close();
  });

  test('the operator ending a stream is said in the viewer’s language, with the reason', async ({ browser, server }) => {
    const { context, page } = await server.viewer(browser, { locale: 'ko-KR' });
    await page.goto(`/watch/${SEED_ID}`);
    const video = page.locator('video[data-session-id]');
    await expect(video).toBeVisible();
    const sessionId = await video.getAttribute('data-session-id');
    const ended = await server.request(`/api/admin/streams/${sessionId}`, { method: 'DELETE', body: { reason: '서버 점검' } });
    expect(ended.status).toBe(200);
    // The page learns it at its next heartbeat (15 s) or sooner, when the player's next request is refused.
    await expect(page.locator('.error-message')).toHaveText('운영자가 재생을 종료했습니다: 서버 점검', { timeout: 25_000 });
    await context.close();
  });
});

test.describe('when the NAS cannot read a video', () => {
  test('the page says the file cannot be read, in words, not a code', async ({ browser }) => {
    test.setTimeout(120_000);
    // Its own server: the library folder is moved away, as when the NAS is unmounted.
    const ts = await startTestServer((lib) => copySample(lib, 'final-table.mp4'));
    try {
      const context = await browser.newContext({ baseURL: ts.url, locale: 'en-US' });
      const page = await context.newPage();
      await logInThroughForm(page, 'admin', ADMIN_PASSWORD);
      await expect(page.locator('.tile').first()).toBeVisible();
      const id = ts.idOf('final-table.mp4');
      await rename(ts.libraryDir, `${ts.libraryDir}-away`);
      await page.goto(`/watch/${id}`);
      await expect(page.locator('.error-message')).toHaveText('The video file cannot be read right now (check the NAS).', { timeout: 20_000 });
      await expect(page.locator('.error-message')).not.toContainText('STREAM_');
      await rename(`${ts.libraryDir}-away`, ts.libraryDir);
      await context.close();
    } finally {
      await ts.close();
    }
  });
});
