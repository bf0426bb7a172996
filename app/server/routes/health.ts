/**
 * `GET /api/health`: liveness for operators and scripts, with the version, catalogue counts and whether the
 * library root (the NAS) can be read. An unreadable root is `degraded`, still 200: the server is alive.
 */
import { Router } from 'express';
import type { HealthWire } from '../../contract/wire.ts';
import type { Library } from '../../library/index.ts';
import { methodNotAllowed } from '../error-middleware.ts';

/** The health route. */
export function healthRoutes(library: Library, version: string, startedAt: number): Router {
  const r = Router();
  r.route('/api/health')
    .get((_req, res) => {
      const nas = library.reachability();
      res.json({
        status: nas.reachable ? 'ok' : 'degraded',
        version,
        uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
        catalogue: library.counts(),
        library: { reachable: nas.reachable, since: nas.since, root_error: nas.rootError },
      } satisfies HealthWire);
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  return r;
}
