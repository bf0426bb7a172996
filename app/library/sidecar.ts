/**
 * The hands sidecar: a JSON file beside a video, same base name, `{"title", "hands": [...]}`.
 * Validation is all-or-nothing: a sidecar with one bad hand is rejected whole, never half-applied.
 */
import type { Hand } from '../model/content.ts';

/** What a valid sidecar says. */
export interface Sidecar {
  readonly title: string | null;
  readonly hands: readonly Hand[];
}

/** A sidecar's first problem, in a sentence an operator can act on. */
export class SidecarInvalid extends Error {
  override readonly name = 'SidecarInvalid';
}

/** Largest sidecar read; a hands list for a 3-hour episode is a few KiB. */
export const MAX_SIDECAR_BYTES = 1024 * 1024;
const MAX_HANDS = 10_000;
const MAX_TITLE = 300;
/** Hand times come from a logger's clock, the duration from the container: allow half a second between them. */
const DURATION_TOLERANCE_S = 0.5;

/** Parses and validates a sidecar's text against the video's duration (null when unknown). */
export function parseSidecar(text: string, durationSeconds: number | null): Sidecar {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new SidecarInvalid(`not valid JSON (${(err as Error).message})`);
  }
  return validateSidecar(doc, durationSeconds);
}

/** Validates an already-parsed sidecar document (also used by the hands import endpoint). */
export function validateSidecar(doc: unknown, durationSeconds: number | null): Sidecar {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new SidecarInvalid('must be a JSON object');
  const o = doc as Record<string, unknown>;
  let title: string | null = null;
  if (o.title !== undefined && o.title !== null) {
    if (typeof o.title !== 'string' || o.title.trim() === '') throw new SidecarInvalid('title must be a non-empty string');
    if (o.title.length > MAX_TITLE) throw new SidecarInvalid(`title is longer than ${MAX_TITLE} characters`);
    title = o.title.trim();
  }
  const rawHands = o.hands ?? [];
  if (!Array.isArray(rawHands)) throw new SidecarInvalid('hands must be an array');
  if (rawHands.length > MAX_HANDS) throw new SidecarInvalid(`more than ${MAX_HANDS} hands`);

  const hands = rawHands.map((h, i) => validateHand(h, i, durationSeconds));
  const seen = new Set<number>();
  for (const h of hands) {
    if (seen.has(h.index)) throw new SidecarInvalid(`hand index ${h.index} appears twice`);
    seen.add(h.index);
  }
  const sorted = [...hands].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.start < prev.end) {
      throw new SidecarInvalid(`hand ${cur.index} (${cur.start}-${cur.end} s) overlaps hand ${prev.index} (${prev.start}-${prev.end} s)`);
    }
  }
  return { title, hands: sorted };
}

function validateHand(h: unknown, i: number, durationSeconds: number | null): Hand {
  const where = `hands[${i}]`;
  if (typeof h !== 'object' || h === null || Array.isArray(h)) throw new SidecarInvalid(`${where} must be an object`);
  const o = h as Record<string, unknown>;
  const index = o.index;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 1) {
    throw new SidecarInvalid(`${where}.index must be a whole number from 1`);
  }
  const start = o.start;
  const end = o.end;
  if (typeof start !== 'number' || !Number.isFinite(start) || start < 0) {
    throw new SidecarInvalid(`${where}.start must be a number of seconds, 0 or more`);
  }
  if (typeof end !== 'number' || !Number.isFinite(end)) throw new SidecarInvalid(`${where}.end must be a number of seconds`);
  if (end <= start) throw new SidecarInvalid(`hand ${index} ends (${end} s) before it starts (${start} s)`);
  if (durationSeconds !== null && end > durationSeconds + DURATION_TOLERANCE_S) {
    throw new SidecarInvalid(`hand ${index} ends at ${end} s, past the video's ${durationSeconds} s`);
  }
  const isBest = o.is_best ?? false;
  if (typeof isBest !== 'boolean') throw new SidecarInvalid(`${where}.is_best must be true or false`);
  return { index, start, end, is_best: isBest };
}
