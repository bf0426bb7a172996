/**
 * Stream sessions over HTTP: `POST /api/stream/{id}/start|heartbeat|end`, and watch progress:
 * `PUT|GET /api/progress/{id}`, `GET /api/progress`.
 */
import express, { Router, type Request } from 'express';
import { HEARTBEAT_SECONDS } from '../../contract/constants.ts';
import type { Library } from '../../library/index.ts';
import { ValidationFailed } from '../../model/errors.ts';
import type { ProgressListResponse, ProgressSavedResponse, ProgressWire, SessionWire, StartResponse } from '../../contract/wire.ts';
import type { PlayerState, Qoe, StreamSession, ViewMode, WatchProgress } from '../../model/stream.ts';
import type { Heartbeat, Streams } from '../../stream/index.ts';
import { principalOf } from '../auth-guard.ts';
import { methodNotAllowed } from '../error-middleware.ts';
import { titleOf } from '../views.ts';
import { contentIdParam, sessionIdParam } from './params.ts';


function body(req: Request): Record<string, unknown> {
  const b: unknown = req.body ?? {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new ValidationFailed('body', 'must be a JSON object');
  return b as Record<string, unknown>;
}

function optionalSeconds(value: unknown, field: string, max = 1e7): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) throw new ValidationFailed(field, `must be a number from 0 to ${max}`);
  return value;
}

function parseState(value: unknown): PlayerState | undefined {
  if (value === undefined || value === null) return undefined;
  if (value !== 'playing' && value !== 'paused') throw new ValidationFailed('state', 'must be "playing" or "paused"');
  return value;
}

function parseQoe(value: unknown): Qoe | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new ValidationFailed('qoe', 'must be an object');
  const q = value as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const key of ['ttff_ms', 'stall_count', 'stall_ms', 'seek_ms', 'buffer_ahead_s'] as const) {
    const v = optionalSeconds(q[key], `qoe.${key}`, 1e9);
    if (v !== undefined) out[key] = key === 'stall_count' ? Math.round(v) : Math.round(v * 10) / 10;
  }
  return out;
}

function parseMode(value: unknown): ViewMode | undefined {
  if (value === undefined || value === null) return undefined;
  if (value !== 'all' && value !== 'skip' && value !== 'best') throw new ValidationFailed('mode', 'must be "all", "skip" or "best"');
  return value;
}

/** A session as the viewer's API shows it. */
export function sessionView(s: StreamSession): SessionWire {
  return {
    session_id: s.sessionId,
    content_id: s.contentId,
    source: s.source,
    status: s.status,
    state: s.state,
    position: s.position,
    bytes_transferred: s.bytesTransferred,
    started_at: new Date(s.startedAt).toISOString(),
    ended_at: s.endedAt === null ? null : new Date(s.endedAt).toISOString(),
    end_reason: s.endReason,
    watch_duration: s.watchDuration,
  };
}

function progressView(contentId: string, p: WatchProgress | undefined): ProgressWire {
  return {
    content_id: contentId,
    position: p?.position ?? 0,
    duration: p?.duration ?? null,
    progress_percent: p?.progressPercent ?? 0,
    updated_at: p?.updatedAt ?? null,
  };
}

/** The session and progress routes; mount behind the API-wide guard. */
export function sessionRoutes(library: Library, streams: Streams): Router {
  const r = Router();
  r.route('/api/stream/:id/start')
    .post(async (req, res) => {
      const id = contentIdParam(req.params.id);
      const s = await streams.startStream(principalOf(res).user.id, id);
      res.status(201).json({
        ...sessionView(s),
        stream_url: `/api/stream/${encodeURIComponent(id)}?session=${s.sessionId}`,
        heartbeat_interval_seconds: HEARTBEAT_SECONDS,
      } satisfies StartResponse);
    })
    .all(methodNotAllowed('POST'));

  r.route('/api/stream/:id/heartbeat')
    .post((req, res) => {
      const id = contentIdParam(req.params.id);
      const b = body(req);
      const hb: Heartbeat = { position: optionalSeconds(b.position, 'position'), state: parseState(b.state), qoe: parseQoe(b.qoe), mode: parseMode(b.mode) };
      res.json(sessionView(streams.heartbeat(principalOf(res).user.id, id, sessionIdParam(b.session_id), hb)));
    })
    .all(methodNotAllowed('POST'));

  // navigator.sendBeacon sends a text/plain body when the page goes away; it is read as JSON here only.
  r.route('/api/stream/:id/end')
    .post(express.json({ type: 'text/plain', limit: '4kb' }), (req, res) => {
      const id = contentIdParam(req.params.id);
      const b = body(req);
      res.json(sessionView(streams.stopStream(principalOf(res).user.id, id, sessionIdParam(b.session_id), optionalSeconds(b.position, 'position'))));
    })
    .all(methodNotAllowed('POST'));

  r.route('/api/progress')
    .get((_req, res) => {
      // A video that left the library keeps its progress (title null) for when it comes back.
      const items = streams.listProgress(principalOf(res).user.id).map((p) => ({ ...progressView(p.contentId, p), title: titleOf(library, p.contentId) }));
      res.json({ items } satisfies ProgressListResponse);
    })
    .all(methodNotAllowed('GET', 'HEAD'));

  r.route('/api/progress/:id')
    .get((req, res) => {
      const id = contentIdParam(req.params.id);
      library.getContent(id);
      res.json(progressView(id, streams.getProgress(principalOf(res).user.id, id)));
    })
    .put((req, res) => {
      const id = contentIdParam(req.params.id);
      const b = body(req);
      const p = streams.updateProgress(principalOf(res).user.id, id, b.position, b.duration);
      res.json({ success: true, progress_percent: p.progressPercent } satisfies ProgressSavedResponse);
    })
    .all(methodNotAllowed('GET', 'HEAD', 'PUT'));
  return r;
}
