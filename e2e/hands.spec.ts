/**
 * Hands as a viewer uses them, in real Chromium against a real server over an event of three short days:
 * N jumps into the next hand and Backspace comes back, best-hands-only plays only best hands, the reel
 * crosses into the next video, the spoiler-safe timeline hides what lies ahead, a return resumes at the
 * start of the hand left, and the console's hands editor saves what it checked.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { eventually } from '../test/helpers/fixtures.ts';
import { ADMIN_PASSWORD, DAYS, EVENT, expect, test, VIEWER_PASSWORD } from './fixtures.ts';

const hand = (index: number, start: number, end: number, is_best = false) => ({ index, start, end, is_best });

const now = (page: Page): Promise<number> => page.locator('video').evaluate((v: HTMLVideoElement) => v.currentTime);

/** Waits until the playhead passes `seconds`. */
async function playPast(page: Page, seconds: number): Promise<void> {
  await page.waitForFunction((s) => {
    const v = document.querySelector('video');
    return v !== null && !v.seeking && v.currentTime > s;
  }, seconds, { timeout: 20_000 });
}

/** Records every playhead position the page reports from now on (in window.__times). */
async function recordTimes(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __times: number[] };
    w.__times = [];
    document.querySelector('video')?.addEventListener('timeupdate', (e) => {
      const v = e.currentTarget as HTMLVideoElement;
      if (!v.seeking) w.__times.push(v.currentTime);
    });
  });
}
const recorded = (page: Page): Promise<number[]> => page.evaluate(() => (window as unknown as { __times: number[] }).__times);

test.describe('when a viewer moves by hands', () => {
  test('N jumps into the next hand, again to the one after, Backspace returns to where they were, P goes back', async ({ browser, server }) => {
    const { context, page } = await server.viewer(browser);
    await page.goto(`/watch/${server.dayId('Day 1')}`);
    await playPast(page, 0.3);
    // Paused, the playhead stays where each key put it, however slow the machine.
    await page.locator('video').evaluate((v: HTMLVideoElement) => {
      v.pause();
      v.currentTime = 0.5;
    });
    const start = 0.5;
    const at = async (seconds: number): Promise<void> => {
      await expect.poll(() => now(page)).toBeCloseTo(seconds, 1);
    };
    await page.keyboard.press('n');
    await at(2);
    await expect(page.locator('#hand-list li[aria-current="true"]')).toHaveAttribute('data-hand-index', '1');
    await page.keyboard.press('n');
    await at(8);
    await expect(page.locator('#hand-list li[aria-current="true"]')).toHaveAttribute('data-hand-index', '2');
    // The hand list jumps on click (spoiler-safe lists the hands reached so far: 1 and 2).
    await page.click('#hand-list li[data-hand-index="1"] button');
    await at(2);
    await page.keyboard.press('Backspace'); // back to before the click
    await at(8);
    await page.keyboard.press('u'); // and before the jump to 8
    await at(2);
    await page.keyboard.press('p'); // within 3 s of hand 1's start: the start of the video
    await at(0);
    await page.keyboard.press('Backspace');
    await at(2);
    await page.keyboard.press('Backspace');
    await at(start);
    await context.close();
  });

  test('best hands only plays best hands and nothing between them', async ({ browser, server }) => {
    const { context, page } = await server.viewer(browser);
    await page.goto(`/watch/${server.dayId('Day 1')}`);
    await playPast(page, 0.3);
    await page.keyboard.press('b');
    await expect(page.locator('button[data-mode="best"]')).toHaveAttribute('aria-pressed', 'true');
    await playPast(page, 8);
    await recordTimes(page);
    // After the last best hand (26-30) it stops and says so.
    await expect(page.locator('.notice')).toContainText('No more best hands', { timeout: 40_000 });
    expect(await page.locator('video').evaluate((v: HTMLVideoElement) => v.paused)).toBe(true);
    expect(await now(page)).toBeGreaterThanOrEqual(29.5);
    const best = DAYS['Day 1'].filter((h) => h.is_best);
    // A jump lands a moment after a hand's end (a timer, late on a busy machine): allow a second, far less
    // than the 14 s between the best hands.
    const outside = (await recorded(page)).filter((t) => !best.some((h) => t >= h.start - 0.1 && t < h.end + 1));
    expect(outside).toEqual([]);
    expect((await recorded(page)).length).toBeGreaterThan(5);
    await context.close();
  });

  test('skip dead time leaves the gaps out', async ({ browser, server }) => {
    const { context, page } = await server.viewer(browser);
    await page.goto(`/watch/${server.dayId('Day 2')}`);
    await playPast(page, 0.3);
    await page.keyboard.press('s');
    await expect(page.locator('button[data-mode="skip"]')).toHaveAttribute('aria-pressed', 'true');
    await playPast(page, 3);
    await recordTimes(page);
    await playPast(page, 9.5);
    const hands = DAYS['Day 2'];
    expect((await recorded(page)).filter((t) => !hands.some((h) => t >= h.start - 0.1 && t < h.end + 1))).toEqual([]);
    await context.close();
  });
});

test.describe('when the best hands of an event play as a reel', () => {
  test('it plays the best hands in order and crosses into the next day at the last one', async ({ browser, server }) => {
    const { context, page } = await server.viewer(browser);
    await page.goto(`/`);
    await page.click('section.folder:not([data-folder=""]) .reel-link');
    await expect(page).toHaveURL(new RegExp(`/watch/${server.dayId('Day 1')}\\?reel=1$`));
    await expect(page.locator('#reel-status')).toContainText('Best hand 1 of 4');
    await playPast(page, 8);
    await page.keyboard.press('n'); // to Day 1's second best hand (26-30), whose end hands over to Day 2
    await expect(page.locator('#reel-status')).toContainText('Best hand 2 of 4');
    await expect(page).toHaveURL(new RegExp(`/watch/${server.dayId('Day 2')}\\?reel=1$`), { timeout: 20_000 });
    await expect(page.locator('#reel-status')).toContainText('Best hand 3 of 4');
    await playPast(page, 3);
    expect(await now(page)).toBeLessThan(7);
    // Reloading keeps the reel and its place.
    await page.reload();
    await expect(page.locator('#reel-status')).toContainText('Best hand 3 of 4');
    await context.close();
  });
});

test.describe('when spoiler-safe is on (the default)', () => {
  test('nothing of the hands ahead shows: no best flags, no count of hands left; switched off, everything does', async ({ browser, server }) => {
    const { context, page } = await server.viewer(browser);
    await page.goto(`/watch/${server.dayId('Day 1')}`);
    await expect(page.locator('#spoiler-safe')).toBeChecked();
    await playPast(page, 0.2);
    await page.locator('video').evaluate((v: HTMLVideoElement) => {
      v.pause();
      v.currentTime = 0.5; // before the first hand (2-6), however far a slow machine let it play
    });
    await expect.poll(() => now(page)).toBeCloseTo(0.5, 1);
    await expect(page.locator('#timeline .hand')).toHaveCount(0);
    await expect(page.locator('#hand-list li')).toHaveCount(0);
    await expect(page.locator('#hand-summary')).not.toContainText('of 6');
    await page.keyboard.press('n');
    await page.keyboard.press('n'); // into hand 2, a best hand
    await expect.poll(() => now(page)).toBeGreaterThanOrEqual(8);
    await expect(page.locator('#hand-list li')).toHaveCount(2);
    await expect(page.locator('#timeline .hand.best')).toHaveCount(1);
    await page.uncheck('#spoiler-safe');
    await expect(page.locator('#timeline .hand')).toHaveCount(6);
    await expect(page.locator('#timeline .hand.best')).toHaveCount(2);
    await expect(page.locator('#hand-summary')).toContainText('Hand 2 of 6');
    // The choice sticks.
    await page.reload();
    await expect(page.locator('#spoiler-safe')).not.toBeChecked();
    await context.close();
  });
});

test.describe('when a viewer comes back to a video', () => {
  test('playback starts at the start of the hand they left, not mid-hand', async ({ browser, server }) => {
    const { context, page, username } = await server.viewer(browser);
    const id = server.dayId('Day 1');
    await page.goto(`/watch/${id}`);
    await playPast(page, 0.3);
    await page.locator('video').evaluate((v: HTMLVideoElement) => {
      v.pause();
      v.currentTime = 22.5; // inside hand 4 (20-24)
    });
    await expect.poll(() => now(page)).toBeCloseTo(22.5, 1);
    await page.click('#back');
    await expect(page.locator('.tile').first()).toBeVisible();
    // The page said goodbye with its position (a beacon): wait until the server has it.
    const as = await server.login(username, VIEWER_PASSWORD);
    expect(await eventually(async () => {
      const p = (await server.request(`/api/progress/${id}`, { as })).json();
      return p.position > 22 && p.position < 23;
    })).toBe(true);
    await page.click(`.tile[data-content-id="${id}"]`);
    await playPast(page, 0.5);
    // Where playback began on this visit: the start of the first range the player has played.
    const t = await page.locator('video').evaluate((v: HTMLVideoElement) => (v.played.length ? v.played.start(0) : -1));
    expect(t).toBeGreaterThanOrEqual(20);
    expect(t).toBeLessThan(22);
    await context.close();
  });
});

test.describe('when an admin edits hands in the console', () => {
  test('a wrong hand is named and nothing changes; a right one is saved to the sidecar and the viewer sees it', async ({ browser, server }) => {
    const context = await browser.newContext({ baseURL: server.url });
    const page = await context.newPage();
    await page.goto(`/console/#/hands`);
    await page.fill('[name="username"]', 'admin');
    await page.fill('[name="password"]', ADMIN_PASSWORD);
    await page.click('button[type="submit"]');
    const id = server.dayId('Day 10');
    const sidecar = path.join(server.libraryDir, EVENT, 'Day 10.json');
    const before = await readFile(sidecar, 'utf8');
    await page.selectOption('#hands-video', id);
    await expect(page.locator('#hands-json')).toHaveValue(/"start": 5/);
    await page.fill('#hands-json', JSON.stringify({ hands: [hand(1, 5, 9), hand(2, 8, 12, true)] }));
    await page.click('#hands-save');
    await expect(page.locator('#hands-error')).toContainText('overlaps');
    expect(await readFile(sidecar, 'utf8')).toBe(before);
    await page.fill('#hands-json', JSON.stringify({ hands: [hand(1, 5, 9), hand(2, 10, 14, true)] }));
    await page.click('#hands-save');
    await expect(page.locator('#hands-saved')).toContainText('Saved 2 hands');
    expect(JSON.parse(await readFile(sidecar, 'utf8')).hands).toEqual([hand(1, 5, 9), hand(2, 10, 14, true)]);
    const info = (await server.request(`/api/stream/${id}/info`)).json();
    expect(info.best_hands_count).toBe(1);
    await context.close();
  });
});
