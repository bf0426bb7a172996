/**
 * The cache module: decides which copy of a video a stream reads, and holds the stream slots.
 * Until the SSD tier exists every stream reads the NAS library; the interface is the one the SSD
 * tier will keep.
 */
import type { Library } from '../library/index.ts';
import type { StreamSource } from '../model/stream.ts';
import { SlotTable, type SlotRefusal } from './slots.ts';

export type { StreamSource } from '../model/stream.ts';
export type { SlotRefusal } from './slots.ts';

/** The copy a stream should read. */
export interface StreamPath {
  readonly path: string;
  readonly source: StreamSource;
}

/** What other modules may ask of the cache tier. */
export interface Cache {
  /**
   * The best valid copy of a video; throws ContentNotFound or FileUnavailable. Range requests reuse a
   * recent check of the file; `recheck` (for /start and /info, once per viewing) asks for a fresh one.
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
      return { path: await library.getFilePath(contentId, opts), source: 'nas' };
    },
    acquireStreamSlot: (userId) => slots.acquire(userId),
    releaseStreamSlot: (userId) => slots.release(userId),
    maxStreams: opts.maxStreams,
  };
}
