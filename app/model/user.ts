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

// The account rules the register form checks too: defined once in the wire contract.
export { PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN } from '../contract/constants.ts';
