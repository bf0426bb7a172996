/**
 * The built web UIs (renderer/dist, made by `vite build`): the viewer at `/login`, `/` and
 * `/watch/{content_id}` (real URLs, routed in the page by the history API), the console at `/console/`.
 * Asset file names carry a content hash, so browsers may keep them for a year; the HTML pages name the
 * current hashes and are revalidated on every load.
 */
import path from 'node:path';
import express, { type Router } from 'express';

/** Cache-Control of hashed assets. */
export const ASSET_CACHE = 'public, max-age=31536000, immutable';
/** Cache-Control of the pages. */
export const PAGE_CACHE = 'no-cache';

/**
 * The viewer's own paths: only these answer with its page, so a mistyped address still gets the JSON 404
 * rather than a page that routes nowhere. A content id is the catalogue's url-safe form (scanner.ts).
 */
export const VIEWER_PAGE_PATH = /^\/(?:login|watch\/[A-Za-z0-9_-]{1,64})?$/;

/** Serves the built UIs from `webRoot`. */
export function webUiRoutes(webRoot: string): Router {
  const assets = path.join(webRoot, 'assets') + path.sep;
  const viewerPage = path.join(webRoot, 'index.html');
  const router = express.Router();
  router.get(/.*/, (req, res, next) => {
    if (!VIEWER_PAGE_PATH.test(req.path)) return next();
    res.setHeader('Cache-Control', PAGE_CACHE);
    res.sendFile(viewerPage, { dotfiles: 'deny' }, (err) => err && next(err));
  });
  router.use(
    express.static(webRoot, {
      index: 'index.html',
      dotfiles: 'ignore',
      fallthrough: true,
      etag: true,
      setHeaders(res, file) {
        res.setHeader('Cache-Control', file.startsWith(assets) ? ASSET_CACHE : PAGE_CACHE);
      },
    }),
  );
  return router;
}
