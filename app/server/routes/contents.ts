/**
 * The catalogue: `GET /api/contents` and `GET /api/contents/{id}`.
 */
import { Router } from 'express';
import type { ContentListResponse } from '../../contract/wire.ts';
import type { Library } from '../../library/index.ts';
import { methodNotAllowed } from '../error-middleware.ts';
import { contentView } from '../views.ts';
import { contentIdParam } from './params.ts';

/** The catalogue routes. */
export function contentRoutes(library: Library): Router {
  const r = Router();
  r.route('/api/contents')
    .get((_req, res) => {
      const items = library.list().map(contentView);
      res.json({ items, total: items.length } satisfies ContentListResponse);
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  r.route('/api/contents/:id')
    .get((req, res) => {
      res.json(contentView(library.getContent(contentIdParam(req.params.id))));
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  return r;
}
