// Hand-skip logic of the player, free of the DOM so it reads as the rules it is.
import type { Hand, ViewMode } from '../../app/contract/index.ts';

/** The hand that contains `t`, or undefined. */
export function handAt(hands: readonly Hand[], t: number): Hand | undefined {
  return hands.find((h) => t >= h.start && t < h.end);
}

/** The next hand starting after `t` (optionally best hands only). */
export function nextHand(hands: readonly Hand[], t: number, bestOnly = false): Hand | undefined {
  return hands.find((h) => h.start > t + 0.25 && (!bestOnly || h.is_best));
}

/** The hand before the one playing at `t`; within 3 s of a hand's start, the one before that. */
export function previousHand(hands: readonly Hand[], t: number): Hand | undefined {
  const before = hands.filter((h) => h.start < t - 3);
  return before[before.length - 1];
}

/**
 * Where playback should jump to from `t`, or undefined to stay: in skip mode out of dead time to the next
 * hand; in best-only mode out of anything that is not a best hand.
 */
export function jumpTarget(hands: readonly Hand[], t: number, mode: ViewMode): number | undefined {
  if (hands.length === 0 || mode === 'all') return undefined;
  const here = handAt(hands, t);
  if (mode === 'skip' && here) return undefined;
  if (mode === 'best' && here && here.is_best) return undefined;
  const next = nextHand(hands, t, mode === 'best');
  return next ? next.start : undefined;
}
