/**
 * The built web UIs (renderer/dist, made by `vite build`): the viewer at `/`, the console at `/console/`.
 * Asset file names carry a content hash, so browsers may keep them for a year; the HTML pages name the
 * current hashes and are revalidated on every load.
 */
import path from 'node:path';
import express, { type Router } from 'express';

/** Cache-Control of hashed assets. */
export const ASSET_CACHE = 'public, max-age=31536000, immutable';
/** Cache-Control of the pages. */
export const PAGE_CACHE = 'no-cache';

/** Serves the built UIs from `webRoot`. */
export function webUiRoutes(webRoot: string): Router {
  const assets = path.join(webRoot, 'assets') + path.sep;
  return express.Router().use(
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
}
