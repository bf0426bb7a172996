/**
 * The structured log: one JSON line per event (pino) to stdout, in the v1 §12.2 shape:
 * `{"timestamp", "level", "service", "action", ...}`. Each part of the server logs through a child
 * that names its service.
 */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/config.ts';

/** Builds the root logger; use `.child({ service })` for each part of the server. */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: null,
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
