/**
 * Validation of path parameters shared by the routes.
 */
import { CONTENT_ID_PATTERN as CONTENT_ID, SESSION_ID_PATTERN as SESSION_ID } from '../../contract/constants.ts';
import { ContentNotFound, ValidationFailed } from '../../model/errors.ts';

export { SESSION_ID_PATTERN as SESSION_ID } from '../../contract/constants.ts';

/** A content id from the path; an id that could never exist is simply not found. */
export function contentIdParam(raw: unknown): string {
  if (typeof raw !== 'string' || !CONTENT_ID.test(raw)) throw new ContentNotFound(typeof raw === 'string' ? raw.slice(0, 64) : '');
  return raw;
}

/** A session id from a body or path; anything else is a 400 naming `field`. */
export function sessionIdParam(raw: unknown, field = 'session_id'): string {
  if (typeof raw !== 'string' || !SESSION_ID.test(raw)) throw new ValidationFailed(field, 'is not a stream session id');
  return raw;
}
