/**
 * Watches the cache folder so that a copy deleted by hand (or by a disk tool) leaves the index at once,
 * instead of being found missing by the next viewer. The only file of the tier that imports chokidar.
 */
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { CACHE_DIRS } from './copier.ts';

/** A running watch; `close` stops it. */
export interface CacheWatch {
  close(): Promise<void>;
}

/** Calls `onRemoved` with the cache-relative path (forward slashes) of every copy or head that disappears. */
export function watchCacheFolder(cacheDir: string, onRemoved: (relFile: string) => void, opts: { readonly poll?: boolean } = {}): CacheWatch {
  const watcher: FSWatcher = watch([path.join(cacheDir, CACHE_DIRS.copies), path.join(cacheDir, CACHE_DIRS.heads)], {
    ignoreInitial: true,
    depth: 0,
    usePolling: opts.poll ?? false,
    interval: 1000,
  });
  watcher.on('unlink', (file) => onRemoved(path.relative(cacheDir, file).split(path.sep).join('/')));
  // A watch error (the folder removed whole) must not crash the server; start-up checks the index again.
  watcher.on('error', () => undefined);
  return { close: () => watcher.close() };
}
