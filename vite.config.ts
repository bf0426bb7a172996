/**
 * The web UIs' build: a multi-page app (the viewer at /, the operator console at /console/) from
 * renderer/ into renderer/dist/, which the server serves. Asset names carry a content hash, so the server
 * may let browsers cache them for a year and only the HTML is revalidated.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, transformWithOxc, type Plugin } from 'vite';
import { LANG_IDS, LANG_KEY } from './renderer/viewer/lang-key.ts';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), 'renderer');

/**
 * Inlines renderer/viewer/head-start.ts, types stripped, as the first script of the viewer's page: it must
 * run before the page's modules have even arrived, so it cannot be one of them.
 */
const CHARSET = '<meta charset="utf-8">';

function headStart(): Plugin {
  const source = path.join(root, 'viewer', 'head-start.ts');
  return {
    name: 'wsoptv-head-start',
    transformIndexHtml: {
      order: 'post',
      async handler(html, ctx) {
        if (path.resolve(ctx.filename) !== path.join(root, 'index.html')) return undefined;
        const { code } = await transformWithOxc(await readFile(source, 'utf8'), source, { lang: 'ts' });
        // Right after the charset, ahead of the stylesheet: a classic script after one waits for it to load.
        const at = html.indexOf(CHARSET) + CHARSET.length;
        if (at < CHARSET.length) throw new Error(`index.html has no ${CHARSET} to put the head start after`);
        return `${html.slice(0, at)}\n  <script>const LANG_KEY = ${JSON.stringify(LANG_KEY)}, LANG_IDS = ${JSON.stringify(LANG_IDS)};\n${code}</script>${html.slice(at)}`;
      },
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  plugins: [headStart()],
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
