/**
 * The library module (the PRD's "content" block): the catalogue of videos under the library root.
 * Other modules use only this interface.
 */
import { realpath } from 'node:fs/promises';
import type { CatalogueCounts, Content, Hand } from '../model/content.ts';
import { ContentNotFound, FileUnavailable } from '../model/errors.ts';
import type { ContentStore } from '../persistence/content-store.ts';
import { replaceHands } from './hands-editor.ts';
import { joinInside } from './paths.ts';
import { scanLibrary, type ScanReport } from './scanner.ts';

export type { ScanReport } from './scanner.ts';
export { openInside, openInsideWithin, type OpenedFile, type Opener } from './safe-open.ts';

/** Where a video's bytes are: a path inside the library and the real root the opened file must lie in. */
export interface FileLocation {
  /** The catalogued path joined to the library root; where it leads is checked on the open handle. */
  readonly path: string;
  /** The library-relative path, as catalogued. */
  readonly relPath: string;
  /**
   * The library root's real path, for `openInside`; null when the root cannot be resolved now (an
   * unmounted NAS): copies on the SSD may still serve the video.
   */
  readonly root: string | null;
  readonly mimeType: string;
  /** The catalogued version of the file: a copy is valid only for the same size and mtime. */
  readonly size: number;
  readonly mtimeMs: number;
}

/** What other modules may ask of the catalogue. */
export interface Library {
  /** One video; throws ContentNotFound. */
  getContent(id: string): Content;
  /** Every video, ordered by title. */
  list(): Content[];
  /**
   * Where a video's file is, from one small catalogue lookup (and, once, the root's real path); throws
   * ContentNotFound, or FileUnavailable when the stored path would leave the library. Open it only
   * with `openInside(location.root, location.path)`.
   */
  getFilePath(id: string): Promise<FileLocation>;
  /** The video's hands, ordered by start. */
  getHands(id: string): readonly Hand[];
  /**
   * Replaces a video's hands (and title, when given) from a sidecar-shaped document; rewrites the sidecar
   * atomically. ValidationFailed naming the problem, with nothing changed, when the document is invalid.
   */
  replaceHands(id: string, doc: unknown): Promise<Content>;
  /** Totals for health and the console. */
  counts(): CatalogueCounts;
  /** Re-reads the library root; never runs two scans at once (a second caller shares the first's result). */
  scan(): Promise<ScanReport>;
}

/** Builds the library module over a catalogue store. */
export function createLibrary(root: string, store: ContentStore): Library {
  let running: Promise<ScanReport> | null = null;
  let realRoot: Promise<string> | null = null;

  const getContent = (id: string): Content => {
    const c = store.get(id);
    if (!c) throw new ContentNotFound(id);
    return c;
  };

  return {
    getContent,
    list: () => store.list(),
    getHands: (id) => getContent(id).hands,
    async replaceHands(id, doc) {
      await replaceHands(root, store, getContent(id), doc);
      return getContent(id);
    },
    counts: () => store.counts(),
    async getFilePath(id) {
      const row = store.locate(id);
      if (!row) throw new ContentNotFound(id);
      const full = joinInside(root, row.relPath);
      if (!full) throw new FileUnavailable(id, 'EPATHESCAPE');
      realRoot ??= realpath(root);
      let real: string | null;
      try {
        real = await realRoot;
      } catch {
        realRoot = null; // the root itself has gone (an unmounted NAS): look it up again next time
        real = null;
      }
      return { path: full, relPath: row.relPath, root: real, mimeType: row.mimeType, size: row.size, mtimeMs: row.mtimeMs };
    },
    scan() {
      running ??= scanLibrary(root, store).finally(() => {
        running = null;
        realRoot = null;
      });
      return running;
    },
  };
}
