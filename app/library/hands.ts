/**
 * What the player derives from a video's hands: the dead time to skip, the best hands, the action time.
 */
import type { Hand } from '../model/content.ts';

/** A stretch of the video with no hand in it. */
export interface SkipZone {
  readonly start: number;
  readonly end: number;
}

/** The hand-skip summary of SPEC §6 / the v2 `/info` fields. */
export interface HandSummary {
  readonly skip_zones: readonly SkipZone[];
  readonly best_hands_count: number;
  readonly action_duration: number;
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** Skip zones are the gaps before the first hand and between hands; hands must be sorted and disjoint. */
export function summariseHands(hands: readonly Hand[]): HandSummary {
  const zones: SkipZone[] = [];
  let cursor = 0;
  for (const h of hands) {
    if (h.start > cursor) zones.push({ start: round3(cursor), end: round3(h.start) });
    cursor = Math.max(cursor, h.end);
  }
  return {
    skip_zones: zones,
    best_hands_count: hands.filter((h) => h.is_best).length,
    action_duration: round3(hands.reduce((sum, h) => sum + (h.end - h.start), 0)),
  };
}
