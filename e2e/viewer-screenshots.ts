/**
 * `npm run screenshots` (second half): the viewer's pages for docs/ and the README, in headless Chromium
 * against a real server over an event of three days and the samples: the login page, the library, the
 * watch page with its hand list and spoiler-safe timeline, the same with every hand shown, the best-hands
 * reel, and the limit message in Korean and English. Korean needs a CJK font (Debian: fonts-nanum).
 * Everything runs on 127.0.0.1 and stops when done.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { copySample, makeLongClip } from '../test/helpers/fixtures.ts';
import { startTestServer, TEST_ADMIN_PASSWORD } from '../test/helpers/server.ts';
import { launchChromium } from './helpers/browser.ts';

const OUT = path.join(PROJECT_ROOT, 'docs', 'screenshots');
const VIEWPORT = { width: 1280, height: 800 };

/** An event's day: 12 hands of 6 s every 7 s from 2 s, every fourth a best hand. */
const day = (title: string, shift: number) => ({
  title,
  hands: Array.from({ length: 12 }, (_, i) => ({ index: i + 1, start: 2 + i * 7, end: 8 + i * 7, is_best: (i + shift) % 4 === 1 })),
});

const ts = await startTestServer(
  async (lib) => {
    const event = path.join(lib, 'WSOP 2024 Main Event');
    await mkdir(event, { recursive: true });
    for (const [n, shift] of [[1, 0], [2, 1], [10, 2]] as const) {
      await makeLongClip(path.join(event, `Day ${n}.mp4`), 90, '1M');
      await writeFile(path.join(event, `Day ${n}.json`), JSON.stringify(day(`Main Event, Day ${n}`, shift)));
    }
    await copySample(lib, 'final-table.mp4');
    await copySample(lib, 'heads-up.mp4', false);
  },
  ['--max-streams-per-user', '3'],
);
const browser = await launchChromium();

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(OUT, `${name}.png`) });
  console.log(`docs/screenshots/${name}.png`);
}

/** Plays until the playhead passes `seconds` (the page autoplays). */
async function playPast(page: Page, seconds: number): Promise<void> {
  await page.waitForFunction((s) => {
    const v = document.querySelector('video');
    return v !== null && v.currentTime > s;
  }, seconds, { timeout: 30_000 });
}

try {
  await mkdir(OUT, { recursive: true });
  const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(`${ts.url}/login`);
  await page.waitForSelector('#login-form');
  await shoot(page, 'viewer-login');
  await page.fill('[name="username"]', 'admin');
  await page.fill('[name="password"]', TEST_ADMIN_PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForSelector('.tile');
  await shoot(page, 'viewer-library');

  const day1 = ts.idOf('WSOP 2024 Main Event/Day 1.mp4');
  await page.goto(`${ts.url}/watch/${day1}`);
  await playPast(page, 1);
  await page.evaluate(() => {
    const v = document.querySelector('video');
    if (v) v.currentTime = 40;
  });
  await playPast(page, 41);
  await page.keyboard.press('n');
  await playPast(page, 51);
  await shoot(page, 'viewer-watch');
  await page.uncheck('#spoiler-safe');
  await page.waitForTimeout(300);
  await shoot(page, 'viewer-watch-all-hands');
  await page.check('#spoiler-safe');

  await page.goto(`${ts.url}/`);
  await page.click('section.folder:not([data-folder=""]) .reel-link');
  await page.waitForSelector('#reel-status');
  await playPast(page, 1);
  await page.keyboard.press('n');
  await page.waitForTimeout(1_500);
  await shoot(page, 'viewer-reel');
  await context.close();

  // The 4th start of one user, in each language.
  const holders = await browser.newContext({ locale: 'en-US' });
  const res = await holders.request.post(`${ts.url}/api/auth/login`, { data: { username: 'admin', password: TEST_ADMIN_PASSWORD } });
  if (!res.ok()) throw new Error(`login answered ${res.status()}`);
  const tabs = [];
  for (let i = 0; i < 3; i++) {
    const tab = await holders.newPage();
    await tab.goto(`${ts.url}/watch/${day1}`);
    await tab.waitForSelector('video[data-session-id]');
    tabs.push(tab);
  }
  for (const lang of ['ko', 'en'] as const) {
    const fourth = await holders.newPage();
    await fourth.setViewportSize(VIEWPORT);
    await fourth.goto(`${ts.url}/login`);
    await fourth.evaluate((l) => localStorage.setItem('wsoptv.lang', l), lang);
    await fourth.goto(`${ts.url}/watch/${day1}`);
    await fourth.waitForSelector('.error-message');
    await shoot(fourth, `viewer-limit-${lang}`);
    await fourth.close();
  }
  await holders.close();
} finally {
  await browser.close();
  await ts.close();
}
