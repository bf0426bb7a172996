/**
 * Validation of path parameters shared by the routes.
 */
import { ContentNotFound } from '../../model/errors.ts';

const CONTENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A content id from the path; an id that could never exist is simply not found. */
export function contentIdParam(raw: unknown): string {
  if (typeof raw !== 'string' || !CONTENT_ID.test(raw)) throw new ContentNotFound(typeof raw === 'string' ? raw.slice(0, 64) : '');
  return raw;
}
