/**
 * Real headless Chromium for the browser tests: launching Debian's /usr/bin/chromium through
 * playwright-core, logging the browser in, recording what the server answered to the page, and a
 * <video> element with an event log mounted on a page of the server's own origin.
 *
 * A quirk to keep in mind: tsx compiles with esbuild's keepNames, which wraps every *named* function
 * (`const f = () => …`, `function f() {}`) in a call to a `__name` helper that does not exist inside the
 * page. Functions passed to page.evaluate / page.waitForFunction must therefore use only anonymous
 * inline callbacks.
 */
import { chromium, type Browser, type BrowserContext, type Page, type Request, type Response } from 'playwright-core';
import { TEST_ADMIN_PASSWORD, type TestServer } from '../../test/helpers/server.ts';

/** Debian's Chromium (scripts/require-tools.sh chromium installs it). Never `npx playwright install`. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, deterministic headless run that may autoplay. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--autoplay-policy=no-user-gesture-required',
];

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
 * Opens a page on the server's own origin (a small JSON page, so nothing else loads), logged in.
 * Same origin, like the app's own pages: the <video> and fetch() requests carry the login cookie and need no CORS.
 */
export async function openServerPage(browser: Browser, ts: TestServer): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  await logInBrowser(context, ts);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const res = await page.goto(ts.url + '/api/health');
  if (!res || res.status() !== 200) throw new Error(`GET /api/health answered ${res?.status()}`);
  return { context, page };
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

/** One answer the page received, with what the request asked for. */
export interface RecordedResponse {
  readonly url: string;
  readonly status: number;
  /** The request's Range header, if any. */
  readonly range: string | undefined;
  /** The first byte asked for by `bytes=N-[M]`, if the request had such a Range. */
  readonly rangeStart: number | undefined;
  readonly contentRange: string | undefined;
  readonly contentType: string | undefined;
  /** Milliseconds since recording started, when the headers arrived. */
  readonly at: number;
}

/** One request the page sent and how it ended, for reporting the browser's request pattern. */
export interface RecordedRequest {
  readonly url: string;
  /** The Range header, if any (filled in once the headers are known). */
  range: string | undefined;
  readonly startedAt: number;
  endedAt?: number;
  /** 'finished', or the failure text (net::ERR_ABORTED when the player dropped it to seek). */
  outcome?: string;
}

/** Records the page's requests and responses whose URL starts with `prefix`. */
export class NetworkRecorder {
  readonly responses: RecordedResponse[] = [];
  readonly requests: RecordedRequest[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly t0 = Date.now();

  constructor(page: Page, private readonly prefix: string) {
    const byRequest = new Map<Request, RecordedRequest>();
    page.on('request', (req) => {
      if (!req.url().startsWith(this.prefix)) return;
      const rec: RecordedRequest = { url: req.url(), range: undefined, startedAt: this.now() };
      byRequest.set(req, rec);
      this.requests.push(rec);
      this.track(req.allHeaders().then((h) => void (rec.range = h['range'])));
    });
    const end = (req: Request, outcome: string): void => {
      const rec = byRequest.get(req);
      if (rec && rec.outcome === undefined) Object.assign(rec, { endedAt: this.now(), outcome });
    };
    page.on('requestfinished', (req) => end(req, 'finished'));
    page.on('requestfailed', (req) => end(req, req.failure()?.errorText ?? 'failed'));
    page.on('response', (res) => {
      if (res.url().startsWith(this.prefix)) this.track(this.record(res));
    });
  }

  /** Waits until every header lookup started so far is done. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Waits (polling the recorder, not the page) until some response satisfies `pred`. */
  async waitForResponse(pred: (r: RecordedResponse) => boolean, timeoutMs: number, what: string): Promise<RecordedResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.settled();
      const hit = this.responses.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; saw ${JSON.stringify(this.responses)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Milliseconds since the recorder was made. */
  now(): number {
    return Date.now() - this.t0;
  }

  /** One line per request: when it started, its Range, and how and when it ended (or that it is still open). */
  describe(): string[] {
    return this.requests.map(
      (r) => `+${r.startedAt}ms ${r.range ?? '(no Range)'} -> ${r.outcome ?? 'still open'}${r.endedAt !== undefined ? ` at +${r.endedAt}ms` : ''}`,
    );
  }

  private track(p: Promise<void>): void {
    const q = p.catch(() => undefined).finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  private async record(res: Response): Promise<void> {
    const at = this.now();
    const [reqHeaders, resHeaders] = await Promise.all([res.request().allHeaders(), res.allHeaders()]);
    const range = reqHeaders['range'];
    const m = range ? /^bytes=(\d+)-\d*$/.exec(range) : null;
    this.responses.push({
      url: res.url(),
      status: res.status(),
      range,
      rangeStart: m ? Number(m[1]) : undefined,
      contentRange: resHeaders['content-range'],
      contentType: resHeaders['content-type'],
      at,
    });
  }
}

/** What the page knows about the video under test. */
export interface VideoState {
  readonly currentTime: number;
  readonly duration: number;
  readonly videoWidth: number;
  readonly videoHeight: number;
  readonly paused: boolean;
  readonly readyState: number;
  readonly error: { readonly code: number; readonly message: string } | null;
  /** Every media event so far, in order, with currentTime when it fired. */
  readonly events: readonly { readonly type: string; readonly t: number }[];
  readonly buffered: readonly [number, number][];
}

/** The id of the <video> element the helpers create. */
export const VIDEO_ID = 'e2e-video';

/** Media events worth logging. */
const EVENTS = ['loadstart', 'loadedmetadata', 'loadeddata', 'canplay', 'play', 'playing', 'waiting', 'seeking', 'seeked', 'stalled', 'error', 'ended'];

/**
 * Adds a muted <video> with `src` to the (same-origin) page, logging its events on the element itself,
 * and optionally starts playback. Muted so autoplay never depends on the policy flag.
 */
export async function mountVideo(page: Page, src: string, opts: { play?: boolean } = {}): Promise<void> {
  await page.evaluate(
    ({ src, id, events, play }) => {
      const v = document.createElement('video');
      v.id = id;
      v.muted = true;
      v.preload = 'auto';
      const log: { type: string; t: number }[] = [];
      (v as unknown as { e2eEvents: typeof log }).e2eEvents = log;
      for (const type of events) v.addEventListener(type, () => log.push({ type, t: v.currentTime }));
      v.src = src;
      document.body.append(v);
      // play() rejects when the source fails; the error event and element.error carry that failure.
      if (play) v.play().catch(() => undefined);
    },
    { src, id: VIDEO_ID, events: EVENTS, play: opts.play ?? false },
  );
}

/** Reads the state of the video under test. */
export function videoState(page: Page): Promise<VideoState> {
  return page.evaluate((id) => {
    const v = document.getElementById(id) as HTMLVideoElement;
    const buffered: [number, number][] = [];
    for (let i = 0; i < v.buffered.length; i++) buffered.push([v.buffered.start(i), v.buffered.end(i)]);
    return {
      currentTime: v.currentTime,
      duration: v.duration,
      videoWidth: v.videoWidth,
      videoHeight: v.videoHeight,
      paused: v.paused,
      readyState: v.readyState,
      error: v.error ? { code: v.error.code, message: v.error.message } : null,
      events: [...(v as unknown as { e2eEvents: { type: string; t: number }[] }).e2eEvents],
      buffered,
    };
  }, VIDEO_ID);
}

/**
 * Waits until `predicate(video, arg)` holds in the page, polling on animation frames. On timeout the
 * error says what was awaited and what the video looked like, instead of Playwright's bare timeout.
 */
export async function waitForVideo<A>(
  page: Page,
  what: string,
  predicate: (v: HTMLVideoElement, arg: A) => boolean,
  arg: A,
  timeoutMs = 10_000,
): Promise<void> {
  try {
    await page.waitForFunction(
      ({ id, body, arg }) => {
        const v = document.getElementById(id) as HTMLVideoElement | null;
        return v !== null && (new Function('return ' + body)() as (v: HTMLVideoElement, a: unknown) => boolean)(v, arg);
      },
      { id: VIDEO_ID, body: predicate.toString(), arg },
      { timeout: timeoutMs },
    );
  } catch (err) {
    const state = await videoState(page).catch(() => undefined);
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; video: ${JSON.stringify(state)}`, { cause: err });
  }
}
