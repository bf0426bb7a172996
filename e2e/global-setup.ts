/**
 * Makes the browser suite's clips once per run (ffmpeg), into test-results/e2e-clips, for every worker's
 * server to copy: three 40 s days of an event, a 60 s clip for seeking and a 60 s one of a high bitrate.
 */
import { mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { makeLongClip } from '../test/helpers/fixtures.ts';

/** Where the clips are kept between runs (made again only when missing). */
export const CLIPS_DIR = path.join(PROJECT_ROOT, 'test-results', 'e2e-clips');

/** The clips: file name → seconds and bitrate. */
export const CLIPS: Readonly<Record<string, readonly [number, string]>> = {
  'day-1.mp4': [40, '1M'],
  'day-2.mp4': [40, '1M'],
  'day-10.mp4': [40, '1M'],
  'seek.mp4': [60, '1M'],
  // The console's live stream: a bitrate high enough that a slow line keeps the player reading, not
  // resting on what it has buffered.
  'live.mp4': [60, '5M'],
};

export default async function globalSetup(): Promise<void> {
  await mkdir(CLIPS_DIR, { recursive: true });
  await Promise.all(
    Object.entries(CLIPS).map(async ([name, [seconds, bitrate]]) => {
      const file = path.join(CLIPS_DIR, name);
      const made = await stat(file).then((s) => s.size > 0, () => false);
      if (made) return;
      // Made under another name and renamed, so a run cut short leaves no half clip to reuse.
      const part = path.join(CLIPS_DIR, `part-${name}`);
      await makeLongClip(part, seconds, bitrate);
      await rename(part, file);
    }),
  );
}
