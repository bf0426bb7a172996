/**
 * The seeds' own browser test (v1 §10.4), as written there: log in on /login with its selectors, play
 * /watch/content-1, seek to 50 %; four contexts of one user, the fourth reads "동시 재생 3개 초과".
 * The fixture's server has the per-user limit of 3 and the id content-1 (e2e/fixtures.ts).
 */
import { expect, SEED_ID, test } from './fixtures.ts';

test.beforeAll(async ({ server }) => {
  await server.newUser('testuser', 'password');
  await server.newUser('limituser', 'password');
});

test('비디오 재생 및 Seek', async ({ page }) => {
  // 로그인
  await page.goto('/login');
  await page.fill('[name="username"]', 'testuser');
  await page.fill('[name="password"]', 'password');
  await page.click('button[type="submit"]');
  await expect(page.locator('.tile').first()).toBeVisible();

  // 비디오 페이지 이동
  await page.goto(`/watch/${SEED_ID}`);

  // 비디오 플레이어 로드 대기
  const video = page.locator('video');
  await expect(video).toBeVisible();

  // 자동 재생 확인
  await page.waitForTimeout(2000);
  const currentTime = await video.evaluate((v: HTMLVideoElement) => v.currentTime);
  expect(currentTime).toBeGreaterThan(0);

  // Seek 50%
  await video.evaluate((v: HTMLVideoElement) => {
    v.currentTime = v.duration * 0.5;
  });
  await page.waitForTimeout(1000);

  // Seek 후 재생 확인
  const newTime = await video.evaluate((v: HTMLVideoElement) => v.currentTime);
  expect(newTime).toBeGreaterThan(currentTime);
});

test('동시 재생 3개 제한', async ({ browser, server }) => {
  test.setTimeout(120_000); // four browser contexts, each logging in and starting a stream
  const contexts = await Promise.all([0, 1, 2, 3].map(() => browser.newContext({ baseURL: server.url, locale: 'ko-KR' })));

  // 각 탭에서 로그인
  for (const ctx of contexts) {
    const page = await ctx.newPage();
    await page.goto('/login');
    await page.fill('[name="username"]', 'limituser');
    await page.fill('[name="password"]', 'password');
    await page.click('button[type="submit"]');
    await expect(page.locator('.tile').first()).toBeVisible();
  }

  // 3개는 성공
  const pages = contexts.slice(0, 3).map((c) => c.pages()[0]!);
  for (const page of pages) {
    await page.goto(`/watch/${SEED_ID}`);
    await expect(page.locator('video')).toBeVisible();
  }

  // 4번째는 실패 (429)
  const page4 = await contexts[3]!.newPage();
  await page4.goto(`/watch/${SEED_ID}`);
  await expect(page4.locator('.error-message')).toContainText('동시 재생 3개 초과');
  for (const c of contexts) await c.close();
});
