/**
 * The operator's view of streams: `GET /api/admin/streams`, `DELETE /api/admin/streams/{session_id}`,
 * `GET /api/admin/metrics`; and `GET /metrics` for Prometheus.
 */
import { Router } from 'express';
import type { Auth } from '../../auth/index.ts';
import type { Library } from '../../library/index.ts';
import type { Streams } from '../../stream/index.ts';
import { requireAdmin } from '../auth-guard.ts';
import { methodNotAllowed } from '../error-middleware.ts';
import { titleOf } from '../views.ts';
import { sessionIdParam } from './params.ts';
import { sessionView } from './sessions.ts';

/** Admin stream routes; mount behind the API-wide guard. */
export function adminStreamRoutes(library: Library, auth: Auth, streams: Streams): Router {
  const r = Router();
  r.use('/api/admin', requireAdmin);
  r.route('/api/admin/streams')
    .get((_req, res) => {
      const items = streams.activeSessions().map((s) => {
        const user = auth.getUser(s.userId);
        return {
          ...sessionView(s),
          user: { id: s.userId, username: user?.username ?? null },
          content: { id: s.contentId, title: titleOf(library, s.contentId) },
          implicit: s.implicit,
          stale: s.stale,
          last_activity: new Date(s.lastActivity).toISOString(),
          rate_bps: Math.round(s.bytesPerSecond * 8),
          qoe: s.qoe,
        };
      });
      res.json({ items, total: items.length });
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  r.route('/api/admin/streams/:sid')
    .delete((req, res) => {
      res.json(sessionView(streams.endByAdmin(sessionIdParam(req.params.sid))));
    })
    .all(methodNotAllowed('DELETE'));
  r.route('/api/admin/metrics')
    .get((_req, res) => {
      res.json(streams.getStreamMetrics());
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
