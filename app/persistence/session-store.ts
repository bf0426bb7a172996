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

/** Filters of the history of ended sessions; text filters match part of the name, case-insensitively. */
export interface HistoryFilter {
  readonly username?: string;
  readonly title?: string;
  readonly reason?: EndReason;
}

/** An ended session with the names it had when read. */
export interface HistoryRow extends StreamSession {
  readonly username: string | null;
  readonly title: string | null;
}

const likeOf = (text: string | undefined): string | null => (text ? `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null);

/** The stream_sessions table. */
export class SessionStore {
  private readonly insertStmt;
  private readonly saveStmt;
  private readonly byId;
  private readonly endActive;
  private readonly statsStmt;
  private readonly historyStmt;
  private readonly historyCount;
  private readonly perDayStmt;
  private readonly topStmt;

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
    const historyWhere = `FROM stream_sessions s LEFT JOIN users u ON u.id = s.user_id LEFT JOIN contents c ON c.id = s.content_id
      WHERE s.status = 'ended'
        AND (@user IS NULL OR u.username LIKE @user ESCAPE '\\')
        AND (@title IS NULL OR c.title LIKE @title ESCAPE '\\')
        AND (@reason IS NULL OR s.end_reason = @reason)`;
    this.historyStmt = db.prepare<{ user: string | null; title: string | null; reason: string | null; limit: number; offset: number }, SessionRow & { username: string | null; title: string | null }>(
      `SELECT s.*, u.username AS username, c.title AS title ${historyWhere} ORDER BY s.ended_at DESC, s.session_id LIMIT @limit OFFSET @offset`,
    );
    this.historyCount = db.prepare<{ user: string | null; title: string | null; reason: string | null }, { n: number }>(`SELECT COUNT(*) AS n ${historyWhere}`);
    this.perDayStmt = db.prepare<[number], { day: string; plays: number }>(
      `SELECT date(started_at / 1000, 'unixepoch', 'localtime') AS day, COUNT(*) AS plays FROM stream_sessions
        WHERE started_at >= ? GROUP BY day ORDER BY day`,
    );
    this.topStmt = db.prepare<[number, number], { content_id: string; title: string | null; plays: number }>(
      `SELECT s.content_id, c.title AS title, COUNT(*) AS plays FROM stream_sessions s LEFT JOIN contents c ON c.id = s.content_id
        WHERE s.started_at >= ? GROUP BY s.content_id ORDER BY plays DESC, title LIMIT ?`,
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

  /** One page of ended sessions, newest first, and how many match in all. */
  history(filter: HistoryFilter, limit: number, offset: number): { rows: HistoryRow[]; total: number } {
    const where = { user: likeOf(filter.username), title: likeOf(filter.title), reason: filter.reason ?? null };
    const rows = this.historyStmt.all({ ...where, limit, offset }).map((r) => ({ ...toSession(r), username: r.username, title: r.title }));
    return { rows, total: this.historyCount.get(where)?.n ?? 0 };
  }

  /** Plays per local day and the most played videos, of sessions started since `sinceMs`. */
  playsSince(sinceMs: number, top: number): { perDay: { day: string; plays: number }[]; top: { contentId: string; title: string | null; plays: number }[] } {
    return {
      perDay: this.perDayStmt.all(sinceMs),
      top: this.topStmt.all(sinceMs, top).map((r) => ({ contentId: r.content_id, title: r.title, plays: r.plays })),
    };
  }

  /** Sessions started since `sinceMs`: how many, the average watch duration of the ended ones, how many from SSD. */
  statsSince(sinceMs: number): { started: number; avgWatchDuration: number; ssdStarts: number } {
    const r = this.statsStmt.get(sinceMs);
    return { started: r?.n ?? 0, avgWatchDuration: r?.avg ?? 0, ssdStarts: r?.ssd ?? 0 };
  }
}
