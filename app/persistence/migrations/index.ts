/**
 * Numbered schema migrations. The database's `user_version` is the number of the last one applied;
 * each runs in its own transaction, so a failed upgrade leaves the previous version intact.
 * Append only: never edit a migration that has shipped.
 */

/** One step of the schema. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** All migrations, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'catalogue',
    sql: `
      CREATE TABLE contents (
        id                TEXT PRIMARY KEY,
        rel_path          TEXT NOT NULL UNIQUE,
        title             TEXT NOT NULL,
        size              INTEGER NOT NULL,
        mtime_ms          REAL NOT NULL,
        mime_type         TEXT NOT NULL,
        container         TEXT,
        duration_s        REAL,
        video_codec       TEXT,
        audio_codec       TEXT,
        width             INTEGER,
        height            INTEGER,
        bitrate           INTEGER,
        faststart         INTEGER,
        unplayable_reason TEXT,
        hands_json        TEXT NOT NULL DEFAULT '[]',
        sidecar_error     TEXT,
        sidecar_mtime_ms  REAL,
        added_at          TEXT NOT NULL,
        updated_at        TEXT NOT NULL
      );
      CREATE INDEX contents_size_mtime ON contents (size, mtime_ms);
    `,
  },
  {
    version: 2,
    name: 'users',
    sql: `
      CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        username      TEXT NOT NULL,
        username_key  TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
        status        TEXT NOT NULL CHECK (status IN ('pending', 'active', 'disabled')),
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        last_login_at TEXT
      );
    `,
  },
  {
    version: 3,
    name: 'stream sessions and progress',
    sql: `
      CREATE TABLE stream_sessions (
        session_id        TEXT PRIMARY KEY,
        user_id           TEXT NOT NULL,
        content_id        TEXT NOT NULL,
        source            TEXT NOT NULL CHECK (source IN ('ssd', 'nas')),
        implicit          INTEGER NOT NULL DEFAULT 0,
        status            TEXT NOT NULL CHECK (status IN ('active', 'ended')),
        state             TEXT NOT NULL DEFAULT 'unknown',
        position          REAL NOT NULL DEFAULT 0,
        bytes_transferred INTEGER NOT NULL DEFAULT 0,
        qoe_json          TEXT NOT NULL DEFAULT '{}',
        started_at        INTEGER NOT NULL,
        last_activity     INTEGER NOT NULL,
        ended_at          INTEGER,
        end_reason        TEXT,
        watch_duration    REAL
      );
      CREATE INDEX stream_sessions_status ON stream_sessions (status);
      CREATE INDEX stream_sessions_started ON stream_sessions (started_at);
      CREATE TABLE progress (
        user_id          TEXT NOT NULL,
        content_id       TEXT NOT NULL,
        position         REAL NOT NULL,
        duration         REAL NOT NULL,
        progress_percent INTEGER NOT NULL,
        updated_at       TEXT NOT NULL,
        PRIMARY KEY (user_id, content_id)
      );
      CREATE INDEX progress_recent ON progress (user_id, updated_at);
    `,
  },
  {
    version: 4,
    name: 'token revocation',
    // token_epoch is carried in every token; bumping it ends all of a user's tokens at once (disable,
    // password change). revoked_tokens holds single tokens ended by logout, until they expire anyway.
    sql: `
      ALTER TABLE users ADD COLUMN token_epoch INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE revoked_tokens (
        jti        TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
    `,
  },
  {
    version: 5,
    name: 'ssd cache index',
    // One row per file of the SSD tier: a whole copy of a video, or its head (first bytes, then the moov
    // box when it lies beyond them). The source's size and mtime at copy time decide whether it is valid.
    sql: `
      CREATE TABLE cache_entries (
        content_id       TEXT NOT NULL,
        kind             TEXT NOT NULL CHECK (kind IN ('copy', 'head')),
        file             TEXT NOT NULL UNIQUE,
        size             INTEGER NOT NULL,
        source_size      INTEGER NOT NULL,
        source_mtime_ms  REAL NOT NULL,
        head_len         INTEGER NOT NULL DEFAULT 0,
        moov_offset      INTEGER,
        moov_len         INTEGER,
        created_at       INTEGER NOT NULL,
        last_streamed_at INTEGER NOT NULL,
        hits             INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (content_id, kind)
      );
      CREATE TABLE cache_pins (
        content_id TEXT PRIMARY KEY,
        pinned_at  INTEGER NOT NULL
      );
    `,
  },
];
