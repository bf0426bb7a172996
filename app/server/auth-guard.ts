/**
 * Who is asking. A request proves its user through one of several credential sources, tried in order;
 * the first source that finds a credential in the request decides (a bad Bearer header is a 401 even if
 * a good cookie came too). The stream route adds a third source, the stream-session capability, because
 * a `<video src>` request can carry neither a header nor, from another player, a cookie.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler, Response } from 'express';
import type { Auth } from '../auth/index.ts';
import { AuthInvalidToken, AuthUserDisabled, AuthUserPending, Forbidden } from '../model/errors.ts';
import type { User } from '../model/user.ts';

/** The name of the login cookie. */
export const TOKEN_COOKIE = 'wsoptv_token';

/** How a request proved its user. */
export type CredentialKind = 'bearer' | 'cookie' | 'session';

/** The authenticated caller of a request. */
export interface Principal {
  readonly user: User;
  readonly via: CredentialKind;
  /** The stream session, when the credential was one. */
  readonly sessionId?: string;
}

/** What a credential source found: nothing to look at, or a credential and whose it is (null: invalid). */
export type CredentialResult = { readonly present: false } | { readonly present: true; readonly principal: Principal | null };

/** What a credential source may read of a request: an Express request is one, and so is the stream fast path's view. */
export interface CredentialRequest {
  readonly headers: IncomingHttpHeaders;
  /** The query as Express's simple parser (node:querystring) makes it. */
  readonly query: Readonly<Record<string, unknown>>;
}

/** Looks for one kind of credential in a request. */
export type CredentialSource = (req: CredentialRequest) => Promise<CredentialResult>;

const ABSENT: CredentialResult = { present: false };

/** Parses a Cookie header into name → value (first occurrence wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 1) continue;
    const name = part.slice(0, eq).trim();
    if (out.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    out.set(name, value);
  }
  return out;
}

/** `Authorization: Bearer <token>`. */
export function bearerSource(auth: Auth): CredentialSource {
  return async (req) => {
    const h = req.headers.authorization;
    if (h === undefined) return ABSENT;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    const user = m ? await auth.validateToken(m[1]!) : null;
    return { present: true, principal: user && { user, via: 'bearer' } };
  };
}

/** The HttpOnly login cookie. */
export function cookieSource(auth: Auth): CredentialSource {
  return async (req) => {
    const token = parseCookies(req.headers.cookie).get(TOKEN_COOKIE);
    if (token === undefined || token === '') return ABSENT;
    const user = await auth.validateToken(token);
    return { present: true, principal: user && { user, via: 'cookie' } };
  };
}

/**
 * The active user proven by the first of `sources` that finds a credential; throws AuthInvalidToken,
 * AuthUserPending or AuthUserDisabled otherwise.
 */
export async function resolvePrincipal(sources: readonly CredentialSource[], req: CredentialRequest): Promise<Principal> {
  for (const source of sources) {
    const found = await source(req);
    if (!found.present) continue;
    const p = found.principal;
    if (!p) throw new AuthInvalidToken();
    // Status is read fresh on every request, so disabling a user stops their live tokens at once.
    if (p.user.status === 'pending') throw new AuthUserPending();
    if (p.user.status === 'disabled') throw new AuthUserDisabled();
    return p;
  }
  throw new AuthInvalidToken();
}

/** Requires an active user proven by one of `sources`; the principal is kept in `res.locals`. */
export function authenticate(sources: readonly CredentialSource[]): RequestHandler {
  return async (req, res, next) => {
    res.locals.principal = await resolvePrincipal(sources, req);
    next();
  };
}

/** Requires the admin role; runs after `authenticate`. */
export const requireAdmin: RequestHandler = (_req, res, next) => {
  if (principalOf(res).user.role !== 'admin') throw new Forbidden('admin');
  next();
};

/** The authenticated caller; only valid behind `authenticate`. */
export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new AuthInvalidToken();
  return p;
}
