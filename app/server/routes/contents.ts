/**
 * The catalogue: `GET /api/contents` and `GET /api/contents/{id}`.
 */
import { Router } from 'express';
import type { ContentListResponse } from '../../contract/wire.ts';
import type { Library } from '../../library/index.ts';
import { naturalCompare } from '../../model/natural-order.ts';
import { methodNotAllowed } from '../error-middleware.ts';
import { contentView } from '../views.ts';
import { contentIdParam } from './params.ts';

/** The catalogue routes. */
export function contentRoutes(library: Library): Router {
  const r = Router();
  r.route('/api/contents')
    .get((_req, res) => {
      // Natural order of the paths, so an event's videos read "Day 2" before "Day 10" (the reel's order too).
      const items = library.list().sort((a, b) => naturalCompare(a.relPath, b.relPath)).map(contentView);
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
