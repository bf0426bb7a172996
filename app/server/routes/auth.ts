/**
 * Accounts over HTTP: register, login, logout, me (`/api/auth/*`) and the admin's user management
 * (`/api/admin/users/*`). Logout revokes the token it is sent with; disabling a user revokes all of theirs.
 */
import { Router, type RequestHandler, type Response } from 'express';
import type { Auth } from '../../auth/index.ts';
import type { LoginResponse, UserListResponse, UserResponse, UserWire } from '../../contract/wire.ts';
import { Forbidden, ValidationFailed } from '../../model/errors.ts';
import { ROLES, type Role, type User } from '../../model/user.ts';
import { parseCookies, principalOf, requireAdmin, TOKEN_COOKIE } from '../auth-guard.ts';
import { methodNotAllowed } from '../error-middleware.ts';

/** A user as the API shows it. */
export function userView(u: User): UserWire {
  return { id: u.id, username: u.username, role: u.role, status: u.status, created_at: u.createdAt, updated_at: u.updatedAt, last_login_at: u.lastLoginAt };
}

function body(req: { body?: unknown }): Record<string, unknown> {
  const b = req.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new ValidationFailed('body', 'must be a JSON object');
  return b as Record<string, unknown>;
}

/** Whether a peer address is this machine. */
function isLoopback(address: string | undefined): boolean {
  return address === '::1' || /^(::ffff:)?127\./.test(address ?? '');
}

function setTokenCookie(res: Response, token: string, maxAgeSeconds: number): void {
  // Not Secure: the server speaks plain HTTP on a LAN. SameSite=Lax keeps it off cross-site subrequests.
  res.setHeader('Set-Cookie', `${TOKEN_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}`);
}

/** Routes anyone may call: register, login, logout. */
export function publicAuthRoutes(auth: Auth, onRegistered: () => void = () => undefined): Router {
  const r = Router();
  r.route('/api/auth/register')
    .post(async (req, res) => {
      const b = body(req);
      const user = await auth.register(b.username as string, b.password as string);
      onRegistered();
      res.status(201).json({ user: userView(user) });
    })
    .all(methodNotAllowed('POST'));
  r.route('/api/auth/login')
    .post(async (req, res) => {
      const b = body(req);
      const result = await auth.login(b.username as string, b.password as string, req.socket.remoteAddress ?? 'unknown');
      setTokenCookie(res, result.token, Math.max(0, result.expiresAt - Math.floor(Date.now() / 1000)));
      res.json({
        token: result.token,
        token_type: 'Bearer',
        expires_at: new Date(result.expiresAt * 1000).toISOString(),
        user: userView(result.user),
      } satisfies LoginResponse);
    })
    .all(methodNotAllowed('POST'));
  // The desktop window's sign-in: the shell hands it a one-time code on loopback; the code becomes the
  // login cookie and the window lands on the console. Only a loopback peer may spend one.
  r.route('/api/auth/local')
    .get(async (req, res) => {
      if (!isLoopback(req.socket.remoteAddress)) throw new Forbidden('loopback');
      const code = typeof req.query.code === 'string' ? req.query.code : '';
      const result = await auth.redeemOneTimeLogin(code);
      setTokenCookie(res, result.token, Math.max(0, result.expiresAt - Math.floor(Date.now() / 1000)));
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(302, '/console/');
    })
    .all(methodNotAllowed('GET'));
  r.route('/api/auth/logout')
    .post(async (req, res) => {
      // Both credentials the request carries are revoked: the cookie is being cleared anyway, and a
      // copy of it left valid would outlive the logout. No token, or a bad one, is still a 204.
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
      const cookie = parseCookies(req.headers.cookie).get(TOKEN_COOKIE);
      for (const token of new Set([bearer, cookie])) if (token) await auth.revokeToken(token);
      setTokenCookie(res, '', 0);
      res.status(204).end();
    })
    .all(methodNotAllowed('POST'));
  return r;
}

/** Routes for a logged-in user, and the admin's user management. Mount behind `authenticate`. */
export function userRoutes(auth: Auth, onChanged: (userId: string) => void = () => undefined): Router {
  const r = Router();
  r.route('/api/auth/me')
    .get((_req, res) => {
      res.json({ user: userView(principalOf(res).user) } satisfies UserResponse);
    })
    .all(methodNotAllowed('GET', 'HEAD'));

  r.use('/api/admin', requireAdmin);
  r.route('/api/admin/users')
    .get((_req, res) => {
      res.json({ items: auth.listUsers().map(userView) } satisfies UserListResponse);
    })
    .post(async (req, res) => {
      const b = body(req);
      const role = parseRole(b.role ?? 'viewer');
      const user = await auth.createUser({ username: b.username as string, password: b.password as string, role, status: 'active' });
      onChanged(user.id);
      res.status(201).json({ user: userView(user) });
    })
    .all(methodNotAllowed('GET', 'HEAD', 'POST'));
  const action = (status: 'active' | 'disabled'): RequestHandler => (req, res) => {
    const user = auth.updateUser(auth.findUser(String(req.params.id)).id, { status });
    onChanged(user.id);
    res.json({ user: userView(user) });
  };
  r.route('/api/admin/users/:id/approve').post(action('active')).all(methodNotAllowed('POST'));
  r.route('/api/admin/users/:id/enable').post(action('active')).all(methodNotAllowed('POST'));
  r.route('/api/admin/users/:id/disable').post(action('disabled')).all(methodNotAllowed('POST'));
  r.route('/api/admin/users/:id/role')
    .put((req, res) => {
      const role = parseRole(body(req).role);
      const user = auth.updateUser(auth.findUser(String(req.params.id)).id, { role });
      onChanged(user.id);
      res.json({ user: userView(user) });
    })
    .all(methodNotAllowed('PUT'));
  return r;
}

function parseRole(value: unknown): Role {
  if (typeof value !== 'string' || !ROLES.includes(value as Role)) throw new ValidationFailed('role', `one of ${ROLES.join(', ')}`);
  return value as Role;
}
