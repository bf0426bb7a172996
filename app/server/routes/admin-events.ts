/**
 * `GET /api/admin/events`: the console's live feed as server-sent events (admins only).
 */
import { Router } from 'express';
import { requireAdmin } from '../auth-guard.ts';
import type { ConsoleFeed } from '../console-feed.ts';
import { methodNotAllowed } from '../error-middleware.ts';

/** The feed route; mount behind the API-wide guard. */
export function adminEventRoutes(feed: ConsoleFeed): Router {
  const r = Router();
  r.route('/api/admin/events')
    .get(requireAdmin, (req, res) => feed.connect(req, res))
    .all(methodNotAllowed('GET'));
  return r;
}
