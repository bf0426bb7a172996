/**
 * The browser suite (`e2e/*.spec.ts`) on @playwright/test, in Debian's Chromium (never a downloaded one:
 * `npx playwright install` is not used). Each worker starts one real server on its own temp data
 * (e2e/fixtures.ts); the test clips are made once per run by e2e/global-setup.ts.
 */
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './e2e/helpers/chromium.ts';

export default defineConfig({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  globalSetup: './e2e/global-setup.ts',
  outputDir: 'test-results/e2e',
  // One worker: real playback in Chromium takes a core, the server and the page the other. No retries: a
  // flaky test should be seen, not hidden.
  workers: 1,
  retries: 0,
  forbidOnly: true,
  // Real playback: a test waits for seconds of video, longer on a busy machine.
  timeout: 120_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    headless: true,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS],
    },
  },
});
