/**
 * The JSON the HTTP API answers with: snake_case fields, ISO-8601 times. The server's views are annotated
 * with these types and the web UIs read them, so a renamed field fails the type-check on both ends.
 * Types only.
 */
import type { CatalogueCounts, Hand } from '../model/content.ts';
import type { AlertState, EndReason, PlayerState, Qoe, StreamMetrics, StreamSource, ViewMode } from '../model/stream.ts';
import type { Role, UserStatus } from '../model/user.ts';

export type { AlertState, CatalogueCounts, EndReason, Hand, PlayerState, Qoe, Role, StreamMetrics, StreamSource, UserStatus, ViewMode };

/** The error envelope every failure answers with. */
export interface ErrorEnvelope {
  readonly error: { readonly code: string; readonly message: string; readonly details?: Readonly<Record<string, unknown>> };
}

/** `GET /api/health`. */
export interface HealthWire {
  /** `degraded` while the library root (the NAS) cannot be read; the server still answers. */
  readonly status: 'ok' | 'degraded';
  readonly version: string;
  readonly uptime_seconds: number;
  readonly catalogue: CatalogueCounts;
  readonly library: { readonly reachable: boolean; readonly since: string; readonly root_error: string | null };
}

/** An account as the API shows it. */
export interface UserWire {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly status: UserStatus;
  readonly created_at: string;
  readonly updated_at: string;
  readonly last_login_at: string | null;
}

/** `{ user }` answers: me, register, approve, disable, role. */
export interface UserResponse {
  readonly user: UserWire;
}

/** `POST /api/auth/login`. */
export interface LoginResponse {
  readonly token: string;
  readonly token_type: 'Bearer';
  readonly expires_at: string;
  readonly user: UserWire;
}

/** `GET /api/admin/users`. */
export interface UserListResponse {
  readonly items: readonly UserWire[];
}

/** Codecs, resolution and bitrate, shared by the catalogue and /info. */
export interface MediaFieldsWire {
  readonly mime_type: string;
  readonly codecs: { readonly video: string | null; readonly audio: string | null };
  readonly resolution: { readonly width: number; readonly height: number } | null;
  readonly bitrate: number | null;
}

/** A catalogue entry. */
export interface ContentWire extends MediaFieldsWire {
  readonly id: string;
  readonly title: string;
  /**
   * The event the video belongs to: the videos of one library folder (an opaque id, "" at the root), for the
   * library's shelves and the best-hands reel. Its title is the folder's own name, never its path.
   */
  readonly event_id: string;
  readonly event_title: string;
  readonly duration_seconds: number | null;
  readonly file_size: number;
  /** Null when the file could not be probed. */
  readonly faststart: boolean | null;
  readonly playable: boolean;
  readonly unplayable_reason: string | null;
  readonly hands_count: number;
  readonly best_hands_count: number;
  readonly sidecar_error: string | null;
  readonly added_at: string;
  readonly updated_at: string;
}

/** `GET /api/contents`. */
export interface ContentListResponse {
  readonly items: readonly ContentWire[];
  readonly total: number;
}

/** A video's hands and what the player derives from them (the v2 hand-skip fields). */
export interface HandsFieldsWire {
  readonly hands: readonly Hand[];
  readonly skip_zones: readonly SkipZoneWire[];
  readonly best_hands_count: number;
  readonly action_duration: number;
}

/** `PUT /api/admin/contents/{id}/hands`: the entry and its new hands. */
export interface HandsReplacedWire extends HandsFieldsWire {
  readonly content: ContentWire;
}

/** A stretch of a video between hands. */
export interface SkipZoneWire {
  readonly start: number;
  readonly end: number;
}

/** `GET /api/stream/{id}/info`. */
export interface StreamInfoWire extends MediaFieldsWire, HandsFieldsWire {
  readonly content_id: string;
  readonly title: string;
  readonly duration: number | null;
  readonly file_size: number;
  readonly source: StreamSource;
  readonly cache_hit: boolean;
  readonly playable: boolean;
  readonly duration_seconds: number | null;
}

/** A stream session as the viewer's API shows it. */
export interface SessionWire {
  readonly session_id: string;
  readonly content_id: string;
  readonly source: StreamSource;
  readonly status: 'active' | 'ended';
  readonly state: PlayerState;
  readonly position: number;
  readonly bytes_transferred: number;
  readonly started_at: string;
  readonly ended_at: string | null;
  readonly end_reason: EndReason | null;
  readonly watch_duration: number;
}

/** `POST /api/stream/{id}/start`. */
export interface StartResponse extends SessionWire {
  readonly stream_url: string;
  readonly heartbeat_interval_seconds: number;
}

/** What the viewer's player reports with each heartbeat. */
export interface HeartbeatRequest {
  readonly session_id: string;
  readonly position: number;
  readonly state: 'playing' | 'paused';
  readonly qoe: Qoe;
  readonly mode?: ViewMode;
}

/** `GET /api/progress/{id}`. */
export interface ProgressWire {
  readonly content_id: string;
  readonly position: number;
  readonly duration: number | null;
  readonly progress_percent: number;
  readonly updated_at: string | null;
}

/** `GET /api/progress`. */
export interface ProgressListResponse {
  readonly items: readonly (ProgressWire & { readonly title: string | null })[];
}

/** `PUT /api/progress/{id}`. */
export interface ProgressSavedResponse {
  readonly success: true;
  readonly progress_percent: number;
}

/** An active stream as the operator sees it. */
export interface ActiveStreamWire extends SessionWire {
  readonly user: { readonly id: string; readonly username: string | null };
  readonly content: { readonly id: string; readonly title: string | null; readonly duration_seconds: number | null };
  readonly implicit: boolean;
  readonly stale: boolean;
  readonly last_activity: string;
  /** Since when the player has been in its current state. */
  readonly state_since: string;
  /** Bits per second the server really wrote for this stream over the last 10 s. */
  readonly rate_bps: number;
  readonly qoe: Qoe;
  /** The hand at the position, 1-based, and how many hands the video has; null when it has none. */
  readonly hand: { readonly index: number | null; readonly count: number } | null;
  readonly mode: ViewMode | null;
}

/** `GET /api/admin/streams`. */
export interface ActiveStreamListResponse {
  readonly items: readonly ActiveStreamWire[];
  readonly total: number;
}

/** `GET /api/admin/metrics`. */
export interface MetricsWire extends StreamMetrics {
  readonly alerts: readonly AlertState[];
}

/** One 5-second sample of the server, for the console's charts. */
export interface MetricSampleWire {
  readonly t: string;
  readonly active_streams: number;
  readonly bandwidth_bps: number;
  /** Bits per second per username at the sample. */
  readonly per_user_bps: Readonly<Record<string, number>>;
  readonly cache_hit_rate: number | null;
  /** stream.error events since the previous sample. */
  readonly errors: number;
}

/** A start the limits refused. */
export interface RefusalWire {
  readonly at: string;
  readonly user_id: string;
  readonly username: string | null;
  readonly content_id: string;
  readonly title: string | null;
  readonly scope: 'user' | 'server';
  readonly current: number;
  readonly limit: number;
}

/** Who holds the stream slots. */
export interface SlotsWire {
  readonly server: { readonly used: number; readonly limit: number };
  readonly per_user_limit: number;
  readonly users: readonly {
    readonly user_id: string;
    readonly username: string | null;
    readonly used: number;
    readonly sessions: readonly {
      readonly session_id: string;
      readonly title: string | null;
      readonly state: PlayerState;
      /** Seconds the player has been paused, or null when it is not paused. */
      readonly paused_seconds: number | null;
    }[];
  }[];
  /** The last refused starts, newest first. */
  readonly refused: readonly RefusalWire[];
}

/** `DELETE /api/admin/streams/{session_id}` body. */
export interface EndStreamRequest {
  readonly reason?: string;
}

/** One ended session in the history. */
export interface HistoryItemWire {
  readonly session_id: string;
  readonly user: { readonly id: string; readonly username: string | null };
  readonly content: { readonly id: string; readonly title: string | null };
  readonly source: StreamSource;
  readonly started_at: string;
  readonly ended_at: string;
  readonly watch_duration: number;
  readonly bytes_transferred: number;
  readonly end_reason: EndReason | null;
}

/** `GET /api/admin/history`. */
export interface HistoryPageWire {
  readonly items: readonly HistoryItemWire[];
  readonly total: number;
  readonly page: number;
  readonly page_size: number;
}

/** `GET /api/admin/history/stats`: the last 30 days. */
export interface HistoryStatsWire {
  readonly plays_per_day: readonly { readonly day: string; readonly plays: number }[];
  readonly top_titles: readonly { readonly content_id: string; readonly title: string | null; readonly plays: number }[];
}

/** `POST /api/admin/library/rescan`. */
export interface RescanWire {
  readonly files: number;
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  readonly unplayable: number;
  readonly duration_ms: number;
  /** How many sidecars were rejected (each video's `sidecar_error` says why). */
  readonly sidecar_errors: number;
  /** Whether the root could be read; a root that cannot be read scans nothing and changes nothing (503). */
  readonly library: { readonly reachable: boolean; readonly since: string; readonly root_error: string | null };
}

/** Why a video was copied to the SSD. */
export type PromoteReasonWire = 'popular' | 'pinned' | 'prewarm' | 'head';

/** One file of the SSD tier: a whole copy of a video, or its head (first bytes and moov). */
export interface CacheEntryWire {
  readonly content_id: string;
  readonly title: string | null;
  readonly kind: 'copy' | 'head';
  /** Bytes on the SSD. */
  readonly size: number;
  /** The source version it was made from; a change of either invalidates it. */
  readonly source: { readonly size: number; readonly mtime: string };
  readonly last_streamed_at: string | null;
  readonly hits: number;
  readonly pinned: boolean;
  /** A response is reading it now: it cannot be evicted. */
  readonly streaming: boolean;
}

/** A copy to the SSD waiting or under way. */
export interface CachePromotionStateWire {
  readonly content_id: string;
  readonly title: string | null;
  readonly kind: 'copy' | 'head';
  readonly reason: PromoteReasonWire;
  readonly state: 'queued' | 'running';
  readonly bytes_copied: number;
  readonly bytes_total: number;
  /** 0-100. */
  readonly percent: number;
  readonly rate_bytes_per_second: number | null;
  readonly eta_seconds: number | null;
  readonly started_at: string | null;
}

/** `GET /api/admin/cache`: the SSD tier. */
export interface CacheWire {
  readonly budget_bytes: number;
  readonly reserve_bytes: number;
  readonly used_bytes: number;
  readonly free_bytes: number;
  /** Free space on the cache folder's disk; null when the platform cannot say. */
  readonly disk_free_bytes: number | null;
  readonly entries: readonly CacheEntryWire[];
  readonly promotions: readonly CachePromotionStateWire[];
  readonly pinned: readonly string[];
}

/** `POST|DELETE /api/admin/cache/{id}/pin`, `DELETE /api/admin/cache/{id}`. */
export interface CacheActionWire {
  readonly content_id: string;
  readonly pinned?: boolean;
  readonly evicted?: boolean;
}

/** `GET /api/admin/share`: where LAN viewers reach the server. */
export interface ShareWire {
  readonly urls: readonly string[];
}
