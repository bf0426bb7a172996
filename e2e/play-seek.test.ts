/**
 * A real browser plays a sample clip from /api/stream/{id}: metadata, playback, seeks to 50 % and
 * 90 %, and the 206 range answers behind them; and an unknown id fails as a media error over a 404
 * error envelope. Headless Debian Chromium through playwright-core (see e2e/helpers/browser.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { copySample } from '../test/helpers/fixtures.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { launchChromium, mountVideo, NetworkRecorder, openServerPage, throttleDownload, videoState, VIDEO_ID, waitForVideo } from './helpers/browser.ts';

const CLIP = 'final-table.mp4';
/** The sample: 30 s of 640x360 H.264/AAC at about 72 kB/s, 2.1 MB. */
const DURATION_S = 30;
/**
 * Download speed for the play/seek test, about twice the clip's bitrate: playback keeps up, but
 * Chromium cannot have the whole file by the time it seeks. Unthrottled over loopback it fetches the
 * whole 2.1 MB with its first `bytes=0-` request in well under a second and then seeks inside its
 * buffer without asking the server for anything, so there would be no seek range request to check.
 */
const THROTTLE_BYTES_PER_S = 150_000;

describe('playing and seeking in headless Chromium', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  it('plays a sample clip, resumes after seeks to 50 % and 90 %, over 206 range answers', { timeout: 40_000 }, async (t) => {
    const ts = await startTestServer(async (dir) => void (await copySample(dir, CLIP)));
    let context: BrowserContext | undefined;
    try {
      const size = (await stat(path.join(ts.libraryDir, CLIP))).size;
      const opened = await openServerPage(browser, ts);
      context = opened.context;
      const page = opened.page;
      const src = `${ts.url}/api/stream/${ts.idOf(CLIP)}`;
      const net = new NetworkRecorder(page, src);
      await throttleDownload(page, THROTTLE_BYTES_PER_S);
      await mountVideo(page, src, { play: true });

      // (1) Metadata.
      await waitForVideo(page, 'loadedmetadata', (v) => v.readyState >= 1, null);
      let s = await videoState(page);
      assert.ok(Math.abs(s.duration - DURATION_S) < 0.5, `duration ${s.duration}`);
      assert.equal(s.videoWidth, 640);
      assert.equal(s.videoHeight, 360);

      // (2) It plays.
      await waitForVideo(page, 'currentTime past 1 s', (v) => v.currentTime > 1 && !v.paused, null);
      s = await videoState(page);
      assert.equal(s.error, null);
      assert.ok(s.events.some((e) => e.type === 'playing'), 'a playing event');

      // (4a) The first answer was a 206 with a Content-Range.
      const first = await net.waitForResponse((r) => r.status === 206, 5_000, 'a 206 for the stream');
      assert.match(first.contentRange ?? '', new RegExp(`^bytes \\d+-\\d+/${size}$`));
      assert.match(first.contentType ?? '', /^video\/mp4/);

      // (3) Seeks, each resuming playback from its target; (4b) each fetched a range further into the file.
      let previousStart = 0;
      for (const [fraction, minStart, maxStart] of [
        [0.5, 0.25, 0.75],
        [0.9, 0.6, 1],
      ] as const) {
        const target = DURATION_S * fraction;
        const seekedBefore = (await videoState(page)).events.filter((e) => e.type === 'seeked').length;
        const seekAt = net.now();
        await page.evaluate(({ id, target }) => void ((document.getElementById(id) as HTMLVideoElement).currentTime = target), { id: VIDEO_ID, target });
        await waitForVideo(
          page,
          `seeked to ${target} s`,
          (v, n) => !v.seeking && (v as unknown as { e2eEvents: { type: string }[] }).e2eEvents.filter((e) => e.type === 'seeked').length > n,
          seekedBefore,
        );
        s = await videoState(page);
        assert.ok(Math.abs(s.currentTime - target) < 0.5, `currentTime ${s.currentTime} right after seeking to ${target}`);
        await waitForVideo(page, `playback past ${target + 1} s`, (v, until) => v.currentTime > until && !v.paused, target + 1);

        const seekRange = await net.waitForResponse(
          (r) => r.at >= seekAt && r.status === 206 && (r.rangeStart ?? 0) > 0,
          5_000,
          `a range request for the seek to ${target} s`,
        );
        const start = seekRange.rangeStart ?? 0;
        assert.ok(start > previousStart, `seek range ${seekRange.range} starts after ${previousStart}`);
        assert.ok(start >= size * minStart && start <= size * maxStart, `seek range ${seekRange.range} lies near ${fraction * 100} % of ${size} bytes`);
        assert.match(seekRange.contentRange ?? '', new RegExp(`^bytes ${start}-\\d+/${size}$`));
        previousStart = start;
      }

      s = await videoState(page);
      assert.equal(s.error, null);
      assert.deepEqual(s.events.filter((e) => e.type === 'error'), []);
      await net.settled();
      assert.ok(net.responses.every((r) => r.status === 206), `every stream answer was a 206: ${JSON.stringify(net.responses)}`);
      for (const line of net.describe()) t.diagnostic(`stream request ${line}`);
    } finally {
      await context?.close();
      await ts.close();
    }
  });

  it('an unknown content id gives a media error over a 404 CONTENT_NOT_FOUND envelope', { timeout: 20_000 }, async () => {
    const ts = await startTestServer(async (dir) => void (await copySample(dir, CLIP)));
    let context: BrowserContext | undefined;
    try {
      const unknownId = 'no-such-video-0';
      assert.notEqual(ts.idOf(CLIP), unknownId);
      const opened = await openServerPage(browser, ts);
      context = opened.context;
      const page = opened.page;
      const src = `${ts.url}/api/stream/${unknownId}`;
      const net = new NetworkRecorder(page, src);
      await mountVideo(page, src, { play: true });

      await waitForVideo(page, 'a media error', (v) => v.error !== null, null);
      const s = await videoState(page);
      assert.equal(s.error?.code, 4, `MEDIA_ERR_SRC_NOT_SUPPORTED, got ${JSON.stringify(s.error)}`);
      assert.ok(s.events.some((e) => e.type === 'error'), 'an error event');
      assert.ok(Number.isNaN(s.duration), 'no metadata');

      const answer = await net.waitForResponse(() => true, 5_000, 'the answer to the <video> request');
      assert.equal(answer.status, 404);
      assert.match(answer.contentType ?? '', /^application\/json/);
      assert.equal(answer.contentRange, undefined);

      // Chromium keeps no body for media requests (DevTools: "No data found for resource"), so read the
      // envelope with a same-origin fetch of the same URL, carrying the same cookies and Range.
      const fetched = await page.evaluate(async (src) => {
        const res = await fetch(src, { headers: { Range: 'bytes=0-' } });
        return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as unknown };
      }, src);
      assert.equal(fetched.status, 404);
      const body = fetched.body as { error?: { code?: unknown; message?: unknown } };
      assert.equal(body.error?.code, 'CONTENT_NOT_FOUND');
      assert.equal(typeof body.error?.message, 'string');
    } finally {
      await context?.close();
      await ts.close();
    }
  });
});
