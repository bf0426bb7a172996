/**
 * `GET /api/health`: liveness for operators and scripts, with the version and catalogue counts.
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
      res.json({ status: 'ok', version, uptime_seconds: Math.round((Date.now() - startedAt) / 1000), catalogue: library.counts() } satisfies HealthWire);
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  return r;
}
