/**
 * The JSON shapes the API answers with, built from model objects. Paths never appear here (a folder's own
 * name does, as an event's title).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Auth } from '../auth/index.ts';
import type { StreamSource } from '../cache/index.ts';
import type { ActiveStreamWire, ContentWire, HandsFieldsWire, MediaFieldsWire, SlotsWire, StreamInfoWire } from '../contract/wire.ts';
import { summariseHands } from '../model/hands.ts';
import type { Library } from '../library/index.ts';
import type { Content } from '../model/content.ts';
import type { ActiveSession } from '../stream/index.ts';
import { sessionView } from './routes/sessions.ts';

/** The media fields both catalogue and /info answers carry. */
function mediaFields(c: Content): MediaFieldsWire {
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

/**
 * The event of a video: its folder, named by a hash of the folder's path (the path itself stays on the
 * server) and titled by the folder's last name ("Main_Event" → "Main Event"), as file names title videos.
 */
function eventOf(relPath: string): { event_id: string; event_title: string } {
  const dir = path.posix.dirname(relPath);
  if (dir === '.') return { event_id: '', event_title: '' };
  const title = path.posix.basename(dir).replace(/_+/g, ' ').replace(/\s+/g, ' ').trim();
  return { event_id: createHash('sha256').update(dir).digest('base64url').slice(0, 12), event_title: title };
}

/** A catalogue entry as `/api/contents` lists it. */
export function contentView(c: Content): ContentWire {
  const m = c.media;
  const s = summariseHands(c.hands);
  return {
    id: c.id,
    title: c.title,
    ...eventOf(c.relPath),
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
export function handsView(c: Content): HandsFieldsWire {
  const s = summariseHands(c.hands);
  return { hands: c.hands, skip_zones: s.skip_zones, best_hands_count: s.best_hands_count, action_duration: s.action_duration };
}

/** `/api/stream/{id}/info`: the v1 fields and the v2 hand-skip fields. */
export function streamInfoView(c: Content, source: StreamSource): StreamInfoWire {
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

/** The catalogue entry of a video, or undefined when it has left the catalogue. */
function contentOrUndefined(library: Library, contentId: string): Content | undefined {
  try {
    return library.getContent(contentId);
  } catch {
    return undefined;
  }
}

/**
 * Active streams as the operator sees them: who, what, where in the video, how fast, how well. Names and
 * catalogue entries are looked up once per user and video, not once per stream: the feed builds this list
 * every 2 s for up to 100 streams, mostly of a few users and videos.
 */
export function activeStreamViews(sessions: readonly ActiveSession[], auth: Auth, library: Library): ActiveStreamWire[] {
  const names = new Map<string, string | null>();
  const contents = new Map<string, Content | undefined>();
  return sessions.map((s) => {
    if (!names.has(s.userId)) names.set(s.userId, auth.getUser(s.userId)?.username ?? null);
    if (!contents.has(s.contentId)) contents.set(s.contentId, contentOrUndefined(library, s.contentId));
    const c = contents.get(s.contentId);
    const hands = c?.hands ?? [];
    const at = hands.findIndex((h) => s.position >= h.start && s.position < h.end);
    return {
      ...sessionView(s),
      user: { id: s.userId, username: names.get(s.userId) ?? null },
      content: { id: s.contentId, title: c?.title ?? null, duration_seconds: c?.media?.durationSeconds ?? null },
      implicit: s.implicit,
      stale: s.stale,
      last_activity: new Date(s.lastActivity).toISOString(),
      state_since: new Date(s.stateSince).toISOString(),
      rate_bps: Math.round(s.bytesPerSecond * 8),
      qoe: s.qoe,
      hand: hands.length === 0 ? null : { index: at < 0 ? null : at + 1, count: hands.length },
      mode: s.mode,
    };
  });
}

/** Who holds the stream slots, from the active streams' views; `refused` is the latest refusals first. */
export function slotsView(streams: readonly ActiveStreamWire[], limits: { readonly server: number; readonly perUser: number }, now: number, refused: SlotsWire['refused']): SlotsWire {
  const byUser = new Map<string, { user_id: string; username: string | null; sessions: SlotsWire['users'][number]['sessions'][number][] }>();
  for (const s of streams) {
    let u = byUser.get(s.user.id);
    if (!u) byUser.set(s.user.id, (u = { user_id: s.user.id, username: s.user.username, sessions: [] }));
    u.sessions.push({
      session_id: s.session_id,
      title: s.content.title,
      state: s.state,
      paused_seconds: s.state === 'paused' ? Math.max(0, Math.round((now - Date.parse(s.state_since)) / 1000)) : null,
    });
  }
  return {
    server: { used: streams.length, limit: limits.server },
    per_user_limit: limits.perUser,
    users: [...byUser.values()].map((u) => ({ ...u, used: u.sessions.length })).sort((a, b) => b.used - a.used),
    refused,
  };
}
