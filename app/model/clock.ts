/**
 * Time as the server reads it: milliseconds since the epoch. Injected so tests can drive timeouts
 * without sleeping.
 */

/** A clock in milliseconds. */
export type Clock = () => number;

/** The real clock. */
export const systemClock: Clock = () => Date.now();
