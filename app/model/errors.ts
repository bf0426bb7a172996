/**
 * Domain errors. They say what went wrong in the product's terms; the HTTP layer
 * (app/server/error-middleware.ts) is the one place that maps them to a status, a code and a message.
 * This file imports nothing from Node so the web UIs can share the codes.
 */

/** Stable error codes of the HTTP API's error envelope. */
export type ErrorCode =
  | 'AUTH_INVALID_TOKEN'
  | 'AUTH_USER_PENDING'
  | 'AUTH_FORBIDDEN'
  | 'AUTH_USER_DISABLED'
  | 'AUTH_INVALID_CREDENTIALS'
  | 'AUTH_TOO_MANY_ATTEMPTS'
  | 'AUTH_USERNAME_TAKEN'
  | 'AUTH_LAST_ADMIN'
  | 'AUTH_CROSS_SITE'
  | 'CACHE_OVER_BUDGET'
  | 'CACHE_ENTRY_IN_USE'
  | 'CACHE_ENTRY_NOT_FOUND'
  | 'USER_NOT_FOUND'
  | 'STREAM_SESSION_NOT_FOUND'
  | 'STREAM_SESSION_ENDED'
  | 'CONTENT_NOT_FOUND'
  | 'RATE_LIMIT_EXCEEDED'
  | 'STREAM_FILE_UNAVAILABLE'
  | 'RANGE_NOT_SATISFIABLE'
  | 'PRECONDITION_FAILED'
  | 'VALIDATION_FAILED'
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL_ERROR';

/** Base of every error the product raises on purpose. */
export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  /** Extra facts for the envelope's `details`; never a path or a stack. */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** Seconds after which trying again makes sense (sent as Retry-After), where a wait helps. */
  readonly retryAfterSeconds: number | undefined = undefined;

  protected constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** No video with that id is in the catalogue. */
export class ContentNotFound extends DomainError {
  readonly code = 'CONTENT_NOT_FOUND';
  constructor(readonly contentId: string) {
    super(`content ${contentId} not found`, { content_id: contentId });
  }
}

/** The catalogue knows the video but its file cannot be read (the NAS is down, the file is gone). */
export class FileUnavailable extends DomainError {
  readonly code = 'STREAM_FILE_UNAVAILABLE';
  constructor(readonly contentId: string, readonly reason: string) {
    // The reason (an errno code such as ENOENT) is logged, never sent: it can hint at paths.
    super(`file for ${contentId} unavailable: ${reason}`, { content_id: contentId });
  }
}

/** A Range header asked for bytes the file does not have (RFC 9110 §15.5.17). */
export class RangeNotSatisfiable extends DomainError {
  readonly code = 'RANGE_NOT_SATISFIABLE';
  constructor(readonly size: number) {
    super(`range not satisfiable for a ${size}-byte file`, { size });
  }
}

/** An If-Match or If-Unmodified-Since precondition failed (RFC 9110 §13.1.1, §13.1.4). */
export class PreconditionFailed extends DomainError {
  readonly code = 'PRECONDITION_FAILED';
  constructor() {
    super('precondition failed');
  }
}

/** A request's parameters, query or body did not validate. */
export class ValidationFailed extends DomainError {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly field: string, readonly problem: string) {
    super(`${field}: ${problem}`, { field, problem });
  }
}

/** No route answers that path. */
export class RouteNotFound extends DomainError {
  readonly code = 'ROUTE_NOT_FOUND';
  constructor(readonly method: string, readonly path: string) {
    super(`no route for ${method} ${path}`, { method });
  }
}

/** The route exists but not for this method. */
export class MethodNotAllowed extends DomainError {
  readonly code = 'METHOD_NOT_ALLOWED';
  constructor(readonly method: string, readonly allowed: readonly string[]) {
    super(`${method} not allowed`, { method, allowed });
  }
}

/** A request body larger than the server accepts. */
export class PayloadTooLarge extends DomainError {
  readonly code = 'PAYLOAD_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`body larger than ${limit} bytes`, { limit });
  }
}

/** No valid token, cookie or session came with the request, or it has expired. */
export class AuthInvalidToken extends DomainError {
  readonly code = 'AUTH_INVALID_TOKEN';
  constructor(reason = 'missing or invalid credentials') {
    super(reason);
  }
}

/** Wrong username or password (the answer never says which). */
export class AuthInvalidCredentials extends DomainError {
  readonly code = 'AUTH_INVALID_CREDENTIALS';
  constructor() {
    super('wrong username or password');
  }
}

/** The account exists but an admin has not approved it yet. */
export class AuthUserPending extends DomainError {
  readonly code = 'AUTH_USER_PENDING';
  constructor() {
    super('account pending approval');
  }
}

/** The account was disabled by an admin. */
export class AuthUserDisabled extends DomainError {
  readonly code = 'AUTH_USER_DISABLED';
  constructor() {
    super('account disabled');
  }
}

/** The user is known but lacks the role for this request. */
export class Forbidden extends DomainError {
  readonly code = 'AUTH_FORBIDDEN';
  constructor(readonly required: string) {
    super(`requires the ${required} role`, { required_role: required });
  }
}

/**
 * A state-changing request authenticated by the login cookie did not come from the server's own pages
 * (cross-site request forgery: a form on another site, or on another port of this host).
 */
export class CrossSiteRequest extends DomainError {
  readonly code = 'AUTH_CROSS_SITE';
  constructor(readonly origin: string) {
    super(`cross-site request refused (${origin})`, { origin });
  }
}

/** Too many failed logins for this username from this address, for this username, or from this address. */
export class LoginThrottled extends DomainError {
  readonly code = 'AUTH_TOO_MANY_ATTEMPTS';
  override readonly retryAfterSeconds: number;
  constructor(readonly scope: 'username-address' | 'username' | 'address', retryAfterSeconds: number) {
    super(`too many failed logins (${scope})`, { scope, retry_after_seconds: retryAfterSeconds });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Another account already has this name (names compare without case). */
export class UsernameTaken extends DomainError {
  readonly code = 'AUTH_USERNAME_TAKEN';
  constructor(readonly username: string) {
    super(`username ${username} is taken`, { username });
  }
}

/** The change would leave no active admin. */
export class LastAdmin extends DomainError {
  readonly code = 'AUTH_LAST_ADMIN';
  constructor() {
    super('the last active admin cannot be disabled or demoted');
  }
}

/** No user with that id or name. */
export class UserNotFound extends DomainError {
  readonly code = 'USER_NOT_FOUND';
  constructor(readonly user: string) {
    super(`user ${user} not found`, { user });
  }
}

/** A stream limit refused a new stream (v2 §5): which limit, how many are open, what the limit is. */
export class RateLimitExceeded extends DomainError {
  readonly code = 'RATE_LIMIT_EXCEEDED';
  override readonly retryAfterSeconds: number;
  constructor(readonly scope: 'user' | 'server', readonly current: number, readonly limit: number, retryAfterSeconds: number) {
    super(`${scope} stream limit reached (${current}/${limit})`, { scope, current, limit });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** No open session with that id for this user and video. */
export class SessionNotFound extends DomainError {
  readonly code = 'STREAM_SESSION_NOT_FOUND';
  constructor(readonly sessionId: string) {
    super('stream session not found');
  }
}

/** The session has ended (by the viewer, an admin, a timeout or a restart); it serves no more bytes. */
export class SessionEnded extends DomainError {
  readonly code = 'STREAM_SESSION_ENDED';
  constructor(readonly sessionId: string, readonly reason: string | null, readonly note?: string) {
    super(`stream session ended (${reason ?? 'unknown'})`, note ? { reason, note } : { reason });
  }
}

/** A pin the SSD budget cannot hold, with what it would need; nothing is copied or evicted. */
export class CacheOverBudget extends DomainError {
  readonly code = 'CACHE_OVER_BUDGET';
  constructor(readonly contentId: string, readonly needBytes: number, readonly roomBytes: number) {
    super(`video ${contentId} needs ${needBytes} bytes, the cache can give ${roomBytes}`, { content_id: contentId, need_bytes: needBytes, room_bytes: roomBytes });
  }
}

/** The copy is being streamed now and cannot be evicted. */
export class CacheEntryInUse extends DomainError {
  readonly code = 'CACHE_ENTRY_IN_USE';
  constructor(readonly contentId: string) {
    super(`the SSD copy of ${contentId} is being streamed`, { content_id: contentId });
  }
}

/** The video has no copy on the SSD. */
export class CacheEntryNotFound extends DomainError {
  readonly code = 'CACHE_ENTRY_NOT_FOUND';
  constructor(readonly contentId: string) {
    super(`no SSD copy of ${contentId}`, { content_id: contentId });
  }
}

/** Narrowing helper for exhaustive switches. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${String(value)}`);
}
