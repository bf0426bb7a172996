/**
 * `POST /api/admin/library/rescan`: re-reads the library root now (the console's rescan button). A scan
 * already running is shared, never doubled.
 */
import { Router } from 'express';
import type { RescanWire } from '../../contract/wire.ts';
import type { Library } from '../../library/index.ts';
import { requireAdmin } from '../auth-guard.ts';
import { methodNotAllowed } from '../error-middleware.ts';

/** The rescan route; mount behind the API-wide guard. */
export function adminLibraryRoutes(library: Library): Router {
  const r = Router();
  r.route('/api/admin/library/rescan')
    .post(requireAdmin, async (_req, res) => {
      const s = await library.scan();
      const reach = library.reachability();
      const body: RescanWire = {
        files: s.files,
        added: s.added,
        updated: s.updated,
        removed: s.removed,
        unplayable: s.unplayable,
        duration_ms: s.ms,
        // The catalogue names each rejected sidecar's video and reason; file paths never leave the server.
        sidecar_errors: s.sidecarErrors.length,
        // A root that cannot be read (the NAS away) scans nothing and changes nothing: say so, not "0 files".
        library: { reachable: reach.reachable, since: reach.since, root_error: s.rootError ?? null },
      };
      res.status(s.rootError ? 503 : 200).json(body);
    })
    .all(methodNotAllowed('POST'));
  return r;
}
