/**
 * SQL for accounts. Usernames are unique without regard to case (`username_key` is the lower-cased name).
 * Each user has a `token_epoch`, carried in every token issued to them: bumping it ends all their tokens.
 */
import type { Role, User, UserStatus } from '../model/user.ts';
import type { Db } from './db.ts';
import { RevokedTokenStore } from './token-store.ts';

interface UserRow {
  id: string;
  username: string;
  username_key: string;
  password_hash: string;
  role: Role;
  status: UserStatus;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
  token_epoch: number;
}

/** A user with the hash, for the auth module only. */
export interface UserWithHash extends User {
  readonly passwordHash: string;
  /** Tokens carrying another epoch are no longer valid. */
  readonly tokenEpoch: number;
}

function toUser(r: UserRow): UserWithHash {
  return {
    id: r.id,
    username: r.username,
    role: r.role,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastLoginAt: r.last_login_at,
    passwordHash: r.password_hash,
    tokenEpoch: r.token_epoch,
  };
}

/** The users table. */
export class UserStore {
  private readonly byId;
  private readonly byIdWithRevocation;
  private readonly byKey;
  private readonly all;
  private readonly insertStmt;
  private readonly activeAdmins;
  private readonly setStatusStmt;
  private readonly setRoleStmt;
  private readonly setHashStmt;
  private readonly loginStmt;
  private readonly countStmt;
  private readonly bumpEpochStmt;
  /**
   * Tokens revoked one by one. Opened on the same handle and handed out with the users, so the auth
   * module gets every account table from the one store it is built with.
   */
  readonly revokedTokens: RevokedTokenStore;

  constructor(private readonly db: Db) {
    this.revokedTokens = new RevokedTokenStore(db);
    this.byId = db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?');
    // One statement, so one read transaction (one pair of lock calls) per request for both answers.
    this.byIdWithRevocation = db.prepare<[string, string], UserRow & { revoked: 0 | 1 }>(
      'SELECT *, EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?) AS revoked FROM users WHERE id = ?',
    );
    this.byKey = db.prepare<[string], UserRow>('SELECT * FROM users WHERE username_key = ?');
    this.all = db.prepare<[], UserRow>('SELECT * FROM users ORDER BY username_key');
    this.insertStmt = db.prepare(`INSERT INTO users (id, username, username_key, password_hash, role, status, created_at, updated_at)
      VALUES (@id, @username, @key, @hash, @role, @status, @now, @now)`);
    this.activeAdmins = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND status = 'active'");
    this.setStatusStmt = db.prepare<[UserStatus, string, string]>('UPDATE users SET status = ?, updated_at = ? WHERE id = ?');
    this.setRoleStmt = db.prepare<[Role, string, string]>('UPDATE users SET role = ?, updated_at = ? WHERE id = ?');
    this.setHashStmt = db.prepare<[string, string, string]>('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?');
    this.loginStmt = db.prepare<[string, string]>('UPDATE users SET last_login_at = ? WHERE id = ?');
    this.countStmt = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'");
    this.bumpEpochStmt = db.prepare<[string]>('UPDATE users SET token_epoch = token_epoch + 1 WHERE id = ?');
  }

  /** One user by id. */
  get(id: string): UserWithHash | undefined {
    const r = this.byId.get(id);
    return r && toUser(r);
  }

  /**
   * What a token's check reads on every request: its user by id, and whether the token id was revoked
   * (revoked_tokens, see token-store.ts). Undefined when there is no such user.
   */
  forToken(id: string, jti: string): { user: UserWithHash; revoked: boolean } | undefined {
    const r = this.byIdWithRevocation.get(jti, id);
    return r && { user: toUser(r), revoked: r.revoked === 1 };
  }

  /** One user by name, any case. */
  getByName(username: string): UserWithHash | undefined {
    const r = this.byKey.get(username.toLowerCase());
    return r && toUser(r);
  }

  /** Every user, by name. */
  list(): UserWithHash[] {
    return this.all.all().map(toUser);
  }

  /** How many admin accounts exist, whatever their status. */
  countAdmins(): number {
    return this.countStmt.get()?.n ?? 0;
  }

  /** Inserts a user; returns false when the name is taken. */
  insert(u: { id: string; username: string; passwordHash: string; role: Role; status: UserStatus }, now = new Date().toISOString()): boolean {
    try {
      this.insertStmt.run({ id: u.id, username: u.username, key: u.username.toLowerCase(), hash: u.passwordHash, role: u.role, status: u.status, now });
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return false;
      throw err;
    }
  }

  /**
   * Changes status or role (and with `revokeTokens`, bumps the token epoch) in a transaction that refuses
   * to leave no active admin. Returns 'ok', 'missing' or 'last-admin'.
   */
  update(
    id: string,
    change: { status?: UserStatus; role?: Role; revokeTokens?: boolean },
    now = new Date().toISOString(),
  ): 'ok' | 'missing' | 'last-admin' {
    const tx = this.db.transaction((): 'ok' | 'missing' => {
      if (!this.byId.get(id)) return 'missing';
      const adminsBefore = this.activeAdmins.get()?.n ?? 0;
      if (change.status !== undefined) this.setStatusStmt.run(change.status, now, id);
      if (change.role !== undefined) this.setRoleStmt.run(change.role, now, id);
      if (change.revokeTokens === true) this.bumpEpochStmt.run(id);
      // Throwing rolls the transaction back, so the check and the write are one atomic step.
      if (adminsBefore > 0 && (this.activeAdmins.get()?.n ?? 0) === 0) throw new LastAdminRollback();
      return 'ok';
    });
    try {
      return tx();
    } catch (err) {
      if (err instanceof LastAdminRollback) return 'last-admin';
      throw err;
    }
  }

  /** Replaces a password hash; with `revokeTokens`, bumps the token epoch in the same transaction. */
  setPasswordHash(id: string, hash: string, revokeTokens: boolean, now = new Date().toISOString()): boolean {
    return this.db.transaction(() => {
      const changed = this.setHashStmt.run(hash, now, id).changes > 0;
      if (changed && revokeTokens) this.bumpEpochStmt.run(id);
      return changed;
    })();
  }

  /** Records a successful login. */
  touchLogin(id: string, now = new Date().toISOString()): void {
    this.loginStmt.run(now, id);
  }
}

/** Aborts an update transaction that would remove the last active admin. */
class LastAdminRollback extends Error {}
