/**
 * The cache module: decides which copy of a video a stream reads. Until the SSD tier exists every
 * stream reads the NAS library; the interface is the one the SSD tier will keep.
 */
import type { Library } from '../library/index.ts';

/** Where a stream's bytes come from. */
export type StreamSource = 'ssd' | 'nas';

/** The copy a stream should read. */
export interface StreamPath {
  readonly path: string;
  readonly source: StreamSource;
}

/** What other modules may ask of the cache tier. */
export interface Cache {
  /** The best valid copy of a video; throws ContentNotFound or FileUnavailable. */
  getStreamPath(contentId: string): Promise<StreamPath>;
}

/** Builds the cache module over the library. */
export function createCache(library: Library): Cache {
  return {
    async getStreamPath(contentId) {
      return { path: await library.getFilePath(contentId), source: 'nas' };
    },
  };
}
