/**
 * SQL for watch progress: one row per user and video.
 */
import type { WatchProgress } from '../model/stream.ts';
import type { Db } from './db.ts';

interface ProgressRow {
  user_id: string;
  content_id: string;
  position: number;
  duration: number;
  progress_percent: number;
  updated_at: string;
}

const toProgress = (r: ProgressRow): WatchProgress => ({
  userId: r.user_id,
  contentId: r.content_id,
  position: r.position,
  duration: r.duration,
  progressPercent: r.progress_percent,
  updatedAt: r.updated_at,
});

/** The progress table. */
export class ProgressStore {
  private readonly upsertStmt;
  private readonly getStmt;
  private readonly listStmt;

  constructor(db: Db) {
    this.upsertStmt = db.prepare(`INSERT INTO progress (user_id, content_id, position, duration, progress_percent, updated_at)
      VALUES (@userId, @contentId, @position, @duration, @progressPercent, @updatedAt)
      ON CONFLICT (user_id, content_id) DO UPDATE SET position = excluded.position, duration = excluded.duration,
        progress_percent = excluded.progress_percent, updated_at = excluded.updated_at`);
    this.getStmt = db.prepare<[string, string], ProgressRow>('SELECT * FROM progress WHERE user_id = ? AND content_id = ?');
    this.listStmt = db.prepare<[string, number], ProgressRow>('SELECT * FROM progress WHERE user_id = ? ORDER BY updated_at DESC LIMIT ?');
  }

  /** Saves a position. */
  save(p: WatchProgress): void {
    this.upsertStmt.run(p);
  }

  /** One user's position in one video, or undefined. */
  get(userId: string, contentId: string): WatchProgress | undefined {
    const r = this.getStmt.get(userId, contentId);
    return r && toProgress(r);
  }

  /** A user's most recently watched videos. */
  listForUser(userId: string, limit = 50): WatchProgress[] {
    return this.listStmt.all(userId, limit).map(toProgress);
  }
}
