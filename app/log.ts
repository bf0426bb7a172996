/**
 * The structured log: one JSON line per event (pino), to stdout.
 */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/config.ts';

/** Builds the server's logger. */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'wsoptv' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
