/**
 * Debian's Chromium for the browser suite (playwright.config.ts takes its path and flags from here) and
 * the screenshot scripts (which launch it through playwright-core): logging a context in, slowing a page's
 * downloads.
 *
 * A quirk to keep in mind: tsx compiles with esbuild's keepNames, which wraps every *named* function
 * (`const f = () => …`, `function f() {}`) in a call to a `__name` helper that does not exist inside the
 * page. Functions passed to page.evaluate / page.waitForFunction must therefore use only anonymous
 * inline callbacks.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { TEST_ADMIN_PASSWORD, type TestServer } from '../../test/helpers/server.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.ts';

/** Launches headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS], timeout: 20_000 });
}

/**
 * Logs the browser context in to the test server, so that the stream endpoint serves it: the one place
 * the browser tests know how to authenticate.
 *
 * It logs in through POST /api/auth/login (the first-run admin of every test server, unless told
 * otherwise) with the context's own request client, which shares its cookie jar with the pages: the
 * HttpOnly session cookie then rides on same-origin <video> and fetch() requests, as in a real browser.
 * (A Bearer token cannot: <video src> sends no custom headers.)
 */
export async function logInBrowser(
  context: BrowserContext,
  ts: TestServer,
  user: { readonly username: string; readonly password: string } = { username: 'admin', password: TEST_ADMIN_PASSWORD },
): Promise<void> {
  const res = await context.request.post(`${ts.url}/api/auth/login`, { data: { username: user.username, password: user.password } });
  if (res.status() !== 200) throw new Error(`browser login as ${user.username} answered ${res.status()}: ${await res.text()}`);
  const cookies = await context.cookies(ts.url);
  if (cookies.length === 0) throw new Error(`browser login as ${user.username} set no cookie for ${ts.url}`);
}

/**
 * Limits the page's download speed (bytes per second) through the DevTools protocol. Used to keep
 * Chromium from buffering a whole small clip at LAN speed, so a seek ahead has to fetch a new range.
 */
export async function throttleDownload(page: Page, bytesPerSecond: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: bytesPerSecond, uploadThroughput: -1 });
}
