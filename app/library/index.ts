/**
 * The library module (the PRD's "content" block): the catalogue of videos under the library root.
 * Other modules use only this interface.
 */
import { realpath } from 'node:fs/promises';
import type { CatalogueCounts, Content, Hand } from '../model/content.ts';
import { ContentNotFound, FileUnavailable } from '../model/errors.ts';
import type { ContentStore } from '../persistence/content-store.ts';
import { joinInside, realpathInside } from './paths.ts';
import { scanLibrary, type ScanReport } from './scanner.ts';

export type { ScanReport } from './scanner.ts';

/** What other modules may ask of the catalogue. */
export interface Library {
  /** One video; throws ContentNotFound. */
  getContent(id: string): Content;
  /** Every video, ordered by title. */
  list(): Content[];
  /**
   * The video's real path, checked to lie inside the library; throws ContentNotFound or FileUnavailable.
   * A check up to a few seconds old is reused unless `recheck` asks for a fresh one.
   */
  getFilePath(id: string, opts?: { readonly recheck?: boolean }): Promise<string>;
  /** The video's hands, ordered by start. */
  getHands(id: string): readonly Hand[];
  /** Totals for health and the console. */
  counts(): CatalogueCounts;
  /** Re-reads the library root; never runs two scans at once (a second caller shares the first's result). */
  scan(): Promise<ScanReport>;
}

/**
 * How long a checked real path is trusted. Resolving symlinks costs a thread-pool round trip per path
 * component, on every range request of every player; the check guards against a link that leads out of
 * the library, which a few seconds of reuse does not weaken (the file is opened by path afterwards anyway).
 */
const REALPATH_TTL_MS = 10_000;

/** Builds the library module over a catalogue store. */
export function createLibrary(root: string, store: ContentStore, clock: () => number = Date.now): Library {
  let running: Promise<ScanReport> | null = null;
  let realRoot: Promise<string> | null = null;
  const checked = new Map<string, { readonly real: string; readonly at: number }>();

  const getContent = (id: string): Content => {
    const c = store.get(id);
    if (!c) throw new ContentNotFound(id);
    return c;
  };

  return {
    getContent,
    list: () => store.list(),
    getHands: (id) => getContent(id).hands,
    counts: () => store.counts(),
    async getFilePath(id, opts) {
      // A fresh check answers without the catalogue query: every scan clears the checks, so a moved or
      // removed video is never answered from here, and range requests skip a second lookup of the row.
      const hit = opts?.recheck ? undefined : checked.get(id);
      if (hit && clock() - hit.at < REALPATH_TTL_MS) return hit.real;
      const c = getContent(id);
      const full = joinInside(root, c.relPath);
      if (!full) throw new FileUnavailable(id, 'EPATHESCAPE');
      realRoot ??= realpath(root);
      try {
        const real = await realpathInside(await realRoot, full);
        checked.set(id, { real, at: clock() });
        return real;
      } catch (err) {
        checked.delete(id);
        realRoot = null; // the root itself may have gone (an unmounted NAS); look it up again next time
        throw new FileUnavailable(id, (err as NodeJS.ErrnoException).code ?? 'EIO');
      }
    },
    scan() {
      running ??= scanLibrary(root, store).finally(() => {
        running = null;
        checked.clear();
      });
      return running;
    },
  };
}
