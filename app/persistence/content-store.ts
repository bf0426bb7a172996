/**
 * SQL for the catalogue. Rows in, model shapes out; no other module sees the table.
 */
import type { CatalogueCounts, Container, Content, Hand, MediaInfo } from '../model/content.ts';
import type { Db } from './db.ts';

interface ContentRow {
  id: string;
  rel_path: string;
  title: string;
  size: number;
  mtime_ms: number;
  mime_type: string;
  container: string | null;
  duration_s: number | null;
  video_codec: string | null;
  audio_codec: string | null;
  width: number | null;
  height: number | null;
  bitrate: number | null;
  faststart: number | null;
  unplayable_reason: string | null;
  hands_json: string;
  sidecar_error: string | null;
  sidecar_mtime_ms: number | null;
  added_at: string;
  updated_at: string;
}

/** What the scanner writes for one file. */
export interface ContentRecord {
  readonly id: string;
  readonly relPath: string;
  readonly title: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly mimeType: string;
  readonly media: MediaInfo | null;
  readonly unplayableReason: string | null;
  readonly hands: readonly Hand[];
  readonly sidecarError: string | null;
  readonly sidecarMtimeMs: number | null;
}

/** A catalogue row with the bookkeeping the scanner compares against. */
export interface StoredContent extends Content {
  readonly sidecarMtimeMs: number | null;
}

function toContent(r: ContentRow): StoredContent {
  const media: MediaInfo | null =
    r.duration_s === null
      ? null
      : {
          durationSeconds: r.duration_s,
          videoCodec: r.video_codec,
          audioCodec: r.audio_codec,
          width: r.width,
          height: r.height,
          bitrate: r.bitrate ?? 0,
          faststart: r.faststart === 1,
          container: (r.container ?? 'mp4') as Container,
        };
  return {
    id: r.id,
    relPath: r.rel_path,
    title: r.title,
    size: r.size,
    mtimeMs: r.mtime_ms,
    mimeType: r.mime_type,
    media,
    playable: media !== null && r.unplayable_reason === null,
    unplayableReason: r.unplayable_reason,
    hands: JSON.parse(r.hands_json) as Hand[],
    sidecarError: r.sidecar_error,
    sidecarMtimeMs: r.sidecar_mtime_ms,
    addedAt: r.added_at,
    updatedAt: r.updated_at,
  };
}

/** Where a catalogued video's file is, and its version. */
export interface Location {
  readonly relPath: string;
  readonly mimeType: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** The catalogue table. */
export class ContentStore {
  private readonly byId;
  private readonly byPath;
  private readonly locateStmt;
  private readonly handsStmt;
  private readonly all;
  private readonly insert;
  private readonly update;
  private readonly del;
  private readonly count;
  /** locate()'s answers since the last write. */
  private readonly located = new Map<string, Location>();

  constructor(private readonly db: Db) {
    this.byId = db.prepare<[string], ContentRow>('SELECT * FROM contents WHERE id = ?');
    this.byPath = db.prepare<[string], ContentRow>('SELECT * FROM contents WHERE rel_path = ?');
    this.locateStmt = db.prepare<[string], { rel_path: string; mime_type: string; size: number; mtime_ms: number }>(
      'SELECT rel_path, mime_type, size, mtime_ms FROM contents WHERE id = ?',
    );
    this.all = db.prepare<[], ContentRow>('SELECT * FROM contents ORDER BY title COLLATE NOCASE, rel_path');
    const cols = `rel_path = @relPath, title = @title, size = @size, mtime_ms = @mtimeMs, mime_type = @mimeType,
      container = @container, duration_s = @duration, video_codec = @videoCodec, audio_codec = @audioCodec,
      width = @width, height = @height, bitrate = @bitrate, faststart = @faststart,
      unplayable_reason = @unplayableReason, hands_json = @handsJson, sidecar_error = @sidecarError,
      sidecar_mtime_ms = @sidecarMtimeMs, updated_at = @now`;
    this.insert = db.prepare(`INSERT INTO contents (id, rel_path, title, size, mtime_ms, mime_type, container,
      duration_s, video_codec, audio_codec, width, height, bitrate, faststart, unplayable_reason, hands_json,
      sidecar_error, sidecar_mtime_ms, added_at, updated_at)
      VALUES (@id, @relPath, @title, @size, @mtimeMs, @mimeType, @container, @duration, @videoCodec,
      @audioCodec, @width, @height, @bitrate, @faststart, @unplayableReason, @handsJson, @sidecarError,
      @sidecarMtimeMs, @now, @now)`);
    this.update = db.prepare(`UPDATE contents SET ${cols} WHERE id = @id`);
    this.handsStmt = db.prepare(`UPDATE contents SET hands_json = @handsJson, title = @title, sidecar_error = NULL,
      sidecar_mtime_ms = @sidecarMtimeMs, updated_at = @now WHERE id = @id`);
    this.del = db.prepare<[string]>('DELETE FROM contents WHERE id = ?');
    this.count = db.prepare<[], { total: number; playable: number }>(
      `SELECT COUNT(*) AS total,
              COALESCE(SUM(CASE WHEN duration_s IS NOT NULL AND unplayable_reason IS NULL THEN 1 ELSE 0 END), 0) AS playable
         FROM contents`,
    );
  }

  /** One video, or undefined. */
  get(id: string): StoredContent | undefined {
    const r = this.byId.get(id);
    return r && toContent(r);
  }

  /**
   * Where a video's file is, its type and version, without reading (or parsing) the rest of its row: range
   * requests ask this, several times a second per viewer. Answers are kept in memory until the next write
   * of the catalogue (only this store writes it: the scan and the hands editor); ids not found are not kept.
   */
  locate(id: string): Location | undefined {
    const kept = this.located.get(id);
    if (kept) return kept;
    const r = this.locateStmt.get(id);
    if (!r) return undefined;
    const loc: Location = { relPath: r.rel_path, mimeType: r.mime_type, size: r.size, mtimeMs: r.mtime_ms };
    this.located.set(id, loc);
    return loc;
  }

  /** The video catalogued at that library-relative path, or undefined. */
  getByPath(relPath: string): StoredContent | undefined {
    const r = this.byPath.get(relPath);
    return r && toContent(r);
  }

  /** Every video, ordered by title. */
  list(): StoredContent[] {
    return this.all.all().map(toContent);
  }

  /** Totals for health and the console. */
  counts(): CatalogueCounts {
    const c = this.count.get() ?? { total: 0, playable: 0 };
    return { total: c.total, playable: c.playable, unplayable: c.total - c.playable };
  }

  /** Replaces a video's hands and title after its sidecar was rewritten; the sidecar's mtime keeps the next scan from re-reading it. */
  setHands(id: string, hands: readonly Hand[], title: string, sidecarMtimeMs: number, now = new Date().toISOString()): void {
    this.located.clear();
    this.handsStmt.run({ id, handsJson: JSON.stringify(hands), title, sidecarMtimeMs, now });
  }

  /** Inserts or updates several records and deletes others, all in one transaction. */
  apply(upserts: readonly ContentRecord[], deletes: readonly string[], now = new Date().toISOString()): void {
    this.located.clear();
    this.db.transaction(() => {
      for (const id of deletes) this.del.run(id);
      for (const rec of upserts) {
        const params = toParams(rec, now);
        if (this.update.run(params).changes === 0) this.insert.run(params);
      }
    })();
  }
}

function toParams(rec: ContentRecord, now: string): Record<string, unknown> {
  const m = rec.media;
  return {
    id: rec.id,
    relPath: rec.relPath,
    title: rec.title,
    size: rec.size,
    mtimeMs: rec.mtimeMs,
    mimeType: rec.mimeType,
    container: m?.container ?? null,
    duration: m?.durationSeconds ?? null,
    videoCodec: m?.videoCodec ?? null,
    audioCodec: m?.audioCodec ?? null,
    width: m?.width ?? null,
    height: m?.height ?? null,
    bitrate: m?.bitrate ?? null,
    faststart: m === null ? null : m.faststart ? 1 : 0,
    unplayableReason: rec.unplayableReason,
    handsJson: JSON.stringify(rec.hands),
    sidecarError: rec.sidecarError,
    sidecarMtimeMs: rec.sidecarMtimeMs,
    now,
  };
}
