/**
 * Accounts, shared by the server and the web UIs (no Node imports here).
 */

/** What a user may do. */
export type Role = 'viewer' | 'admin';
/** Where an account stands: new accounts wait for an admin's approval. */
export type UserStatus = 'pending' | 'active' | 'disabled';

/** All roles, for validation. */
export const ROLES: readonly Role[] = ['viewer', 'admin'];

/** An account, without its password hash. */
export interface User {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly status: UserStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastLoginAt: string | null;
}

/** Usernames: 3-32 letters, digits, dot, dash or underscore, starting with a letter or digit. */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$/;
/** Password length bounds; the upper bound keeps scrypt's input sane. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;
