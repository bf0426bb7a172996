/**
 * Opens the SQLite database and brings its schema up to date. The persistence layer is the only part
 * of the server that imports better-sqlite3.
 *
 * The data folder holds password hashes, the token secret and who watched what: it and everything in it
 * are owner-only (folder 0700, files 0600), also when an older version left it 0755/0644.
 */
import { chmodSync, closeSync, lstatSync, openSync, readdirSync } from 'node:fs';
import path from 'node:path';
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

/** Files SQLite keeps beside the database, which hold its pages too. */
const SIDE_FILES = ['-wal', '-shm', '-journal'];

/** Clears group and other bits of a file or folder that exists; never through a symlink (chmod would follow it out). */
function tighten(p: string): void {
  let mode: number;
  try {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    mode = st.mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if ((mode & 0o077) !== 0) chmodSync(p, mode & 0o700);
}

/** Makes the data folder owner-only: the folder 0700, and no group or other bits on anything directly in it. */
export function secureDataDir(dir: string): void {
  chmodSync(dir, 0o700);
  // A folder 0700 already shuts others out of everything below it; the entries are tightened as well so
  // a copy or a later chmod of the folder does not expose them.
  for (const name of readdirSync(dir)) tighten(path.join(dir, name));
}

/**
 * Creates the database file 0600 before SQLite opens it and tightens an existing one: SQLite gives the
 * -wal and -shm files it creates the mode of the database file, so they follow.
 */
function preparePrivateFile(file: string): void {
  if (file === '' || file === ':memory:' || file.startsWith('file:')) return;
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, ...SIDE_FILES.map((s) => file + s)]) tighten(f);
}

/** Opens (creating it 0600 if needed) the database file and applies pending migrations. */
export function openDatabase(file: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  preparePrivateFile(file);
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
