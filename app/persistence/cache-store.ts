/**
 * SQL for the SSD tier's index: which copies and heads exist, what source version each was made from,
 * and which videos an operator pinned. The cache module keeps it in memory and writes through.
 */
import type { Db } from './db.ts';

/** One file of the SSD tier as the index records it. */
export interface CacheEntryRecord {
  readonly contentId: string;
  readonly kind: 'copy' | 'head';
  /** Path below the cache root, forward slashes. */
  readonly file: string;
  /** Bytes on the SSD. */
  readonly size: number;
  readonly sourceSize: number;
  readonly sourceMtimeMs: number;
  /** For a head: how many leading bytes of the source it holds. */
  readonly headLen: number;
  /** For a head: where the source's moov box starts and how long it is, when stored after the leading bytes. */
  readonly moovOffset: number | null;
  readonly moovLen: number | null;
  readonly createdAt: number;
  readonly lastStreamedAt: number;
  readonly hits: number;
}

interface Row {
  content_id: string;
  kind: 'copy' | 'head';
  file: string;
  size: number;
  source_size: number;
  source_mtime_ms: number;
  head_len: number;
  moov_offset: number | null;
  moov_len: number | null;
  created_at: number;
  last_streamed_at: number;
  hits: number;
}

const toRecord = (r: Row): CacheEntryRecord => ({
  contentId: r.content_id,
  kind: r.kind,
  file: r.file,
  size: r.size,
  sourceSize: r.source_size,
  sourceMtimeMs: r.source_mtime_ms,
  headLen: r.head_len,
  moovOffset: r.moov_offset,
  moovLen: r.moov_len,
  createdAt: r.created_at,
  lastStreamedAt: r.last_streamed_at,
  hits: r.hits,
});

/** The cache_entries and cache_pins tables. */
export class CacheStore {
  private readonly all;
  private readonly upsertStmt;
  private readonly delStmt;
  private readonly usedStmt;
  private readonly pinsStmt;
  private readonly pinStmt;
  private readonly unpinStmt;

  constructor(db: Db) {
    this.all = db.prepare<[], Row>('SELECT * FROM cache_entries');
    this.upsertStmt = db.prepare(`INSERT INTO cache_entries (content_id, kind, file, size, source_size, source_mtime_ms, head_len,
        moov_offset, moov_len, created_at, last_streamed_at, hits)
      VALUES (@contentId, @kind, @file, @size, @sourceSize, @sourceMtimeMs, @headLen, @moovOffset, @moovLen, @createdAt, @lastStreamedAt, @hits)
      ON CONFLICT (content_id, kind) DO UPDATE SET file = excluded.file, size = excluded.size, source_size = excluded.source_size,
        source_mtime_ms = excluded.source_mtime_ms, head_len = excluded.head_len, moov_offset = excluded.moov_offset,
        moov_len = excluded.moov_len, created_at = excluded.created_at, last_streamed_at = excluded.last_streamed_at, hits = excluded.hits`);
    this.delStmt = db.prepare<[string, string]>('DELETE FROM cache_entries WHERE content_id = ? AND kind = ?');
    this.usedStmt = db.prepare<[number, number, string, string]>('UPDATE cache_entries SET last_streamed_at = ?, hits = ? WHERE content_id = ? AND kind = ?');
    this.pinsStmt = db.prepare<[], { content_id: string }>('SELECT content_id FROM cache_pins');
    this.pinStmt = db.prepare<[string, number]>('INSERT OR IGNORE INTO cache_pins (content_id, pinned_at) VALUES (?, ?)');
    this.unpinStmt = db.prepare<[string]>('DELETE FROM cache_pins WHERE content_id = ?');
  }

  /** Every entry. */
  list(): CacheEntryRecord[] {
    return this.all.all().map(toRecord);
  }

  /** Records an entry (a new copy replaces the old one of the same kind). */
  put(e: CacheEntryRecord): void {
    this.upsertStmt.run(e);
  }

  /** Forgets an entry. */
  delete(contentId: string, kind: 'copy' | 'head'): void {
    this.delStmt.run(contentId, kind);
  }

  /** Records that an entry was streamed. */
  markUsed(contentId: string, kind: 'copy' | 'head', at: number, hits: number): void {
    this.usedStmt.run(at, hits, contentId, kind);
  }

  /** Pinned video ids. */
  pins(): string[] {
    return this.pinsStmt.all().map((r) => r.content_id);
  }

  /** Pins a video. */
  pin(contentId: string, at: number): void {
    this.pinStmt.run(contentId, at);
  }

  /** Unpins a video. */
  unpin(contentId: string): void {
    this.unpinStmt.run(contentId);
  }
}
