/**
 * Stream sessions: what a "stream" is. A session is one viewing (a `<video>` element issues many range
 * requests, often in parallel; they all belong to one session and take one slot). Sessions live in
 * memory while active and are recorded in SQLite; each takes one slot of the admission table (slots.ts).
 *
 *   /start ──► active ──(heartbeats / range requests keep it alive)──► ended
 *                 │  silent > stale-after: stale, its slot goes to the same user's next start (replaced)
 *                 │  silent > session-timeout: timeout      opened by a bare range request: idle
 *                 └─ /end: client     admin: admin     user disabled: user_disabled
 *   start-up: every session a previous process left active ends with server_restart.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../model/clock.ts';
import { AuthInvalidToken, RateLimitExceeded, SessionEnded, SessionNotFound } from '../model/errors.ts';
import type { EndReason, PlayerState, Qoe, StreamSession, StreamSource, ViewMode } from '../model/stream.ts';
import type { SessionStore } from '../persistence/session-store.ts';
import type { EventBus } from './events.ts';
import type { SlotTable } from './slots.ts';
import { RateMeter } from './rate-meter.ts';

/** Timing rules of sessions, in milliseconds. */
export interface SessionTimings {
  readonly timeoutMs: number;
  readonly staleMs: number;
  readonly implicitIdleMs: number;
}

/** An active session's live state. */
interface Live {
  readonly sessionId: string;
  readonly userId: string;
  readonly contentId: string;
  readonly source: StreamSource;
  readonly implicit: boolean;
  readonly startedAt: number;
  lastActivity: number;
  state: PlayerState;
  /** When the player entered its current state. */
  stateSince: number;
  mode: ViewMode | null;
  position: number;
  bytes: number;
  qoe: Qoe;
  /** Responses being written now: a long single GET (VLC, curl) keeps its session alive. */
  inflight: number;
  /** How to cut each of those responses: an ended session stops sending at once, not at its next request. */
  readonly cuts: Set<() => void>;
  readonly rate: RateMeter;
}

/** An active session as the console sees it. */
export interface ActiveSession extends StreamSession {
  readonly stale: boolean;
  readonly bytesPerSecond: number;
  readonly stateSince: number;
  readonly mode: ViewMode | null;
}

/** What a heartbeat may carry. */
export interface Heartbeat {
  readonly position?: number;
  readonly state?: PlayerState;
  readonly qoe?: Qoe;
  readonly mode?: ViewMode;
}

/** A handle on the session a range request belongs to. */
export interface RangeTicket {
  readonly sessionId: string;
  /** Counts bytes the socket accepted. */
  addBytes(n: number): void;
  /** Registers how to cut this response; the session calls it if it ends while the response runs. */
  onCut(cut: () => void): void;
  /** Called once when the response is over. */
  done(): void;
}

/** How many operators' end notes are remembered (a viewer asks within seconds of the end). */
const END_NOTES_KEPT = 1000;

/** Generates a session id: 128 random bits, url-safe. */
export const newSessionId = (): string => randomBytes(16).toString('base64url');

/** Keeps the active sessions and enforces the limits. */
export class SessionManager {
  private readonly live = new Map<string, Live>();
  /** What operators said when they ended a session, newest last; bounded, memory only. */
  private readonly endNotes = new Map<string, string>();
  /** Bytes per second of the whole server. */
  readonly serverRate = new RateMeter();

  constructor(
    private readonly slots: SlotTable,
    private readonly store: SessionStore,
    private readonly bus: EventBus,
    private readonly clock: Clock,
    private readonly timings: SessionTimings,
  ) {}

  /** Ends what a previous process left open; call once at start-up. */
  recover(): number {
    return this.store.endAllActive('server_restart', this.clock());
  }

  /** Opens a session, taking a slot; a stale session of the same user gives up its slot if a limit is hit. */
  start(userId: string, contentId: string, source: StreamSource, implicit = false): StreamSession {
    let refusal = this.slots.acquire(userId);
    if (refusal) {
      const stale = this.oldestStaleOf(userId);
      if (stale) {
        this.finish(stale, 'replaced');
        refusal = this.slots.acquire(userId);
      }
    }
    if (refusal) {
      // A slot frees at the latest when some session goes stale; say so rather than a made-up wait.
      throw new RateLimitExceeded(refusal.scope, refusal.current, refusal.limit, Math.ceil(this.timings.staleMs / 1000));
    }
    const now = this.clock();
    const s: Live = {
      sessionId: newSessionId(),
      userId,
      contentId,
      source,
      implicit,
      startedAt: now,
      lastActivity: now,
      state: 'unknown',
      stateSince: now,
      mode: null,
      position: 0,
      bytes: 0,
      qoe: {},
      inflight: 0,
      cuts: new Set(),
      rate: new RateMeter(),
    };
    this.live.set(s.sessionId, s);
    try {
      this.store.insert(this.snapshot(s));
    } catch (err) {
      this.live.delete(s.sessionId);
      this.slots.release(userId);
      throw err;
    }
    this.bus.emit('stream.started', { session_id: s.sessionId, user_id: userId, content_id: contentId, source, timestamp: iso(now) });
    return this.snapshot(s);
  }

  /** Records a heartbeat from the viewer's player. */
  heartbeat(userId: string, contentId: string, sessionId: string, hb: Heartbeat): StreamSession {
    const s = this.owned(userId, contentId, sessionId);
    s.lastActivity = this.clock();
    if (hb.position !== undefined) s.position = hb.position;
    if (hb.state !== undefined && hb.state !== s.state) {
      s.state = hb.state;
      s.stateSince = s.lastActivity;
    }
    if (hb.mode !== undefined) s.mode = hb.mode;
    if (hb.qoe !== undefined) s.qoe = { ...s.qoe, ...hb.qoe };
    const snap = this.snapshot(s);
    this.store.save(snap);
    return snap;
  }

  /** Ends a session at the viewer's request; ending one that already ended answers its record (beacons race the reaper). */
  end(userId: string, contentId: string, sessionId: string, position?: number): StreamSession {
    const s = this.live.get(sessionId);
    if (!s) {
      const old = this.store.get(sessionId);
      if (old && old.userId === userId && old.contentId === contentId) return old;
      throw new SessionNotFound(sessionId);
    }
    if (s.userId !== userId || s.contentId !== contentId) throw new SessionNotFound(sessionId);
    s.lastActivity = this.clock();
    if (position !== undefined) s.position = position;
    return this.finish(s, 'client');
  }

  /** Ends a session for an operator; its next range request is refused, with the operator's note if one was given. */
  endByAdmin(sessionId: string, note?: string): StreamSession {
    const s = this.live.get(sessionId);
    if (!s) throw new SessionNotFound(sessionId);
    if (note) {
      this.endNotes.set(sessionId, note);
      if (this.endNotes.size > END_NOTES_KEPT) this.endNotes.delete(this.endNotes.keys().next().value!);
    }
    return this.finish(s, 'admin');
  }

  /** Ends every active session of a user (disabled by an admin). */
  endAllOf(userId: string, reason: EndReason): number {
    const mine = [...this.live.values()].filter((s) => s.userId === userId);
    for (const s of mine) this.finish(s, reason);
    return mine.length;
  }

  /** Ends the sessions of every user `isActive` rejects; returns how many ended. */
  endUnless(isActive: (userId: string) => boolean, reason: EndReason): number {
    const users = new Set([...this.live.values()].map((s) => s.userId));
    let ended = 0;
    for (const u of users) if (!isActive(u)) ended += this.endAllOf(u, reason);
    return ended;
  }

  /** The user a session belongs to, active or ended; undefined for an id never issued. */
  ownerOf(sessionId: string): string | undefined {
    return this.live.get(sessionId)?.userId ?? this.store.get(sessionId)?.userId;
  }

  /** A range request made with a session id: the session must be active and for this content. */
  rangeBySession(sessionId: string, contentId: string): RangeTicket {
    const s = this.live.get(sessionId);
    if (!s) throw new SessionEnded(sessionId, this.store.get(sessionId)?.endReason ?? null, this.endNotes.get(sessionId));
    if (s.contentId !== contentId) throw new AuthInvalidToken('session is for another video');
    return this.ticket(s);
  }

  /**
   * A range request with only a user's token: it joins that user's open session for the content, or
   * opens an implicit one that ends after a short idle. Synchronous, so a burst of parallel requests
   * cannot open several sessions.
   */
  rangeByUser(userId: string, contentId: string, source: StreamSource): RangeTicket {
    let s: Live | undefined;
    for (const x of this.live.values()) {
      if (x.userId === userId && x.contentId === contentId && (!s || x.lastActivity > s.lastActivity)) s = x;
    }
    if (!s) s = this.live.get(this.start(userId, contentId, source, true).sessionId)!;
    return this.ticket(s);
  }

  /** Ends sessions that went silent; runs on a timer and from tests with a driven clock. */
  reap(now = this.clock()): number {
    let ended = 0;
    for (const s of [...this.live.values()]) {
      if (s.inflight > 0) continue;
      const silent = now - s.lastActivity;
      if (s.implicit && silent > this.timings.implicitIdleMs) {
        this.finish(s, 'idle');
        ended++;
      } else if (silent > this.timings.timeoutMs) {
        this.finish(s, 'timeout');
        ended++;
      }
    }
    return ended;
  }

  /** The active sessions, newest first. */
  active(now = this.clock()): ActiveSession[] {
    return [...this.live.values()]
      .sort((a, b) => b.startedAt - a.startedAt)
      .map((s) => ({ ...this.snapshot(s), stale: this.isStale(s, now), bytesPerSecond: s.rate.bytesPerSecond(now), stateSince: s.stateSince, mode: s.mode }));
  }

  /** How many sessions are active. */
  get activeCount(): number {
    return this.live.size;
  }

  private ticket(s: Live): RangeTicket {
    s.lastActivity = this.clock();
    s.inflight++;
    let open = true;
    let cut: (() => void) | undefined;
    return {
      sessionId: s.sessionId,
      addBytes: (n) => {
        const now = this.clock();
        s.bytes += n;
        s.rate.add(n, now);
        this.serverRate.add(n, now);
      },
      onCut: (fn) => {
        if (!open) return;
        if (cut) s.cuts.delete(cut);
        cut = fn;
        s.cuts.add(fn);
      },
      done: () => {
        if (!open) return;
        open = false;
        if (cut) s.cuts.delete(cut);
        s.inflight = Math.max(0, s.inflight - 1);
        s.lastActivity = this.clock();
      },
    };
  }

  private isStale(s: Live, now: number): boolean {
    return s.inflight === 0 && now - s.lastActivity > this.timings.staleMs;
  }

  private oldestStaleOf(userId: string): Live | undefined {
    const now = this.clock();
    let oldest: Live | undefined;
    for (const s of this.live.values()) {
      if (s.userId === userId && this.isStale(s, now) && (!oldest || s.lastActivity < oldest.lastActivity)) oldest = s;
    }
    return oldest;
  }

  private owned(userId: string, contentId: string, sessionId: string): Live {
    const s = this.live.get(sessionId);
    if (s && s.userId === userId && s.contentId === contentId) return s;
    const old = this.store.get(sessionId);
    if (old && old.userId === userId && old.contentId === contentId) throw new SessionEnded(sessionId, old.endReason, this.endNotes.get(sessionId));
    throw new SessionNotFound(sessionId);
  }

  private finish(s: Live, reason: EndReason): StreamSession {
    const now = this.clock();
    this.live.delete(s.sessionId);
    this.slots.release(s.userId);
    const ended: StreamSession = { ...this.snapshot(s), status: 'ended', endedAt: now, endReason: reason };
    this.store.save(ended);
    // In-flight responses stop now (SPEC §4: an ended stream really stops), not at their next request.
    const cuts = [...s.cuts];
    s.cuts.clear();
    for (const cut of cuts) cut();
    this.bus.emit('stream.ended', {
      session_id: s.sessionId,
      user_id: s.userId,
      content_id: s.contentId,
      watch_duration: ended.watchDuration,
      bytes_transferred: s.bytes,
      reason,
      timestamp: iso(now),
    });
    return ended;
  }

  private snapshot(s: Live): StreamSession {
    return {
      sessionId: s.sessionId,
      userId: s.userId,
      contentId: s.contentId,
      source: s.source,
      implicit: s.implicit,
      startedAt: s.startedAt,
      lastActivity: s.lastActivity,
      status: 'active',
      state: s.state,
      position: s.position,
      bytesTransferred: s.bytes,
      qoe: s.qoe,
      endedAt: null,
      endReason: null,
      // Up to the last sign of life: a player that vanished does not add the silent tail.
      watchDuration: Math.round(Math.max(0, s.lastActivity - s.startedAt) / 10) / 100,
    };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
