/**
 * The cache module: decides which copy of a video a stream reads, and holds the stream slots.
 * Until the SSD tier exists every stream reads the NAS library; the interface is the one the SSD
 * tier will keep.
 */
import { openInside, type Library } from '../library/index.ts';
import { FileUnavailable } from '../model/errors.ts';
import type { StreamSource } from '../model/stream.ts';
import { SlotTable, type SlotRefusal } from './slots.ts';

export type { StreamSource } from '../model/stream.ts';
export type { SlotRefusal } from './slots.ts';

/** The copy a stream should read: open it only with `openInside(root, path)`, which checks the handle. */
export interface StreamPath {
  readonly path: string;
  /** The real path of the root the copy lives under (the library or the SSD cache). */
  readonly root: string;
  readonly source: StreamSource;
  readonly mimeType: string;
}

/** What other modules may ask of the cache tier. */
export interface Cache {
  /**
   * The best valid copy of a video; throws ContentNotFound or FileUnavailable. Range requests get the
   * location only (their own open checks the file); `recheck` (for /start and /info, once per viewing)
   * also opens the file to prove it can be read now.
   */
  getStreamPath(contentId: string, opts?: { readonly recheck?: boolean }): Promise<StreamPath>;
  /** Takes a stream slot for a user; null when granted, else which limit refused it. */
  acquireStreamSlot(userId: string): SlotRefusal | null;
  /** Gives a stream slot back. */
  releaseStreamSlot(userId: string): void;
  /** The server-wide limit. */
  readonly maxStreams: number;
}

/** Limits on concurrent streams. */
export interface CacheOptions {
  readonly maxStreams: number;
  readonly maxStreamsPerUser: number;
}

/** Builds the cache module over the library. */
export function createCache(library: Library, opts: CacheOptions): Cache {
  const slots = new SlotTable(opts.maxStreams, opts.maxStreamsPerUser);
  return {
    async getStreamPath(contentId, opts) {
      const at = await library.getFilePath(contentId);
      if (opts?.recheck) {
        try {
          await (await openInside(at.root, at.path)).fh.close();
        } catch (err) {
          throw new FileUnavailable(contentId, (err as NodeJS.ErrnoException).code ?? 'EIO');
        }
      }
      return { path: at.path, root: at.root, source: 'nas', mimeType: at.mimeType };
    },
    acquireStreamSlot: (userId) => slots.acquire(userId),
    releaseStreamSlot: (userId) => slots.release(userId),
    maxStreams: opts.maxStreams,
  };
}
