/**
 * The stream module: sessions and slots, range tickets, progress, events and metrics. Other modules and
 * the HTTP layer use only this interface.
 */
import type { Logger } from 'pino';
import type { Cache } from '../cache/index.ts';
import type { Library } from '../library/index.ts';
import type { Clock } from '../model/clock.ts';
import { FileUnavailable, RateLimitExceeded, type DomainError } from '../model/errors.ts';
import type { AlertState, StreamMetrics, StreamSession, StreamSource, WatchProgress } from '../model/stream.ts';
import type { ProgressStore } from '../persistence/progress-store.ts';
import type { HistoryFilter, HistoryRow, SessionStore } from '../persistence/session-store.ts';
import { EventBus } from './events.ts';
import { StreamMetricsCollector, type CacheMetrics } from './metrics.ts';
import { ProgressService } from './progress.ts';
import { SlotTable } from './slots.ts';
import { SessionManager, type ActiveSession, type Heartbeat, type RangeTicket, type SessionTimings } from './sessions.ts';

export type { ActiveSession, Heartbeat, RangeTicket } from './sessions.ts';

/** What the rest of the server may ask of the stream module. */
export interface Streams {
  readonly bus: EventBus;
  /** Opens a session for a user (the file must be readable); 429 over a limit. */
  startStream(userId: string, contentId: string): Promise<StreamSession>;
  /** Keeps a session alive and saves the position as progress. */
  heartbeat(userId: string, contentId: string, sessionId: string, hb: Heartbeat): StreamSession;
  /** Ends a session at the viewer's request and saves the position. */
  stopStream(userId: string, contentId: string, sessionId: string, position?: number): StreamSession;
  /** Ends a session for an operator, saves its position, logs who did it; `note` is what the viewer is told. */
  endByAdmin(sessionId: string, by: string, note?: string): StreamSession;
  /**
   * Ends, with reason user_disabled, every session whose user `isActive` rejects. The one rule behind
   * "disabling a user ends their streams", whether the disable came over HTTP or from the users CLI.
   */
  endSessionsOfInactiveUsers(isActive: (userId: string) => boolean): number;
  /** The user a session id belongs to, or undefined for an id never issued. */
  ownerOf(sessionId: string): string | undefined;
  /** Admits a range request made with a session id. */
  rangeBySession(sessionId: string, contentId: string, source: StreamSource): RangeTicket;
  /** Admits a range request made with a user's token alone. */
  rangeByUser(userId: string, contentId: string, source: StreamSource): RangeTicket;
  /** Records how long a range request took to its first body byte, by source. */
  recordTtfb(source: StreamSource, ms: number): void;
  /** Publishes a stream.error for a failure a viewer met. */
  reportError(err: DomainError, contentId: string, userId: string | null, sessionId: string | null): void;
  activeSessions(): ActiveSession[];
  getStreamMetrics(): StreamMetrics & { readonly alerts: AlertState[]; readonly cache: CacheMetrics };
  prometheusText(): Promise<{ contentType: string; body: string }>;
  getProgress(userId: string, contentId: string): WatchProgress | undefined;
  updateProgress(userId: string, contentId: string, position: unknown, duration: unknown): WatchProgress;
  listProgress(userId: string): WatchProgress[];
  /** Ended sessions for the operator's history: one page, newest first, and the total that match. */
  history(filter: HistoryFilter, limit: number, offset: number): { rows: HistoryRow[]; total: number };
  /** Plays per day and the most played videos since `sinceMs`. */
  playsSince(sinceMs: number, top: number): ReturnType<SessionStore['playsSince']>;
  /** Ends silent sessions now (the timer calls it too). */
  reap(): number;
  /** Stops the reaper timer. */
  close(): void;
}

/** What the stream module is built from. */
export interface StreamDeps {
  readonly library: Library;
  readonly cache: Cache;
  readonly sessions: SessionStore;
  readonly progress: ProgressStore;
  readonly clock: Clock;
  readonly timings: SessionTimings;
  /** Admission: concurrent streams on the server and per user. */
  readonly limits: { readonly maxStreams: number; readonly maxStreamsPerUser: number };
  readonly log: Logger;
}

/** Builds the stream module, ends sessions a previous process left open, and starts the reaper. */
export function createStreams(deps: StreamDeps): Streams {
  const { library, cache, clock, log } = deps;
  const bus = new EventBus((err, event) => log.error({ err, event }, 'event subscriber failed'));
  const slots = new SlotTable(deps.limits.maxStreams, deps.limits.maxStreamsPerUser);
  const manager = new SessionManager(slots, deps.sessions, bus, clock, deps.timings);
  const recovered = manager.recover();
  if (recovered > 0) log.info({ action: 'sessions_recovered', count: recovered }, 'ended sessions left open by the previous process');
  const metrics = new StreamMetricsCollector(bus, manager, deps.sessions, clock, deps.limits.maxStreams, () => cache.stats());
  const progress = new ProgressService(deps.progress);
  logEvents(bus, log, library);

  // Popularity for the SSD tier: every start counts, whether through /start or a bare range request.
  bus.on('stream.started', (e) => cache.noteStart(e.content_id));
  const saveProgress = (s: StreamSession): void => {
    const duration = library.getContent(s.contentId).media?.durationSeconds;
    if (duration === undefined || s.position <= 0) return;
    const saved = progress.update(s.userId, s.contentId, Math.min(s.position, duration), duration);
    cache.noteProgress(s.contentId, saved.progressPercent);
  };
  const withBytes = (t: RangeTicket, source: StreamSource): RangeTicket => ({
    sessionId: t.sessionId,
    onCut: t.onCut,
    done: t.done,
    addBytes(n) {
      t.addBytes(n);
      metrics.countBytes(source, n);
    },
  });

  const timer = setInterval(() => manager.reap(), Math.min(5_000, Math.max(250, deps.timings.staleMs / 4)));
  timer.unref();

  return {
    bus,
    async startStream(userId, contentId) {
      library.getContent(contentId);
      const { source } = await cache.getStreamPath(contentId, { recheck: true });
      try {
        return manager.start(userId, contentId, source);
      } catch (err) {
        if (err instanceof RateLimitExceeded) {
          bus.emit('stream.refused', { user_id: userId, content_id: contentId, scope: err.scope, current: err.current, limit: err.limit, timestamp: new Date(clock()).toISOString() });
        }
        throw err;
      }
    },
    heartbeat(userId, contentId, sessionId, hb) {
      const s = manager.heartbeat(userId, contentId, sessionId, hb);
      if (hb.position !== undefined) saveProgress(s);
      return s;
    },
    stopStream(userId, contentId, sessionId, position) {
      const s = manager.end(userId, contentId, sessionId, position);
      if (position !== undefined) saveProgress(s);
      return s;
    },
    endByAdmin(sessionId, by, note) {
      const s = manager.endByAdmin(sessionId, note);
      try {
        saveProgress(s);
      } catch (err) {
        log.warn({ err, session_id: sessionId }, 'position not saved: the video left the catalogue');
      }
      log.info({ action: 'stream_ended_by_admin', session_id: sessionId, user_id: s.userId, content_id: s.contentId, by, note: note ?? null }, 'an operator ended a stream');
      return s;
    },
    endSessionsOfInactiveUsers: (isActive) => manager.endUnless(isActive, 'user_disabled'),
    ownerOf: (sessionId) => manager.ownerOf(sessionId),
    rangeBySession: (sessionId, contentId, source) => withBytes(manager.rangeBySession(sessionId, contentId), source),
    rangeByUser: (userId, contentId, source) => withBytes(manager.rangeByUser(userId, contentId, source), source),
    recordTtfb: (source, ms) => metrics.observeTtfb(source, ms),
    reportError(err, contentId, userId, sessionId) {
      bus.emit('stream.error', {
        session_id: sessionId,
        user_id: userId,
        content_id: contentId,
        error_code: err.code,
        error_message: err instanceof FileUnavailable ? `file unavailable (${err.reason})` : err.message,
        timestamp: new Date(clock()).toISOString(),
      });
    },
    activeSessions: () => manager.active(),
    getStreamMetrics() {
      const m = metrics.metrics();
      return { ...m, alerts: metrics.alerts(m), cache: metrics.cacheMetrics() };
    },
    prometheusText: () => metrics.prometheusText(),
    getProgress: (userId, contentId) => progress.get(userId, contentId),
    updateProgress(userId, contentId, position, duration) {
      library.getContent(contentId);
      return progress.update(userId, contentId, position, duration);
    },
    listProgress: (userId) => progress.list(userId),
    history: (filter, limit, offset) => deps.sessions.history(filter, limit, offset),
    playsSince: (sinceMs, top) => deps.sessions.playsSince(sinceMs, top),
    reap: () => manager.reap(),
    close: () => clearInterval(timer),
  };
}

/** One structured log line per stream event, in the v1 §12.2 format. */
function logEvents(bus: EventBus, log: Logger, library: Library): void {
  const fileSize = (id: string): number | null => {
    try {
      return library.getContent(id).size;
    } catch {
      return null;
    }
  };
  bus.on('stream.started', (e) =>
    log.info({ action: 'stream_started', user_id: e.user_id, content_id: e.content_id, session_id: e.session_id, source: e.source, cache_hit: e.source === 'ssd', file_size: fileSize(e.content_id) }),
  );
  bus.on('stream.ended', (e) =>
    log.info({ action: 'stream_ended', user_id: e.user_id, content_id: e.content_id, session_id: e.session_id, reason: e.reason, watch_duration: e.watch_duration, bytes_transferred: e.bytes_transferred }),
  );
  bus.on('stream.error', (e) =>
    log.warn({ action: 'stream_error', user_id: e.user_id, content_id: e.content_id, session_id: e.session_id, error_code: e.error_code, error_message: e.error_message }),
  );
}
