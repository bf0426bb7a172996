/**
 * HTTP range and conditional-request rules for serving a file (RFC 9110 §13 and §14), as pure functions
 * of the request's headers and the file's validators. The order follows `send`: validators →
 * preconditions (412) → freshness (304) → Range → If-Range → 416 / 206 / 200.
 */

/** What identifies one version of a file. */
export interface Validators {
  readonly size: number;
  readonly etag: string;
  /** Last-Modified as an HTTP-date. */
  readonly lastModified: string;
  /** Last-Modified in whole seconds since the epoch, as HTTP-dates compare. */
  readonly lastModifiedSeconds: number;
}

/** The request headers the rules read. */
export interface Conditions {
  readonly method: string;
  readonly range?: string | undefined;
  readonly ifRange?: string | undefined;
  readonly ifMatch?: string | undefined;
  readonly ifNoneMatch?: string | undefined;
  readonly ifModifiedSince?: string | undefined;
  readonly ifUnmodifiedSince?: string | undefined;
}

/** What to answer. */
export type Plan =
  | { readonly kind: 'full'; readonly status: 200; readonly start: 0; readonly end: number; readonly ignoredRange?: RangeIgnored }
  | { readonly kind: 'partial'; readonly status: 206; readonly start: number; readonly end: number }
  | { readonly kind: 'not-modified'; readonly status: 304 }
  | { readonly kind: 'precondition-failed'; readonly status: 412 }
  | { readonly kind: 'unsatisfiable'; readonly status: 416 };

/** Why a Range header was not honoured (the answer is then the whole file, as RFC 9110 §14.2 allows). */
export type RangeIgnored = 'unit' | 'malformed' | 'multiple' | 'if-range';

/** The result of reading a Range header against a file size. */
export type ParsedRange =
  | { readonly type: 'range'; readonly start: number; readonly end: number }
  | { readonly type: 'unsatisfiable' }
  | { readonly type: 'ignore'; readonly reason: RangeIgnored };

/** Longest Range header read; anything longer is not a single range a player would send. */
const MAX_RANGE_HEADER = 256;

/** Builds the strong validators of a file version from its size and modification time. */
export function validatorsFor(size: number, mtimeMs: number): Validators {
  const lastModifiedSeconds = Math.floor(mtimeMs / 1000);
  return {
    size,
    // Size and sub-second mtime: a rewritten file gets a new tag even within the same second.
    etag: `"${size.toString(16)}-${Math.round(mtimeMs * 1000).toString(16)}"`,
    lastModified: new Date(lastModifiedSeconds * 1000).toUTCString(),
    lastModifiedSeconds,
  };
}

/** Parses a Range header for a file of `size` bytes (RFC 9110 §14.1.2). */
export function parseRange(header: string, size: number): ParsedRange {
  if (header.length > MAX_RANGE_HEADER) return { type: 'ignore', reason: 'malformed' };
  const eq = header.indexOf('=');
  if (eq < 0) return { type: 'ignore', reason: 'malformed' };
  // Range units are case-insensitive (§14.1); an unknown unit MUST be ignored (§14.2).
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { type: 'ignore', reason: 'unit' };
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (specs.length === 0) return { type: 'ignore', reason: 'malformed' };
  // Several ranges: §14.2 lets a server ignore Range; players never ask for more than one, and a
  // multipart/byteranges body would be the only 206 we could send. We answer 200 with the whole file.
  if (specs.length > 1) return { type: 'ignore', reason: 'multiple' };
  const m = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!m || (m[1] === '' && m[2] === '')) return { type: 'ignore', reason: 'malformed' };
  const [, first = '', last = ''] = m;

  if (first === '') {
    // Suffix range: the last n bytes; a suffix longer than the file is the whole file (§14.1.2);
    // a zero-length suffix is unsatisfiable (§14.1.1). Numbers past 2^53 still compare correctly here.
    const n = Number(last);
    if (n === 0 || size === 0) return { type: 'unsatisfiable' };
    return { type: 'range', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return { type: 'unsatisfiable' };
  if (last === '') return { type: 'range', start, end: size - 1 };
  const end = Number(last);
  // A last-pos below first-pos makes the range invalid (§14.1.1), which a server MAY ignore or reject
  // (§14.2). We reject with 416 as nginx does: the client meant a range and should learn it was wrong.
  if (end < start) return { type: 'unsatisfiable' };
  return { type: 'range', start, end: Math.min(end, size - 1) };
}

/** Splits an entity-tag list ("a", W/"b") into its tags; `*` stays `*`. */
export function parseEtagList(value: string): string[] {
  if (value.trim() === '*') return ['*'];
  return value.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

const opaque = (tag: string): string => (tag.startsWith('W/') ? tag.slice(2) : tag);

/** Parses an HTTP-date into whole seconds; undefined when it is not a valid date (the header is then ignored). */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/** If-Match (§13.1.1, strong comparison) or, without it, If-Unmodified-Since (§13.1.4) fails. */
export function isPreconditionFailure(c: Conditions, v: Validators): boolean {
  if (c.ifMatch !== undefined) {
    const tags = parseEtagList(c.ifMatch);
    return !(tags.includes('*') || tags.some((t) => !t.startsWith('W/') && t === v.etag));
  }
  const since = parseHttpDate(c.ifUnmodifiedSince);
  return since !== undefined && v.lastModifiedSeconds > since;
}

/** The client's copy is current: If-None-Match (§13.1.2, weak comparison) or, without it, If-Modified-Since (§13.1.3). */
export function isFresh(c: Conditions, v: Validators): boolean {
  if (c.method !== 'GET' && c.method !== 'HEAD') return false;
  if (c.ifNoneMatch !== undefined) {
    const tags = parseEtagList(c.ifNoneMatch);
    return tags.includes('*') || tags.some((t) => opaque(t) === opaque(v.etag));
  }
  const since = parseHttpDate(c.ifModifiedSince);
  return since !== undefined && v.lastModifiedSeconds <= since;
}

/**
 * If-Range holds (§13.1.5): a strong ETag equal to ours, or a date exactly equal to Last-Modified
 * (not merely later: `send` accepts later dates, which can splice two versions of a file).
 */
export function isRangeFresh(c: Conditions, v: Validators): boolean {
  if (c.ifRange === undefined) return true;
  const value = c.ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return !value.startsWith('W/') && value === v.etag;
  const date = parseHttpDate(value);
  return date !== undefined && date === v.lastModifiedSeconds;
}

/** Decides the answer to a GET or HEAD for a file. */
export function planResponse(c: Conditions, v: Validators): Plan {
  if (isPreconditionFailure(c, v)) return { kind: 'precondition-failed', status: 412 };
  if (isFresh(c, v)) return { kind: 'not-modified', status: 304 };
  const full = { kind: 'full', status: 200, start: 0, end: v.size - 1 } as const;
  // HEAD gets the headers GET would get, Range included (§9.3.2), so a player probing with HEAD learns
  // the same Content-Range a GET would carry. §14.2 defines ranges for GET only; we treat HEAD as its twin.
  if (c.range === undefined || (c.method !== 'GET' && c.method !== 'HEAD')) return full;
  if (!isRangeFresh(c, v)) return { ...full, ignoredRange: 'if-range' };
  const r = parseRange(c.range, v.size);
  switch (r.type) {
    case 'range':
      return { kind: 'partial', status: 206, start: r.start, end: r.end };
    case 'unsatisfiable':
      return { kind: 'unsatisfiable', status: 416 };
    case 'ignore':
      return { ...full, ignoredRange: r.reason };
  }
}
