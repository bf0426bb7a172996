/**
 * The web UIs' build: a multi-page app (the viewer at /, the operator console at /console/) from
 * renderer/ into renderer/dist/, which the server serves. Asset names carry a content hash, so the server
 * may let browsers cache them for a year and only the HTML is revalidated.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), 'renderer');

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.join(root, 'dist'),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: true,
    rollupOptions: {
      input: { viewer: path.join(root, 'index.html'), console: path.join(root, 'console', 'index.html') },
    },
  },
});
