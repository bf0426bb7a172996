/**
 * The order people number episodes in: "Day 2" before "Day 10", case ignored. Shared by the SSD tier
 * (the next video to pre-warm) and the viewer (the best-hands reel of an event). No Node imports.
 */
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Compares two names in natural order. */
export const naturalCompare = (a: string, b: string): number => collator.compare(a, b);
