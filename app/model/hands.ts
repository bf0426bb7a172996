/**
 * What a player derives from a video's hands, as pure functions shared by the server (the `/info`
 * fields) and the viewer (keys, the hand list, resume, the reel). Hands are half-open intervals
 * [start, end): touching hands leave no dead time between them. Inputs need not be sorted.
 * No Node imports, so the web UIs can use it.
 */
import type { Hand } from './content.ts';
import { naturalCompare } from './natural-order.ts';

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

/** How the player moves through a video: every second, out of dead time, or best hands only. */
export type HandMode = 'all' | 'skip' | 'best';

/** A hand starting this close after the playhead counts as the current one, not the next (the player lands a little early). */
const NEXT_SLACK_S = 0.25;
/** Within this long of a hand's start, "previous" goes to the hand before it rather than to this one's start. */
const PREVIOUS_GRACE_S = 3;

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** The hands ordered by start (a copy). */
export function sortHands(hands: readonly Hand[]): Hand[] {
  return [...hands].sort((a, b) => a.start - b.start || a.end - b.end);
}

/** Skip zones are the gaps before the first hand and between hands; best hands and the time in hands. */
export function summariseHands(hands: readonly Hand[]): HandSummary {
  const zones: SkipZone[] = [];
  let cursor = 0;
  for (const h of sortHands(hands)) {
    if (h.start > cursor) zones.push({ start: round3(cursor), end: round3(h.start) });
    cursor = Math.max(cursor, h.end);
  }
  return {
    skip_zones: zones,
    best_hands_count: hands.filter((h) => h.is_best).length,
    action_duration: round3(hands.reduce((sum, h) => sum + (h.end - h.start), 0)),
  };
}

/** The hand playing at `t`, or undefined in dead time. */
export function handAt(hands: readonly Hand[], t: number): Hand | undefined {
  return hands.find((h) => t >= h.start && t < h.end);
}

/** The next hand starting after `t` (best hands only when asked). */
export function nextHand(hands: readonly Hand[], t: number, bestOnly = false): Hand | undefined {
  return sortHands(hands).find((h) => h.start > t + NEXT_SLACK_S && (!bestOnly || h.is_best));
}

/** The hand to go back to from `t`: the start of the current hand, or the one before it within 3 s of that start. */
export function previousHand(hands: readonly Hand[], t: number): Hand | undefined {
  const before = sortHands(hands).filter((h) => h.start < t - PREVIOUS_GRACE_S);
  return before[before.length - 1];
}

/**
 * Where playback should jump to from `t`, or undefined to stay: in skip mode out of dead time to the
 * next hand; in best mode out of anything that is not a best hand.
 */
export function jumpTarget(hands: readonly Hand[], t: number, mode: HandMode): number | undefined {
  if (hands.length === 0 || mode === 'all') return undefined;
  const here = handAt(hands, t);
  if (mode === 'skip' && here) return undefined;
  if (mode === 'best' && here?.is_best) return undefined;
  return nextHand(hands, t, mode === 'best')?.start;
}

/**
 * Where a viewer who left at `position` starts again: the start of the hand they left, never mid-hand;
 * from dead time, the start of the next hand; past the last hand (or with no hands), where they were.
 */
export function resumePosition(hands: readonly Hand[], position: number): number {
  const here = handAt(hands, position);
  if (here) return here.start;
  const next = sortHands(hands).find((h) => h.start >= position);
  return next ? next.start : position;
}

/** One stop of a best-hands reel. */
export interface ReelStop {
  readonly contentId: string;
  readonly hand: Hand;
}

/** A video of an event as the reel sees it. */
export interface ReelVideo {
  readonly contentId: string;
  /** Library-relative path: the reel follows the folder's natural order ("Day 2" after "Day 1"). */
  readonly relPath: string;
  readonly hands: readonly Hand[];
}

/** "Best hands only" across an event: every best hand of every video, video by video in natural order, each by start. */
export function bestHandsReel(videos: readonly ReelVideo[]): ReelStop[] {
  return [...videos]
    .sort((a, b) => naturalCompare(a.relPath, b.relPath))
    .flatMap((v) => sortHands(v.hands.filter((h) => h.is_best)).map((hand) => ({ contentId: v.contentId, hand })));
}

/** Where a reel resumes for a viewer last seen at `position` of `contentId`: the stop being watched, or the next one; -1 past the end. */
export function reelResumeIndex(reel: readonly ReelStop[], contentId: string, position: number): number {
  const first = reel.findIndex((s) => s.contentId === contentId);
  if (first < 0) return reel.length === 0 ? -1 : 0;
  for (let i = first; i < reel.length && reel[i]!.contentId === contentId; i++) {
    if (position < reel[i]!.hand.end) return i;
  }
  const after = reel.findIndex((s, i) => i > first && s.contentId !== contentId);
  return after;
}
