/**
 * Cross-site request forgery: the login cookie goes with every request the operator's browser sends to
 * this server, whichever page sent it. SameSite=Lax stops other sites' subrequests but not a top-level
 * form POST, and it treats another port of the same host as the same site. So a request that changes
 * something must show it comes from this server's own pages before the cookie is allowed to speak:
 *
 *   Authorization: Bearer …            → allowed (a page of another site cannot set it without a CORS preflight)
 *   Sec-Fetch-Site: cross-site|same-site → refused unless its Origin is one the operator allowed (--cors-origin)
 *   Origin present                      → must be this server's own origin (or an allowed one); "null" is refused
 *   neither header (curl, old clients)  → with the cookie, only a JSON body passes: a form cannot send one cross-site
 *
 * Safe methods (GET, HEAD, OPTIONS) change nothing and pass. The stream bytes are GET, so `<video src>` works.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { CrossSiteRequest } from '../model/errors.ts';
import { parseCookies, TOKEN_COOKIE } from './auth-guard.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The origins a request may come from: this server under the Host the browser used, plus the allowed ones. */
function isOwnOrAllowed(origin: string, req: IncomingMessage, allowed: ReadonlySet<string>): boolean {
  if (allowed.has(origin)) return true;
  const host = req.headers.host;
  if (host === undefined) return false;
  const o = origin.toLowerCase();
  const h = host.toLowerCase();
  // https too: a TLS reverse proxy on the same host name forwards the browser's own Host.
  return o === `http://${h}` || o === `https://${h}`;
}

/** Why an unsafe request may not act, or undefined when it may. Exported for unit tests. */
export function crossSiteRefusal(req: IncomingMessage, allowed: ReadonlySet<string>): string | undefined {
  if (SAFE_METHODS.has(req.method ?? 'GET')) return undefined;
  if (req.headers.authorization !== undefined) return undefined;
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  if (origin !== undefined) {
    if (origin === 'null') return 'null';
    if (!isOwnOrAllowed(origin, req, allowed)) return origin;
    return undefined;
  }
  if (site === 'cross-site' || site === 'same-site') return site;
  if (site === 'same-origin' || site === 'none') return undefined;
  // No browser evidence either way: only the cookie is at stake, and only a JSON body is proof enough.
  const hasCookie = parseCookies(req.headers.cookie).has(TOKEN_COOKIE);
  if (!hasCookie) return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' ? undefined : 'no origin';
}

/** Refuses state-changing requests that did not come from this server's pages (403 AUTH_CROSS_SITE). */
export function sameOriginGuard(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req, _res, next) => {
    const refused = crossSiteRefusal(req, allowed);
    if (refused === undefined) next();
    else next(new CrossSiteRequest(refused.slice(0, 200)));
  };
}
