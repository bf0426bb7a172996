/**
 * The video bytes ahead of Express. `GET|HEAD /api/stream/{id}` is nearly every request a player makes,
 * and Express's routing and middleware chain cost more than the rest of a seek (docs/performance.md).
 * This listener recognises the usual form of that URL with one prefix test and one pattern, adds the
 * headers Express's middleware would add (security headers, CORS), and calls the same handler the
 * Express route calls, with the same guard, limits and sessions; a failure goes through the same
 * error mapping (status, envelope, headers, language, log line) as every Express route.
 *
 * Anything it does not recognise (another method, a sub-path, a trailing slash, a percent-encoded id,
 * an absolute-form URL) is left to Express, whose stream route shares the handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { Logger } from 'pino';
import { CONTENT_ID_PATTERN } from '../contract/constants.ts';
import { answerError } from './error-middleware.ts';
import { applyCors, setSecurityHeaders } from './headers.ts';
import type { StreamBytesHandler } from './routes/stream.ts';

const PREFIX = '/api/stream/';
const NO_QUERY: Readonly<Record<string, unknown>> = Object.freeze({});

/** Answers the request and returns true, or returns false (having touched nothing) to leave it to Express. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Builds the fast path over the bytes handler the Express route uses too. */
export function streamFastPath(bytes: StreamBytesHandler, corsOrigins: readonly string[], log: Logger): FastPath {
  const allowed = new Set(corsOrigins);
  return (req, res) => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const url = req.url;
    if (url === undefined || !url.startsWith(PREFIX)) return false;
    const q = url.indexOf('?', PREFIX.length);
    const id = q < 0 ? url.slice(PREFIX.length) : url.slice(PREFIX.length, q);
    if (!CONTENT_ID_PATTERN.test(id)) return false;
    // Express's "simple" query parser is node:querystring: the same parser gives `?session=` the same meaning here.
    const query = q < 0 ? NO_QUERY : parseQuery(url.slice(q + 1));
    setSecurityHeaders(res);
    applyCors(allowed, req, res); // never a preflight here: those are OPTIONS
    bytes(req, res, id, query).catch((err: unknown) => {
      try {
        answerError(log, err, req, q < 0 ? url : url.slice(0, q), res);
      } catch (failed) {
        log.error({ err: failed }, 'error answer failed');
        res.destroy();
      }
    });
    return true;
  };
}
