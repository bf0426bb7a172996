/**
 * SQL for stream sessions. The live state of an active session is kept in memory by the stream module;
 * this table is its durable record (written at start, on heartbeats and at the end).
 */
import type { EndReason, PlayerState, Qoe, StreamSession, StreamSource } from '../model/stream.ts';
import type { Db } from './db.ts';

interface SessionRow {
  session_id: string;
  user_id: string;
  content_id: string;
  source: StreamSource;
  implicit: number;
  status: 'active' | 'ended';
  state: PlayerState;
  position: number;
  bytes_transferred: number;
  qoe_json: string;
  started_at: number;
  last_activity: number;
  ended_at: number | null;
  end_reason: EndReason | null;
  watch_duration: number | null;
}

function toSession(r: SessionRow): StreamSession {
  return {
    sessionId: r.session_id,
    userId: r.user_id,
    contentId: r.content_id,
    source: r.source,
    implicit: r.implicit === 1,
    status: r.status,
    state: r.state,
    position: r.position,
    bytesTransferred: r.bytes_transferred,
    qoe: JSON.parse(r.qoe_json) as Qoe,
    startedAt: r.started_at,
    lastActivity: r.last_activity,
    endedAt: r.ended_at,
    endReason: r.end_reason,
    watchDuration: r.watch_duration ?? Math.max(0, (r.last_activity - r.started_at) / 1000),
  };
}

/** The stream_sessions table. */
export class SessionStore {
  private readonly insertStmt;
  private readonly saveStmt;
  private readonly byId;
  private readonly endActive;
  private readonly statsStmt;

  constructor(db: Db) {
    this.insertStmt = db.prepare(`INSERT INTO stream_sessions (session_id, user_id, content_id, source, implicit, status, state,
      position, bytes_transferred, qoe_json, started_at, last_activity, ended_at, end_reason, watch_duration)
      VALUES (@sessionId, @userId, @contentId, @source, @implicit, @status, @state, @position, @bytesTransferred, @qoe,
      @startedAt, @lastActivity, @endedAt, @endReason, @watchDuration)`);
    this.saveStmt = db.prepare(`UPDATE stream_sessions SET status = @status, state = @state, position = @position,
      bytes_transferred = @bytesTransferred, qoe_json = @qoe, last_activity = @lastActivity, ended_at = @endedAt,
      end_reason = @endReason, watch_duration = @watchDuration WHERE session_id = @sessionId`);
    this.byId = db.prepare<[string], SessionRow>('SELECT * FROM stream_sessions WHERE session_id = ?');
    this.endActive = db.prepare<[number, EndReason]>(`UPDATE stream_sessions SET status = 'ended', ended_at = ?, end_reason = ?,
      watch_duration = MAX(0, (last_activity - started_at) / 1000.0) WHERE status = 'active'`);
    this.statsStmt = db.prepare<[number], { n: number; ended: number; avg: number | null; ssd: number }>(
      `SELECT COUNT(*) AS n,
              SUM(CASE WHEN status = 'ended' THEN 1 ELSE 0 END) AS ended,
              AVG(CASE WHEN status = 'ended' THEN watch_duration END) AS avg,
              SUM(CASE WHEN source = 'ssd' THEN 1 ELSE 0 END) AS ssd
         FROM stream_sessions WHERE started_at >= ?`,
    );
  }

  private params(s: StreamSession) {
    return {
      ...s,
      implicit: s.implicit ? 1 : 0,
      qoe: JSON.stringify(s.qoe),
      watchDuration: s.status === 'ended' ? s.watchDuration : null,
    };
  }

  /** Records a new session. */
  insert(s: StreamSession): void {
    this.insertStmt.run(this.params(s));
  }

  /** Writes a session's current state. */
  save(s: StreamSession): void {
    this.saveStmt.run(this.params(s));
  }

  /** One session, active or ended. */
  get(sessionId: string): StreamSession | undefined {
    const r = this.byId.get(sessionId);
    return r && toSession(r);
  }

  /** Ends every session still marked active (those a previous process left behind); returns how many. */
  endAllActive(reason: EndReason, now: number): number {
    return this.endActive.run(now, reason).changes;
  }

  /** Sessions started since `sinceMs`: how many, the average watch duration of the ended ones, how many from SSD. */
  statsSince(sinceMs: number): { started: number; avgWatchDuration: number; ssdStarts: number } {
    const r = this.statsStmt.get(sinceMs);
    return { started: r?.n ?? 0, avgWatchDuration: r?.avg ?? 0, ssdStarts: r?.ssd ?? 0 };
  }
}
