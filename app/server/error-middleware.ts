/**
 * The one place where errors become HTTP answers: domain errors map to a status and a stable code,
 * everything else is a 500 whose details stay in the log. Bodies never carry a path or a stack.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import {
  assertNever,
  DomainError,
  type ErrorCode,
  MethodNotAllowed,
  PayloadTooLarge,
  RangeNotSatisfiable,
  RouteNotFound,
  ValidationFailed,
} from '../model/errors.ts';
import { messageFor, pickLang } from './i18n.ts';

/** The documented error body. */
export interface ErrorEnvelope {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly details?: Readonly<Record<string, unknown>> };
}

/** HTTP status of each code. */
export function statusOf(code: ErrorCode): number {
  switch (code) {
    case 'VALIDATION_FAILED':
      return 400;
    case 'AUTH_INVALID_TOKEN':
    case 'AUTH_INVALID_CREDENTIALS':
      return 401;
    case 'AUTH_USER_PENDING':
    case 'AUTH_USER_DISABLED':
    case 'AUTH_FORBIDDEN':
    case 'AUTH_CROSS_SITE':
      return 403;
    case 'CONTENT_NOT_FOUND':
    case 'ROUTE_NOT_FOUND':
    case 'USER_NOT_FOUND':
    case 'STREAM_SESSION_NOT_FOUND':
    case 'CACHE_ENTRY_NOT_FOUND':
      return 404;
    case 'METHOD_NOT_ALLOWED':
      return 405;
    case 'AUTH_USERNAME_TAKEN':
    case 'AUTH_LAST_ADMIN':
    case 'CACHE_OVER_BUDGET':
    case 'CACHE_ENTRY_IN_USE':
      return 409;
    case 'PRECONDITION_FAILED':
      return 412;
    case 'STREAM_SESSION_ENDED':
      return 410;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'RANGE_NOT_SATISFIABLE':
      return 416;
    case 'RATE_LIMIT_EXCEEDED':
    case 'AUTH_TOO_MANY_ATTEMPTS':
      return 429;
    case 'INTERNAL_ERROR':
      return 500;
    case 'STREAM_FILE_UNAVAILABLE':
      return 503;
    default:
      return assertNever(code);
  }
}

/**
 * Sends an error envelope; extra headers (Allow, Content-Range, Retry-After) come from the error itself.
 * Written on the plain response, as Express's `res.json` would (same headers, no body for HEAD), so the
 * stream fast path and the Express routes answer byte for byte alike.
 */
export function sendError(res: ServerResponse, err: DomainError, acceptLanguage: string | undefined, method?: string): void {
  const status = statusOf(err.code);
  if (err instanceof MethodNotAllowed) res.setHeader('Allow', err.allowed.join(', '));
  if (err instanceof RangeNotSatisfiable) res.setHeader('Content-Range', `bytes */${err.size}`);
  if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterSeconds))));
  else if (status === 503) res.setHeader('Retry-After', '30');
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="wsoptv"');
  const body: ErrorEnvelope = {
    error: {
      code: err.code,
      message: messageFor(err.code, pickLang(acceptLanguage), err.details),
      ...(err.details ? { details: err.details } : {}),
    },
  };
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', bytes.length);
  if (method === 'HEAD') res.end();
  else res.end(bytes);
}

/**
 * Turns the client errors that Express, the router and body-parser raise into domain errors. They are
 * the client's fault (a malformed percent-encoding in the path, a body whose gzip/deflate/br stream is
 * corrupt, bad JSON), so they are 4xx answers and never a 500 with a stack in the error log.
 */
export function fromHttpLayer(err: unknown): DomainError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { type?: unknown; limit?: unknown; status?: unknown; statusCode?: unknown; code?: unknown };
  if (e.type === 'entity.parse.failed') return new ValidationFailed('body', 'is not valid JSON');
  if (e.type === 'entity.too.large') return new PayloadTooLarge(typeof e.limit === 'number' ? e.limit : 0);
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return new ValidationFailed('body', 'uses an unsupported encoding');
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (err instanceof URIError) return new ValidationFailed('path', 'is not valid percent-encoding');
  if (status === undefined || status < 400 || status > 499) return undefined;
  // zlib's codes (Z_DATA_ERROR, Z_BUF_ERROR, ERR_BROTLI_…) reach here wrapped in a 400 by body-parser.
  if (typeof e.code === 'string' && /^(Z_|ERR_BROTLI|ERR_ZLIB)/.test(e.code)) return new ValidationFailed('body', 'could not be decoded (Content-Encoding)');
  if (status === 413) return new PayloadTooLarge(typeof e.limit === 'number' ? e.limit : 0);
  return new ValidationFailed('request', 'is malformed');
}

/**
 * Answers a request that failed: the one mapping of errors to answers and log lines, shared by the
 * Express error middleware and the stream fast path. `pathname` is the request's path without its query.
 */
export function answerError(log: Logger, err: unknown, req: IncomingMessage, pathname: string, res: ServerResponse): void {
  const domain = err instanceof DomainError ? err : fromHttpLayer(err);
  const lang = header(req.headers['accept-language']);
  if (res.headersSent) {
    // Too late for a status: cut the connection so the client sees a short body, not a wrong one.
    log.warn({ err: domain ? domain.message : String(err), path: pathname }, 'error after headers were sent');
    res.destroy();
    return;
  }
  if (domain) {
    if (statusOf(domain.code) >= 500) log.warn({ code: domain.code, reason: domain.message, path: pathname }, 'request failed');
    else if (!(err instanceof DomainError)) log.info({ code: domain.code, reason: domain.message, method: req.method }, 'client error');
    sendError(res, domain, lang, req.method);
    return;
  }
  log.error({ err, path: pathname, method: req.method }, 'unhandled error');
  sendError(res, new InternalError(), lang, req.method);
}

/** Express error middleware: the last handler. */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => answerError(log, err, req, req.path, res);
}

/** A header as one string (Express's `req.get` answers the first of a repeated one). */
function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

class InternalError extends DomainError {
  readonly code = 'INTERNAL_ERROR';
  constructor() {
    super('internal error');
  }
}

/** 404 envelope for any path no route answered. */
export const notFound: RequestHandler = (req, _res, next) => next(new RouteNotFound(req.method, req.path));

/** Handler for a known path reached with a method it does not accept. */
export function methodNotAllowed(...allowed: string[]): RequestHandler {
  return (req, _res, next) => next(new MethodNotAllowed(req.method, allowed));
}
