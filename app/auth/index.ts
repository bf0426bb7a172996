/**
 * The auth module: accounts, passwords, login tokens and login throttling. Other modules use only
 * this interface; the HTTP guard (app/server/auth-guard.ts) turns its answers into 401/403.
 */
import { randomBytes } from 'node:crypto';
import {
  AuthInvalidCredentials,
  AuthInvalidToken,
  AuthUserDisabled,
  AuthUserPending,
  LastAdmin,
  UsernameTaken,
  UserNotFound,
  ValidationFailed,
} from '../model/errors.ts';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN, type Role, type User, type UserStatus } from '../model/user.ts';
import type { UserStore, UserWithHash } from '../persistence/user-store.ts';
import { hashPassword, randomPassword, verifyPassword } from './passwords.ts';
import type { Clock } from '../model/clock.ts';
import { LoginThrottle } from './throttle.ts';
import type { TokenSigner } from './tokens.ts';

/** A successful login. */
export interface LoginResult {
  readonly user: User;
  readonly token: string;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
}

/** What other modules may ask of auth. */
export interface Auth {
  /**
   * The user a valid token belongs to, or null. Valid: signed by us, unexpired, not logged out, and of the
   * user's current token epoch (a disabled user's older tokens still name the user, so the guard can say
   * "disabled"; once re-enabled they are null).
   */
  validateToken(token: string): Promise<User | null>;
  /** Logout: revokes one token for good (kept in the database until it expires); anything not a valid token of ours is ignored. */
  revokeToken(token: string): Promise<void>;
  /** A new account: a pending viewer until an admin approves it. */
  register(username: string, password: string): Promise<User>;
  /** Checks the password (throttled per username-and-address, per username and per address) and issues a token to an active user. */
  login(username: string, password: string, address: string): Promise<LoginResult>;
  /** Creates an account directly (operator CLI, admin). */
  createUser(input: { username: string; password: string; role: Role; status: UserStatus }): Promise<User>;
  /** One user by id, or undefined. */
  getUser(id: string): User | undefined;
  /** One user by id or name; throws UserNotFound. */
  findUser(idOrName: string): User;
  /** Every user. */
  listUsers(): User[];
  /** Sets status and/or role; refuses to leave no active admin. Disabling revokes every token the user holds. */
  updateUser(id: string, change: { status?: UserStatus; role?: Role }): User;
  /** Replaces a user's password and revokes every token the user holds. */
  setPassword(id: string, password: string): Promise<void>;
  /**
   * A one-time login code for an active admin, for the desktop window (handed over on loopback, so no
   * password is typed): 256 random bits, good for one use within a minute, kept in memory only.
   */
  createOneTimeLogin(userId: string): string;
  /** Spends a one-time code: a login token for its user, or AuthInvalidToken when it is unknown, used or stale. */
  redeemOneTimeLogin(code: string): Promise<LoginResult>;
  /** When no admin account exists (first run), creates `admin`; returns the generated password when one was made up. */
  ensureFirstAdmin(password: string | undefined): Promise<{ created: boolean; generatedPassword: string | undefined }>;
}

/** Settings of the auth module. */
export interface AuthOptions {
  readonly loginMaxFailures: number;
  readonly loginWindowSeconds: number;
  readonly clock?: Clock;
}

const publicUser = (u: UserWithHash): User => ({
  id: u.id,
  username: u.username,
  role: u.role,
  status: u.status,
  createdAt: u.createdAt,
  updatedAt: u.updatedAt,
  lastLoginAt: u.lastLoginAt,
});

/** Checks a username's shape. */
export function validateUsername(username: unknown): string {
  if (typeof username !== 'string' || !USERNAME_PATTERN.test(username)) {
    throw new ValidationFailed('username', '3-32 letters, digits, dot, dash or underscore, starting with a letter or digit');
  }
  return username;
}

/** Checks a password's length. */
export function validatePassword(password: unknown): string {
  if (typeof password !== 'string' || password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new ValidationFailed('password', `${PASSWORD_MIN} to ${PASSWORD_MAX} characters`);
  }
  return password;
}

/** How long a one-time login code stays good. */
const ONE_TIME_LOGIN_MS = 60_000;

/** A hash to verify against when the username does not exist, so both cases take the same time. */
let decoyHash: Promise<string> | undefined;

/** Builds the auth module. */
export function createAuth(users: UserStore, tokens: TokenSigner, opts: AuthOptions): Auth {
  const throttle = new LoginThrottle(opts.loginMaxFailures, opts.loginWindowSeconds * 1000, opts.clock);
  const revoked = users.revokedTokens;
  // Rows of tokens that expired while no one logged out would otherwise wait for the next logout.
  revoked.prune();

  const oneTime = new Map<string, { userId: string; expires: number }>();
  const clock = opts.clock ?? Date.now;

  const requireUser = (idOrName: string): UserWithHash => {
    const u = users.get(idOrName) ?? users.getByName(idOrName);
    if (!u) throw new UserNotFound(idOrName);
    return u;
  };

  const createUser: Auth['createUser'] = async ({ username, password, role, status }) => {
    validateUsername(username);
    validatePassword(password);
    const id = `u_${randomBytes(9).toString('base64url')}`;
    const passwordHash = await hashPassword(password);
    if (!users.insert({ id, username, passwordHash, role, status })) throw new UsernameTaken(username);
    return publicUser(users.get(id)!);
  };

  return {
    async validateToken(token) {
      const claims = await tokens.verify(token);
      if (claims === null) return null;
      // Both checks read the database (two primary-key lookups in one statement), never a cache: the users
      // CLI is another process writing the same file, and its disable must hold here on the next request.
      const found = users.forToken(claims.sub, claims.jti);
      if (!found || found.revoked) return null;
      const u = found.user;
      if (claims.epoch !== u.tokenEpoch) return u.status === 'disabled' ? publicUser(u) : null;
      return publicUser(u);
    },

    async revokeToken(token) {
      const claims = await tokens.verify(token);
      if (claims === null) return;
      revoked.revoke(claims.jti, claims.exp);
      tokens.forget(token);
    },

    register: (username, password) => createUser({ username, password, role: 'viewer', status: 'pending' }),

    async login(username, password, address) {
      if (typeof username !== 'string' || typeof password !== 'string' || username.length > 64 || password.length > PASSWORD_MAX) {
        throw new AuthInvalidCredentials();
      }
      throttle.check(username, address);
      const u = users.getByName(username);
      decoyHash ??= hashPassword(randomPassword());
      const ok = await verifyPassword(password, u?.passwordHash ?? (await decoyHash));
      if (!u || !ok) {
        throttle.failed(username, address);
        throw new AuthInvalidCredentials();
      }
      // Status is told only to someone who knows the password.
      if (u.status === 'pending') throw new AuthUserPending();
      if (u.status === 'disabled') throw new AuthUserDisabled();
      // Only an active account clears the counts: anyone can register a pending one, and its password
      // must not become a way to wipe an address's failures between rounds of guessing.
      throttle.succeeded(username, address);
      users.touchLogin(u.id);
      // Signed at the epoch just read: should a disable land in between, the token is born stale.
      const { token, expiresAt } = await tokens.sign(u.id, u.tokenEpoch);
      return { user: publicUser(users.get(u.id)!), token, expiresAt };
    },

    createUser,
    getUser: (id) => {
      const u = users.get(id);
      return u && publicUser(u);
    },
    findUser: (idOrName) => publicUser(requireUser(idOrName)),
    listUsers: () => users.list().map(publicUser),

    updateUser(id, change) {
      // Disabling bumps the token epoch, so re-enabling later does not bring the old tokens back.
      const result = users.update(requireUser(id).id, { ...change, revokeTokens: change.status === 'disabled' });
      if (result === 'last-admin') throw new LastAdmin();
      if (result === 'missing') throw new UserNotFound(id);
      return publicUser(users.get(requireUser(id).id)!);
    },

    async setPassword(id, password) {
      validatePassword(password);
      const u = requireUser(id);
      // A password change ends every token issued under the old one (a stolen token dies with it); the
      // user, like everyone else, logs in again with the new password.
      users.setPasswordHash(u.id, await hashPassword(password), true);
    },

    createOneTimeLogin(userId) {
      const u = requireUser(userId);
      if (u.role !== 'admin' || u.status !== 'active') throw new ValidationFailed('user', 'must be an active admin');
      const now = clock();
      for (const [c, v] of oneTime) if (v.expires <= now) oneTime.delete(c);
      const code = randomBytes(32).toString('base64url');
      oneTime.set(code, { userId: u.id, expires: now + ONE_TIME_LOGIN_MS });
      return code;
    },

    async redeemOneTimeLogin(code) {
      const entry = oneTime.get(code);
      oneTime.delete(code);
      const u = entry && entry.expires > clock() ? users.get(entry.userId) : undefined;
      if (!u || u.status !== 'active') throw new AuthInvalidToken();
      users.touchLogin(u.id);
      const { token, expiresAt } = await tokens.sign(u.id, u.tokenEpoch);
      return { user: publicUser(users.get(u.id)!), token, expiresAt };
    },

    async ensureFirstAdmin(password) {
      // Keyed on admins, not on users: an operator may add viewers with the CLI before the first start.
      if (users.countAdmins() > 0) return { created: false, generatedPassword: undefined };
      const generated = password === undefined ? randomPassword() : undefined;
      await createUser({ username: 'admin', password: password ?? generated!, role: 'admin', status: 'active' });
      return { created: true, generatedPassword: generated };
    },
  };
}
