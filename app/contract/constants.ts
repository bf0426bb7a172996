/**
 * Constants both the server and the web UIs rely on. Plain values, no imports: the UIs bundle this file.
 */

/** How often the viewer page heartbeats a playing stream, in seconds. */
export const HEARTBEAT_SECONDS = 15;

/** The shape of a stream session id (the server makes 22 characters; a little slack for other issuers). */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** The shape of a content id. */
export const CONTENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Usernames: 3-32 letters, digits, dot, dash or underscore, starting with a letter or digit. */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$/;

/** Password length bounds; the upper bound keeps scrypt's input sane. */
export const PASSWORD_MIN = 8;
/** See PASSWORD_MIN. */
export const PASSWORD_MAX = 256;

/** How often the server samples its metrics for the console's charts, in seconds. */
export const METRICS_TICK_SECONDS = 5;

/** How much metric history the server keeps for a (re)opened console, in seconds. */
export const METRICS_HISTORY_SECONDS = 3600;

/** How often the live feed sends the list of active streams (rates and positions), in seconds. */
export const STREAMS_TICK_SECONDS = 2;

/** How often the live feed sends a keep-alive comment, in seconds. */
export const SSE_KEEPALIVE_SECONDS = 15;

/** The longest reason an operator may give when ending a stream. */
export const END_NOTE_MAX = 200;

/** Ended sessions per page of the console's history. */
export const HISTORY_PAGE_SIZE = 25;
