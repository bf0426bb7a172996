/**
 * `npm run screenshots`: screenshots of the operator console for docs/ and the
 * README, taken in headless Chromium against a real server on a temp copy of the samples, with three viewers
 * playing (slowed down, so their byte rates show), a pending account and a refused start.
 * Everything runs on 127.0.0.1 and stops when done.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { launchChromium, logInBrowser, throttleDownload } from './helpers/browser.ts';
import { copySample, makeLongClip } from '../test/helpers/fixtures.ts';
import { startTestServer } from '../test/helpers/server.ts';

const OUT = path.join(PROJECT_ROOT, 'docs', 'screenshots');
const PASSWORD = 'viewer-password';
const PAGES = ['now', 'slots', 'metrics', 'history', 'users', 'library', 'hands', 'cache', 'share'] as const;

const ts = await startTestServer(
  async (lib) => {
    await copySample(lib, 'final-table.mp4');
    await copySample(lib, 'heads-up.mp4', false);
    // Something for the Library health page: a file that is no video, a sidecar whose hands overlap.
    await writeFile(path.join(lib, 'corrupt-download.mp4'), Buffer.alloc(4096, 7));
    await writeFile(path.join(lib, 'heads-up.json'), JSON.stringify({ hands: [{ index: 1, start: 1, end: 6, is_best: true }, { index: 2, start: 4, end: 9, is_best: false }] }));
    await makeLongClip(path.join(lib, 'wsop-2024-main-event-day-1.mp4'), 90, '2M');
    const hands = Array.from({ length: 12 }, (_, i) => ({ index: i + 1, start: 2 + i * 7, end: 7 + i * 7, is_best: i % 4 === 1 }));
    await writeFile(path.join(lib, 'wsop-2024-main-event-day-1.json'), JSON.stringify({ title: 'WSOP 2024 Main Event, Day 1', hands }));
  },
  // The SSD tier at work: heads of every video, a copy after three starts, copies slow enough to watch one run.
  ['--max-streams-per-user', '2', '--head-bytes', '1MiB', '--promote-after', '3', '--promote-rate', '200KB', '--cache-budget', '2GB', '--cache-reserve', '5GB'],
  { feed: { metricsTickMs: 1_000 } },
);
const browser = await launchChromium();
try {
  await mkdir(OUT, { recursive: true });
  for (const name of ['kim', 'joe', 'ana']) await ts.server.auth.createUser({ username: `viewer-${name}`, password: PASSWORD, role: 'viewer', status: 'active' });
  await ts.server.auth.register('pending-lee', PASSWORD);
  const id = ts.idOf('final-table.mp4');
  // A little history: a few ended plays, one refused start.
  const kim = await ts.login('viewer-kim', PASSWORD);
  for (let i = 0; i < 3; i++) {
    const s = (await ts.request(`/api/stream/${id}/start`, { method: 'POST', as: kim })).json();
    await ts.request(`/api/stream/${id}/end`, { method: 'POST', as: kim, body: { session_id: s.session_id, position: 5 } });
  }
  const long = ts.idOf('wsop-2024-main-event-day-1.mp4');
  const viewers = [];
  for (const [name, speed] of [['kim', 300_000], ['joe', 400_000], ['ana', 600_000]] as const) {
    const context = await browser.newContext();
    await logInBrowser(context, ts, { username: `viewer-${name}`, password: PASSWORD });
    const page = await context.newPage();
    await throttleDownload(page, speed);
    await page.goto(`${ts.url}/watch/${long}`);
    viewers.push(context);
  }
  const joe = await ts.login('viewer-joe', PASSWORD);
  await ts.request(`/api/stream/${id}/start`, { method: 'POST', as: joe });
  await ts.request(`/api/stream/${id}/start`, { method: 'POST', as: joe }); // the third is refused
  await new Promise((r) => setTimeout(r, 40_000));

  const context = await browser.newContext({ viewport: { width: 1360, height: 820 } });
  await logInBrowser(context, ts);
  const page = await context.newPage();
  for (const p of PAGES) {
    // A pin made just before its screenshot waits behind the copy under way on the Cache page.
    if (p === 'cache') await ts.request(`/api/admin/cache/${ts.idOf('heads-up.mp4')}/pin`, { method: 'POST' });
    await page.goto(`${ts.url}/console/#/${p}`);
    await page.waitForSelector('#feed-state.live');
    await new Promise((r) => setTimeout(r, 1_500));
    await page.screenshot({ path: path.join(OUT, `console-${p}.png`) });
    console.log(`docs/screenshots/console-${p}.png`);
  }
  for (const c of viewers) await c.close();
  await context.close();
} finally {
  await browser.close();
  await ts.close();
}
