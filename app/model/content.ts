/**
 * The catalogue's shapes, shared by the server and the web UIs (no Node imports here).
 */

/** Container families the server can serve directly. */
export type Container = 'mp4' | 'mov';

/** What the MP4 probe learnt from a file's `moov` box. */
export interface MediaInfo {
  readonly durationSeconds: number;
  readonly videoCodec: string | null;
  readonly audioCodec: string | null;
  readonly width: number | null;
  readonly height: number | null;
  /** Average bits per second over the whole file. */
  readonly bitrate: number;
  /** True when `moov` precedes `mdat`, so a player can start without reading the file's end. */
  readonly faststart: boolean;
  readonly container: Container;
}

/** One hand of poker inside a video, in seconds from its start. */
export interface Hand {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly is_best: boolean;
}

/** One video of the library as the catalogue keeps it. */
export interface Content {
  readonly id: string;
  /** Path below the library root, with forward slashes; never taken from a request. */
  readonly relPath: string;
  readonly title: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly mimeType: string;
  /** Null when the file could not be probed; `unplayableReason` says why. */
  readonly media: MediaInfo | null;
  readonly playable: boolean;
  readonly unplayableReason: string | null;
  readonly hands: readonly Hand[];
  /** Why the sidecar was rejected, when there is one that was. */
  readonly sidecarError: string | null;
  readonly addedAt: string;
  readonly updatedAt: string;
}

/** Counts shown by the health endpoint and the console. */
export interface CatalogueCounts {
  readonly total: number;
  readonly playable: number;
  readonly unplayable: number;
}
