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

/** Narrowing helper for exhaustive switches. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${String(value)}`);
}
