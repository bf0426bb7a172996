/**
 * The browser suite's fixtures: one real server per worker, on its own temp folders, over a library
 * of the samples and an event of three days with hands; and viewers, each a fresh account logged in
 * through the login form, so that no test's progress or streams touch another's.
 *
 * The seeds' own test opens `/watch/content-1`. Content ids are random but kept across restarts, so the
 * fixture starts the server once, renames the final-table sample's id in the database, and starts it
 * again on the same folders: the id is then the server's own, as after any restart.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test as base, expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { openDatabase } from '../app/persistence/db.ts';
import { copySample, tempDir } from '../test/helpers/fixtures.ts';
import { startTestServer, TEST_ADMIN_PASSWORD, type TestServer } from '../test/helpers/server.ts';
import { CLIPS_DIR } from './global-setup.ts';

/** A hand as sidecars write it. */
export interface SidecarHand {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly is_best: boolean;
}
const hand = (index: number, start: number, end: number, is_best = false): SidecarHand => ({ index, start, end, is_best });

/** The event folder of the library and its days: file, title, hands (40 s clips). */
export const EVENT = 'Main Event';
export const DAYS = {
  'Day 1': [hand(1, 2, 6), hand(2, 8, 12, true), hand(3, 14, 18), hand(4, 20, 24), hand(5, 26, 30, true), hand(6, 32, 36)],
  'Day 2': [hand(1, 3, 7, true), hand(2, 9, 13), hand(3, 15, 19, true)],
  'Day 10': [hand(1, 5, 9)],
} as const satisfies Record<string, readonly SidecarHand[]>;
export type Day = keyof typeof DAYS;
const CLIP_OF: Record<Day, string> = { 'Day 1': 'day-1.mp4', 'Day 2': 'day-2.mp4', 'Day 10': 'day-10.mp4' };

/** The sample the seeds' test plays, and the id it knows it by. */
export const SEED_SAMPLE = 'final-table.mp4';
export const SEED_ID = 'content-1';
/** A 60 s clip for seeking. */
export const SEEK_CLIP = 'seek.mp4';
/** The per-user limit of the suite's servers (the seeds': 3). */
export const PER_USER_LIMIT = 3;

/** Every viewer's password. */
export const VIEWER_PASSWORD = 'viewer-password';

/** A worker's server and what tests ask of it. */
export interface E2eServer extends TestServer {
  /** The id of an event day. */
  dayId(day: Day): string;
  /** A fresh active viewer account (unique name unless given); returns its name. */
  newUser(username?: string, password?: string): Promise<string>;
  /** How many streams a user has open on the server now. */
  streamsOf(username: string): number;
  /** A new browser context logged in as a fresh viewer through the login form, on the library page. */
  viewer(browser: Browser, opts?: { readonly locale?: string }): Promise<{ context: BrowserContext; page: Page; username: string }>;
}

async function buildLibrary(lib: string): Promise<void> {
  await copySample(lib, SEED_SAMPLE);
  await copySample(lib, 'heads-up.mp4', false);
  await copyFile(path.join(CLIPS_DIR, SEEK_CLIP), path.join(lib, SEEK_CLIP));
  await mkdir(path.join(lib, EVENT));
  for (const [day, hands] of Object.entries(DAYS) as [Day, readonly SidecarHand[]][]) {
    await copyFile(path.join(CLIPS_DIR, CLIP_OF[day]), path.join(lib, EVENT, `${day}.mp4`));
    await writeFile(path.join(lib, EVENT, `${day}.json`), JSON.stringify({ title: `${EVENT}, ${day}`, hands }));
  }
}

async function startE2eServer(workerIndex: number): Promise<E2eServer> {
  const tmp = await tempDir('wsoptv-e2e-');
  const dirs = { libraryDir: path.join(tmp.dir, 'library'), dataDir: path.join(tmp.dir, 'data') };
  const flags = ['--max-streams-per-user', String(PER_USER_LIMIT)];
  const first = await startTestServer(buildLibrary, flags, { dirs });
  await first.close();
  const db = openDatabase(path.join(dirs.dataDir, 'wsoptv.db'));
  try {
    db.prepare('UPDATE contents SET id = ? WHERE rel_path = ?').run(SEED_ID, SEED_SAMPLE);
  } finally {
    db.close();
  }
  const ts = await startTestServer(undefined, flags, { dirs });
  let users = 0;
  const newUser = async (username = `w${workerIndex}viewer${++users}`, password = VIEWER_PASSWORD): Promise<string> => {
    await ts.server.auth.createUser({ username, password, role: 'viewer', status: 'active' });
    return username;
  };
  return {
    ...ts,
    dayId: (day: Day) => ts.idOf(`${EVENT}/${day}.mp4`),
    streamsOf(username: string) {
      const id = ts.server.auth.findUser(username).id;
      return ts.server.streams.activeSessions().filter((s) => s.userId === id).length;
    },
    newUser,
    async viewer(browser: Browser, opts: { readonly locale?: string } = {}) {
      const username = await newUser();
      const context = await browser.newContext({ locale: opts.locale ?? 'en-US', baseURL: ts.url });
      const page = await context.newPage();
      await logInThroughForm(page, username, VIEWER_PASSWORD);
      await expect(page.locator('.tile').first()).toBeVisible();
      return { context, page, username };
    },
    async close() {
      await ts.close();
      await tmp.cleanup();
    },
  };
}

/** Logs in on /login as a person would: the seeds' selectors, unqualified. */
export async function logInThroughForm(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.fill('[name="username"]', username);
  await page.fill('[name="password"]', password);
  await page.click('button[type="submit"]');
}

/** The admin's password on every suite server. */
export const ADMIN_PASSWORD = TEST_ADMIN_PASSWORD;

/** `test` with the worker's `server`, and `baseURL` pointing at it. */
export const test = base.extend<{ baseURL: string }, { server: E2eServer }>({
  server: [
    async ({}, use, workerInfo) => {
      const server = await startE2eServer(workerInfo.workerIndex);
      await use(server);
      await server.close();
    },
    { scope: 'worker', timeout: 60_000 },
  ],
  baseURL: async ({ server }, use) => {
    await use(server.url);
  },
});

export { expect };
