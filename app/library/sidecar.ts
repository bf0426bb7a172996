/**
 * The hands sidecar: a JSON file beside a video, same base name, `{"title", "hands": [...]}`.
 * Validation is all-or-nothing: a sidecar with one bad hand is rejected whole, never half-applied.
 */
import { z } from 'zod';
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

const handSchema = z.looseObject(
  {
    index: z.number({ error: 'must be a whole number from 1' }).int({ error: 'must be a whole number from 1' }).min(1, { error: 'must be a whole number from 1' }),
    start: z.number({ error: 'must be a number of seconds, 0 or more' }).min(0, { error: 'must be a number of seconds, 0 or more' }),
    end: z.number({ error: 'must be a number of seconds' }),
    is_best: z.boolean({ error: 'must be true or false' }).optional(),
  },
  { error: 'must be an object' },
);

/**
 * The shape of a sidecar, and of the body of `PUT /api/admin/contents/{id}/hands`: unknown keys are
 * kept out of the result, not refused, so a logger's extra fields do not reject a sidecar.
 */
export const sidecarSchema = z.looseObject(
  {
    title: z
      .string({ error: 'must be a non-empty string' })
      .trim()
      .min(1, { error: 'must be a non-empty string' })
      .max(MAX_TITLE, { error: `is longer than ${MAX_TITLE} characters` })
      .nullish(),
    hands: z.array(handSchema, { error: 'must be an array' }).max(MAX_HANDS, { error: `has more than ${MAX_HANDS} hands` }).optional(),
  },
  { error: 'must be a JSON object' },
);

/** "hands[2].start" for the path ['hands', 2, 'start']. */
function fieldOf(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** Validates an already-parsed sidecar document (also the body of the hands endpoint): shape by schema, then the rules between hands. */
export function validateSidecar(doc: unknown, durationSeconds: number | null): Sidecar {
  const parsed = sidecarSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = fieldOf(issue.path);
    throw new SidecarInvalid(field === '' ? issue.message : `${field} ${issue.message}`);
  }
  const hands: Hand[] = (parsed.data.hands ?? []).map((h) => ({ index: h.index, start: h.start, end: h.end, is_best: h.is_best ?? false }));
  for (const h of hands) {
    if (h.end <= h.start) throw new SidecarInvalid(`hand ${h.index} ends (${h.end} s) before it starts (${h.start} s)`);
    if (durationSeconds !== null && h.end > durationSeconds + DURATION_TOLERANCE_S) {
      throw new SidecarInvalid(`hand ${h.index} ends at ${h.end} s, past the video's ${durationSeconds} s`);
    }
  }
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
  return { title: parsed.data.title ?? null, hands: sorted };
}
