/**
 * The video bytes and their description: `GET|HEAD /api/stream/{id}` and `GET /api/stream/{id}/info`.
 */
import { Router } from 'express';
import type { Logger } from 'pino';
import type { Cache } from '../../cache/index.ts';
import type { Library } from '../../library/index.ts';
import { methodNotAllowed } from '../error-middleware.ts';
import { sendVideo } from '../send-video.ts';
import { streamInfoView } from '../views.ts';
import { contentIdParam } from './params.ts';

/** The stream routes. */
export function streamRoutes(library: Library, cache: Cache, log: Logger): Router {
  const r = Router();
  r.route('/api/stream/:id')
    .get(async (req, res) => {
      const id = contentIdParam(req.params.id);
      const content = library.getContent(id);
      const { path, source } = await cache.getStreamPath(id);
      const t0 = performance.now();
      await sendVideo(req, res, id, path, content.mimeType, (o) => {
        log.debug(
          { content_id: id, source, status: o.status, range: req.headers.range, bytes: o.bytesSent, aborted: o.aborted, ms: Math.round(performance.now() - t0) },
          'stream request',
        );
      });
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  r.route('/api/stream/:id/info')
    .get(async (req, res) => {
      const id = contentIdParam(req.params.id);
      const content = library.getContent(id);
      const { source } = await cache.getStreamPath(id);
      res.json(streamInfoView(content, source));
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  return r;
}
