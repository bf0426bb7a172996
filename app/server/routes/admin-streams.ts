/**
 * The operator's view of streams: `GET /api/admin/streams`, `DELETE /api/admin/streams/{session_id}`,
 * `GET /api/admin/metrics`; and `GET /metrics` for Prometheus.
 */
import { Router } from 'express';
import { END_NOTE_MAX } from '../../contract/constants.ts';
import type { ActiveStreamListResponse, MetricsWire } from '../../contract/wire.ts';
import type { Auth } from '../../auth/index.ts';
import type { Library } from '../../library/index.ts';
import type { Streams } from '../../stream/index.ts';
import { ValidationFailed } from '../../model/errors.ts';
import { principalOf, requireAdmin } from '../auth-guard.ts';
import { methodNotAllowed } from '../error-middleware.ts';
import { activeStreamViews } from '../views.ts';
import { sessionIdParam } from './params.ts';
import { sessionView } from './sessions.ts';

/** Admin stream routes; mount behind the API-wide guard. */
export function adminStreamRoutes(library: Library, auth: Auth, streams: Streams): Router {
  const r = Router();
  r.use('/api/admin', requireAdmin);
  r.route('/api/admin/streams')
    .get((_req, res) => {
      const items = activeStreamViews(streams.activeSessions(), auth, library);
      res.json({ items, total: items.length } satisfies ActiveStreamListResponse);
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  r.route('/api/admin/streams/:sid')
    .delete((req, res) => {
      const sid = sessionIdParam(req.params.sid);
      res.json(sessionView(streams.endByAdmin(sid, principalOf(res).user.id, endNote(req.body))));
    })
    .all(methodNotAllowed('DELETE'));
  r.route('/api/admin/metrics')
    .get((_req, res) => {
      res.json(streams.getStreamMetrics() satisfies MetricsWire);
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  return r;
}

/** `GET /metrics` in Prometheus text format; counts only, no user data, so scrapers need no token. */
export function prometheusRoutes(streams: Streams): Router {
  const r = Router();
  r.route('/metrics')
    .get(async (_req, res) => {
      const { contentType, body } = await streams.prometheusText();
      res.setHeader('Content-Type', contentType);
      res.send(body);
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  return r;
}

/** The operator's reason from an optional `{reason}` body: trimmed, at most END_NOTE_MAX characters. */
function endNote(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) throw new ValidationFailed('body', 'must be a JSON object');
  const reason = (body as { reason?: unknown }).reason;
  if (reason === undefined || reason === null) return undefined;
  if (typeof reason !== 'string' || reason.length > END_NOTE_MAX) throw new ValidationFailed('reason', `must be text of at most ${END_NOTE_MAX} characters`);
  return reason.trim() || undefined;
}
