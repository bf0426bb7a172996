/**
 * Stream sessions, progress, events and metrics: shapes shared by the server and the web UIs
 * (no Node imports here).
 */

/** Where a stream's bytes come from. */
export type StreamSource = 'ssd' | 'nas';

/** Why a session ended. */
export type EndReason = 'client' | 'admin' | 'timeout' | 'idle' | 'replaced' | 'server_restart' | 'user_disabled';

/** What the player last said it was doing. */
export type PlayerState = 'playing' | 'paused' | 'unknown';

/** Quality of experience as the viewer's player measured it. */
export interface Qoe {
  /** Milliseconds from play to the first frame. */
  readonly ttff_ms?: number;
  readonly stall_count?: number;
  readonly stall_ms?: number;
  /** The last seek's latency as the player saw it, in milliseconds. */
  readonly seek_ms?: number;
  /** Seconds the player held beyond the playhead at the heartbeat. */
  readonly buffer_ahead_s?: number;
}

/** How the viewer skips through a video: everything, dead time skipped, best hands only. */
export type ViewMode = 'all' | 'skip' | 'best';

/** One viewing session (v1 §4.1 plus the end reason and watch duration). */
export interface StreamSession {
  readonly sessionId: string;
  readonly userId: string;
  readonly contentId: string;
  readonly source: StreamSource;
  /** Opened by a bare range request rather than by /start. */
  readonly implicit: boolean;
  readonly startedAt: number;
  readonly lastActivity: number;
  readonly status: 'active' | 'ended';
  readonly state: PlayerState;
  readonly position: number;
  readonly bytesTransferred: number;
  readonly qoe: Qoe;
  readonly endedAt: number | null;
  readonly endReason: EndReason | null;
  /** Seconds from start to the last sign of life. */
  readonly watchDuration: number;
}

/** Saved watch position (v1 §4.2). */
export interface WatchProgress {
  readonly userId: string;
  readonly contentId: string;
  readonly position: number;
  readonly duration: number;
  readonly progressPercent: number;
  readonly updatedAt: string;
}

/** Events on the in-process bus (v2 channel names, v1 payloads). */
export interface StreamEvents {
  'stream.started': { session_id: string; user_id: string; content_id: string; source: StreamSource; timestamp: string };
  'stream.ended': {
    session_id: string;
    user_id: string;
    content_id: string;
    watch_duration: number;
    bytes_transferred: number;
    reason: EndReason;
    timestamp: string;
  };
  'stream.error': { session_id: string | null; user_id: string | null; content_id: string; error_code: string; error_message: string; timestamp: string };
  /** A copy or head was placed on the SSD (announced by the cache tier). */
  'cache.promoted': { content_id: string; kind: 'copy' | 'head'; reason: PromoteReason; bytes: number; seconds: number; timestamp: string };
  /** A copy or head left the SSD, and why. */
  'cache.evicted': { content_id: string; kind: 'copy' | 'head'; reason: 'budget' | 'invalid' | 'admin' | 'missing'; bytes: number; timestamp: string };
  /** A start the stream limits refused. */
  'stream.refused': { user_id: string; content_id: string; scope: 'user' | 'server'; current: number; limit: number; timestamp: string };
}

/** Why a video was copied to the SSD. */
export type PromoteReason = 'popular' | 'pinned' | 'prewarm' | 'head';

/** A channel name of the bus. */
export type StreamEventName = keyof StreamEvents;

/** StreamMetrics (v1 §4.3). */
export interface StreamMetrics {
  readonly active_streams: number;
  readonly total_streams_today: number;
  readonly bandwidth_mbps: number;
  /** SSD-served starts over all starts, 0-1; null before any stream. */
  readonly cache_hit_rate: number | null;
  readonly avg_session_duration: number;
}

/** One alert of v1 §12.3 and whether it fires now. */
export interface AlertState {
  readonly name: 'active_streams_near_limit' | 'error_burst' | 'low_cache_hit_rate' | 'missing_file';
  readonly priority: 'P0' | 'P1' | 'P2';
  readonly firing: boolean;
  readonly value: number | null;
  readonly threshold: number;
}
