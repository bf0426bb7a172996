/**
 * The JSON shapes the API answers with, built from model objects. Paths never appear here.
 */
import type { StreamSource } from '../cache/index.ts';
import { summariseHands } from '../model/hands.ts';
import type { Library } from '../library/index.ts';
import type { Content } from '../model/content.ts';

/** The media fields both catalogue and /info answers carry. */
function mediaFields(c: Content) {
  const m = c.media;
  return {
    mime_type: c.mimeType,
    codecs: { video: m?.videoCodec ?? null, audio: m?.audioCodec ?? null },
    resolution: m && m.width !== null && m.height !== null ? { width: m.width, height: m.height } : null,
    bitrate: m?.bitrate ?? null,
  };
}

/** A video's title, or null when it has left the catalogue (progress and sessions outlive it). */
export function titleOf(library: Library, contentId: string): string | null {
  try {
    return library.getContent(contentId).title;
  } catch {
    return null;
  }
}

/** A catalogue entry as `/api/contents` lists it. */
export function contentView(c: Content) {
  const m = c.media;
  const s = summariseHands(c.hands);
  return {
    id: c.id,
    title: c.title,
    duration_seconds: m?.durationSeconds ?? null,
    file_size: c.size,
    ...mediaFields(c),
    faststart: m?.faststart ?? null,
    playable: c.playable,
    unplayable_reason: c.unplayableReason,
    hands_count: c.hands.length,
    best_hands_count: s.best_hands_count,
    sidecar_error: c.sidecarError,
    added_at: c.addedAt,
    updated_at: c.updatedAt,
  };
}

/** The v2 hand-skip fields: the hands and what the player derives from them. */
export function handsView(c: Content) {
  const s = summariseHands(c.hands);
  return { hands: c.hands, skip_zones: s.skip_zones, best_hands_count: s.best_hands_count, action_duration: s.action_duration };
}

/** `/api/stream/{id}/info`: the v1 fields and the v2 hand-skip fields. */
export function streamInfoView(c: Content, source: StreamSource) {
  const m = c.media;
  return {
    content_id: c.id,
    title: c.title,
    duration: m?.durationSeconds ?? null,
    file_size: c.size,
    ...mediaFields(c),
    source,
    cache_hit: source === 'ssd',
    playable: c.playable,
    duration_seconds: m?.durationSeconds ?? null,
    ...handsView(c),
  };
}
