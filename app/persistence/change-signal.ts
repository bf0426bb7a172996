/**
 * Notices writes made to the database by another process, such as `npm run users -- disable NAME`
 * while the server runs. SQLite's `data_version` changes exactly when another connection has committed,
 * and reading it costs no query of any table, so the server can ask often.
 */
import type { Db } from './db.ts';

/** Returns a function that answers true once after each commit made by another connection. */
export function externalChanges(db: Db): () => boolean {
  const read = (): number => db.pragma('data_version', { simple: true }) as number;
  let seen = read();
  return () => {
    const now = read();
    if (now === seen) return false;
    seen = now;
    return true;
  };
}
