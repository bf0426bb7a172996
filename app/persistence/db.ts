/**
 * Opens the SQLite database and brings its schema up to date. The persistence layer is the only part
 * of the server that imports better-sqlite3.
 */
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations/index.ts';

/** The handle the stores share. */
export type Db = Database.Database;

/** Raised when the database on disk is newer than this build understands. */
export class SchemaTooNew extends Error {
  constructor(readonly found: number, readonly known: number) {
    super(`database schema version ${found} is newer than this server understands (${known})`);
  }
}

/** Opens (creating if needed) the database file and applies pending migrations. */
export function openDatabase(file: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Applies every migration above the database's `user_version`, each atomically. */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) throw new SchemaTooNew(current, latest);
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return db.pragma('user_version', { simple: true }) as number;
}
