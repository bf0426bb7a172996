/**
 * SQL for tokens ended one by one (logout). A row lives only until the token's own expiry: after that
 * the signature check refuses the token anyway, so the row is pruned.
 */
import type { Db } from './db.ts';

/** The revoked_tokens table: token ids (`jti`) that must no longer be accepted. */
export class RevokedTokenStore {
  private readonly findStmt;
  private readonly insertStmt;
  private readonly pruneStmt;
  private readonly revokeTx;

  constructor(db: Db) {
    this.findStmt = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM revoked_tokens WHERE jti = ?');
    this.insertStmt = db.prepare<[string, number]>('INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)');
    this.pruneStmt = db.prepare<[number]>('DELETE FROM revoked_tokens WHERE expires_at <= ?');
    this.revokeTx = db.transaction((jti: string, expiresAt: number, nowSeconds: number) => {
      this.insertStmt.run(jti, expiresAt);
      this.pruneStmt.run(nowSeconds);
    });
  }

  /** True when the token id was revoked; one primary-key lookup (a request reads it with the user: UserStore.forToken). */
  isRevoked(jti: string): boolean {
    return this.findStmt.get(jti) !== undefined;
  }

  /** Revokes a token id until `expiresAt` (seconds since the epoch), pruning rows already expired. */
  revoke(jti: string, expiresAt: number, nowSeconds = Math.floor(Date.now() / 1000)): void {
    this.revokeTx(jti, expiresAt, nowSeconds);
  }

  /** Drops rows of tokens that have expired; returns how many. */
  prune(nowSeconds = Math.floor(Date.now() / 1000)): number {
    return this.pruneStmt.run(nowSeconds).changes;
  }
}
