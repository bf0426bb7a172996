/**
 * `PUT /api/admin/contents/{id}/hands`: an operator replaces a video's hands (the console's hands editor
 * pastes or uploads the sidecar JSON). Mount behind the API-wide guard.
 */
import { Router } from 'express';
import type { HandsReplacedWire } from '../../contract/wire.ts';
import type { Library } from '../../library/index.ts';
import { ValidationFailed } from '../../model/errors.ts';
import { requireAdmin } from '../auth-guard.ts';
import { methodNotAllowed } from '../error-middleware.ts';
import { contentView, handsView } from '../views.ts';
import { contentIdParam } from './params.ts';

/** The hands editing route. */
export function adminHandsRoutes(library: Library): Router {
  const r = Router();
  r.use('/api/admin', requireAdmin);
  r.route('/api/admin/contents/:id/hands')
    .put(async (req, res) => {
      const id = contentIdParam(req.params.id);
      if (req.body === undefined) throw new ValidationFailed('body', 'must be a JSON object with "hands"');
      const c = await library.replaceHands(id, req.body);
      res.json({ content: contentView(c), ...handsView(c) } satisfies HandsReplacedWire);
    })
    .all(methodNotAllowed('PUT'));
  return r;
}
