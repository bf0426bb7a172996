/**
 * The server's configuration: one typed object, built and validated once at start-up from command-line
 * flags and environment variables (a flag wins). Nothing else in the server reads `process.env`.
 */
import { accessSync, constants, mkdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isInside } from '../library/paths.ts';

/** Everything the server needs to know before it starts. */
export interface Config {
  readonly libraryRoot: string;
  readonly dataDir: string;
  readonly cacheDir: string;
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  /** Lifetime of a login token, in seconds. */
  readonly tokenTtlSeconds: number;
  /** Failed logins per username-and-address within the window before that pair must wait (looser caps per username and per address). */
  readonly loginMaxFailures: number;
  readonly loginWindowSeconds: number;
  /** Origins allowed to call the API from another site; empty means CORS is off. */
  readonly corsOrigins: readonly string[];
  /** Concurrent stream limits. */
  readonly maxStreams: number;
  readonly maxStreamsPerUser: number;
  /** A session with neither heartbeat nor range request for this long is ended (reason timeout). */
  readonly sessionTimeoutSeconds: number;
  /** ...and after this long it is stale: its slot goes to the same user's next start. */
  readonly staleAfterSeconds: number;
  /** A session opened by a bare range request ends after this long without requests. */
  readonly implicitIdleSeconds: number;
  /** The SSD tier: byte budget, disk space it never takes, popularity rule, copy rate, head size, NAS open timeout. */
  readonly cacheBudgetBytes: number;
  readonly cacheReserveBytes: number;
  readonly promoteAfter: number;
  readonly promoteWindowSeconds: number;
  readonly promoteRateBytesPerSecond: number;
  readonly headBytes: number;
  readonly nasTimeoutSeconds: number;
  /** The first-run admin password (environment only, so it never shows in a process list). */
  readonly adminPassword: string | undefined;
  /** Poll the library every this many seconds instead of native file events (network mounts); null: native events. */
  readonly watchPollSeconds: number | null;
  /** A full library rescan after this long without one; null: never. */
  readonly rescanEverySeconds: number | null;
  /** Send video bodies with sendfile(2) where the platform has it; false: read and write them. */
  readonly sendfile: boolean;
}

/** Log levels the structured log accepts. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** A setting that does not validate; its message is one line that names the setting. */
export class ConfigError extends Error {
  constructor(readonly setting: string, problem: string) {
    super(`${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** The project root, so the bundled samples are found wherever the server is started from. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Setting {
  readonly flag: string;
  readonly env: string;
  readonly help: string;
}

/** The settings' names, as operators and scripts use them. */
export const SETTINGS = {
  library: { flag: '--library', env: 'WSOPTV_LIBRARY', help: 'folder of videos (the NAS); default: the bundled samples/' },
  data: { flag: '--data', env: 'WSOPTV_DATA', help: 'folder for the database and secrets; default ./data' },
  cache: { flag: '--cache', env: 'WSOPTV_CACHE', help: 'SSD cache folder; default <data>/ssd-cache' },
  port: { flag: '--port', env: 'WSOPTV_PORT', help: 'TCP port; default 8000' },
  host: { flag: '--host', env: 'WSOPTV_HOST', help: 'address to listen on; default 0.0.0.0' },
  logLevel: { flag: '--log-level', env: 'WSOPTV_LOG_LEVEL', help: 'fatal|error|warn|info|debug|trace|silent; default info' },
  tokenTtl: { flag: '--token-ttl', env: 'WSOPTV_TOKEN_TTL', help: 'login token lifetime (e.g. 12h, 30m, 3600); default 12h' },
  loginMaxFailures: { flag: '--login-max-failures', env: 'WSOPTV_LOGIN_MAX_FAILURES', help: 'failed logins per username-and-address before a pause (10x per username, 4x per address); default 5' },
  loginWindow: { flag: '--login-window', env: 'WSOPTV_LOGIN_WINDOW', help: 'window for counting failed logins; default 15m' },
  corsOrigin: { flag: '--cors-origin', env: 'WSOPTV_CORS_ORIGIN', help: 'comma-separated origins allowed to call the API; default none (CORS off)' },
  maxStreams: { flag: '--max-streams', env: 'WSOPTV_MAX_STREAMS', help: 'concurrent streams on the server; default 100' },
  maxStreamsPerUser: { flag: '--max-streams-per-user', env: 'WSOPTV_MAX_STREAMS_PER_USER', help: 'concurrent streams per user; default 3' },
  sessionTimeout: { flag: '--session-timeout', env: 'WSOPTV_SESSION_TIMEOUT', help: 'end a silent session after; default 30m' },
  staleAfter: { flag: '--stale-after', env: 'WSOPTV_STALE_AFTER', help: 'a silent session is stale (replaceable) after; default 60s' },
  implicitIdle: { flag: '--implicit-idle', env: 'WSOPTV_IMPLICIT_IDLE', help: 'end a session opened by a bare range request after; default 120s' },
  cacheBudget: { flag: '--cache-budget', env: 'WSOPTV_CACHE_BUDGET', help: 'bytes the SSD tier may hold (500MB, 200GB, 1TiB); default 50GB' },
  cacheReserve: { flag: '--cache-reserve', env: 'WSOPTV_CACHE_RESERVE', help: 'free space the tier never takes on the cache disk; default 5GB' },
  promoteAfter: { flag: '--promote-after', env: 'WSOPTV_PROMOTE_AFTER', help: 'stream starts within the window that copy a video to the SSD; default 3' },
  promoteWindow: { flag: '--promote-window', env: 'WSOPTV_PROMOTE_WINDOW', help: 'sliding window for --promote-after; default 24h' },
  promoteRate: { flag: '--promote-rate', env: 'WSOPTV_PROMOTE_RATE', help: 'copy rate NAS to SSD, bytes per second (100MB); default 100MB' },
  headBytes: { flag: '--head-bytes', env: 'WSOPTV_HEAD_BYTES', help: 'leading bytes of every video kept on the SSD (0: none); default 8MiB' },
  nasTimeout: { flag: '--nas-timeout', env: 'WSOPTV_NAS_TIMEOUT', help: 'a NAS open slower than this answers 503; default 15s' },
  watchPoll: { flag: '--watch-poll', env: 'WSOPTV_WATCH_POLL', help: 'poll the library (network mounts): off, on (every 2s) or an interval such as 10s; default off' },
  rescanEvery: { flag: '--rescan-every', env: 'WSOPTV_RESCAN_EVERY', help: 'full library rescan after this long without one; 0 or off for none; default 15m' },
  sendfile: { flag: '--sendfile', env: 'WSOPTV_SENDFILE', help: 'send video bytes with sendfile(2) where the platform has it: on or off; default on' },
} as const satisfies Record<string, Setting>;

type SettingName = keyof typeof SETTINGS;

/** The usage text printed by `--help`. */
export function usage(): string {
  const rows = Object.values(SETTINGS).map((s) => `  ${`${s.flag} <value>`.padEnd(22)} ${s.env.padEnd(18)} ${s.help}`);
  return ['Usage: npm start -- [options]', '', '  flag                   environment        meaning', ...rows].join('\n');
}

/** Splits `--name value` and `--name=value` pairs; anything else is an error. */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const known = new Map<string, SettingName>();
  for (const [name, s] of Object.entries(SETTINGS)) known.set(s.flag, name as SettingName);
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const name = known.get(flag);
    if (name === undefined) throw new ConfigError(flag, 'unknown option (see --help)');
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    // An empty value (`--data=`) is a typo, not a request for the default: taking the default would
    // quietly put the database or the library somewhere the operator did not mean.
    if (value === undefined || value.trim() === '') throw new ConfigError(flag, 'needs a value');
    out.set(name, value);
  }
  return out;
}

/** Builds and validates the configuration. Throws ConfigError with a one-line message. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): Config {
  const flags = parseFlags(argv);
  const raw = (name: SettingName): string | undefined => {
    const v = flags.get(name) ?? env[SETTINGS[name].env];
    return v === undefined || v === '' ? undefined : v;
  };
  const label = (name: SettingName): string => {
    const s = SETTINGS[name];
    return flags.has(name) ? s.flag : env[s.env] !== undefined && env[s.env] !== '' ? s.env : s.flag;
  };

  const libraryRoot = path.resolve(cwd, raw('library') ?? path.join(PROJECT_ROOT, 'samples'));
  requireReadableDir(libraryRoot, label('library'));

  const dataDir = path.resolve(cwd, raw('data') ?? 'data');
  requireWritableDir(dataDir, label('data'));

  const cacheDir = path.resolve(cwd, raw('cache') ?? path.join(dataDir, 'ssd-cache'));
  requireWritableDir(cacheDir, label('cache'));
  // The data folder holds the token secret and the database: inside a served root, a link or a crafted
  // path would be one step from serving them. Compared by real paths, so a symlinked alias counts too.
  const realData = realpathSync(dataDir);
  if (isInside(realpathSync(libraryRoot), realData)) throw new ConfigError(label('data'), `folder ${dataDir} lies inside the library (${label('library')}), which is served; keep it outside`);
  if (isInside(realpathSync(cacheDir), realData)) throw new ConfigError(label('data'), `folder ${dataDir} lies inside the cache folder (${label('cache')}), which is served; keep it outside`);

  const port = parseIntSetting(raw('port') ?? '8000', label('port'), 0, 65535);
  const host = raw('host') ?? '0.0.0.0';
  if (!/^[A-Za-z0-9.:%-]+$/.test(host)) throw new ConfigError(label('host'), `"${host}" is not a host name or address`);

  const level = raw('logLevel') ?? 'info';
  if (!LOG_LEVELS.includes(level as LogLevel)) {
    throw new ConfigError(label('logLevel'), `"${level}" is not one of ${LOG_LEVELS.join(', ')}`);
  }

  const tokenTtlSeconds = parseDuration(raw('tokenTtl') ?? '12h', label('tokenTtl'), 60, 366 * 86_400);
  const loginMaxFailures = parseIntSetting(raw('loginMaxFailures') ?? '5', label('loginMaxFailures'), 1, 1000);
  const loginWindowSeconds = parseDuration(raw('loginWindow') ?? '15m', label('loginWindow'), 1, 86_400);
  const corsOrigins = (raw('corsOrigin') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const o of corsOrigins) {
    if (!/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(o)) throw new ConfigError(label('corsOrigin'), `"${o}" is not an origin such as http://host:port`);
  }
  const maxStreams = parseIntSetting(raw('maxStreams') ?? '100', label('maxStreams'), 1, 100_000);
  const maxStreamsPerUser = parseIntSetting(raw('maxStreamsPerUser') ?? '3', label('maxStreamsPerUser'), 1, 1000);
  const sessionTimeoutSeconds = parseDuration(raw('sessionTimeout') ?? '30m', label('sessionTimeout'), 10, 7 * 86_400);
  const staleAfterSeconds = parseDuration(raw('staleAfter') ?? '60s', label('staleAfter'), 5, 7 * 86_400);
  const implicitIdleSeconds = parseDuration(raw('implicitIdle') ?? '120s', label('implicitIdle'), 5, 7 * 86_400);
  if (staleAfterSeconds > sessionTimeoutSeconds) {
    throw new ConfigError(label('staleAfter'), `${staleAfterSeconds}s is longer than the session timeout (${sessionTimeoutSeconds}s)`);
  }
  const cacheBudgetBytes = parseBytes(raw('cacheBudget') ?? '50GB', label('cacheBudget'), 0);
  const cacheReserveBytes = parseBytes(raw('cacheReserve') ?? '5GB', label('cacheReserve'), 0);
  const promoteAfter = parseIntSetting(raw('promoteAfter') ?? '3', label('promoteAfter'), 1, 10_000);
  const promoteWindowSeconds = parseDuration(raw('promoteWindow') ?? '24h', label('promoteWindow'), 60, 366 * 86_400);
  const promoteRateBytesPerSecond = parseBytes((raw('promoteRate') ?? '100MB').replace(/\/s$/i, ''), label('promoteRate'), 64 * 1024);
  const headBytes = parseBytes(raw('headBytes') ?? '8MiB', label('headBytes'), 0, 1024 ** 3);
  const nasTimeoutSeconds = parseDuration(raw('nasTimeout') ?? '15s', label('nasTimeout'), 1, 600);
  // The live library: polling for mounts that send no file events, and a periodic rescan as the safety net.
  const watchPoll = raw('watchPoll') ?? 'off';
  const watchPollSeconds = OFF.has(watchPoll.trim().toLowerCase()) ? null : ON.has(watchPoll.trim().toLowerCase()) ? 2 : parseDuration(watchPoll, label('watchPoll'), 1, 600);
  const rescanEvery = raw('rescanEvery') ?? '15m';
  const rescanEverySeconds = OFF.has(rescanEvery.trim().toLowerCase()) ? null : parseDuration(rescanEvery, label('rescanEvery'), 10, 7 * 86_400);
  const sendfileRaw = (raw('sendfile') ?? 'on').trim().toLowerCase();
  if (!ON.has(sendfileRaw) && !OFF.has(sendfileRaw)) throw new ConfigError(label('sendfile'), `"${raw('sendfile')}" is not on or off`);
  const sendfile = ON.has(sendfileRaw);
  const adminPassword = env.WSOPTV_ADMIN_PASSWORD === '' ? undefined : env.WSOPTV_ADMIN_PASSWORD;
  if (adminPassword !== undefined && (adminPassword.length < 8 || adminPassword.length > 256)) {
    throw new ConfigError('WSOPTV_ADMIN_PASSWORD', 'must be 8 to 256 characters');
  }

  return {
    libraryRoot,
    dataDir,
    cacheDir,
    port,
    host,
    logLevel: level as LogLevel,
    tokenTtlSeconds,
    loginMaxFailures,
    loginWindowSeconds,
    corsOrigins,
    maxStreams,
    maxStreamsPerUser,
    sessionTimeoutSeconds,
    staleAfterSeconds,
    implicitIdleSeconds,
    cacheBudgetBytes,
    cacheReserveBytes,
    promoteAfter,
    promoteWindowSeconds,
    promoteRateBytesPerSecond,
    headBytes,
    nasTimeoutSeconds,
    adminPassword,
    watchPollSeconds,
    rescanEverySeconds,
    sendfile,
  };
}

const OFF = new Set(['off', 'false', 'no', '0']);
const ON = new Set(['on', 'true', 'yes']);

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Parses a duration such as "90", "90s", "15m", "12h" or "2d" into seconds, within bounds. */
export function parseDuration(value: string, setting: string, minSeconds: number, maxSeconds: number): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(value.trim());
  if (!m) throw new ConfigError(setting, `"${value}" is not a duration such as 90s, 15m or 12h`);
  const seconds = Number(m[1]) * (UNIT_SECONDS[m[2] || 's'] ?? 1);
  if (seconds < minSeconds || seconds > maxSeconds) {
    throw new ConfigError(setting, `${value} is outside ${minSeconds}s-${maxSeconds}s`);
  }
  return seconds;
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** Parses a size such as "500MB", "200GB", "8MiB" or "1048576" (decimal units are powers of 1000, "i" units of 1024). */
export function parseBytes(value: string, setting: string, min: number, max = 1e15): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?$/i.exec(value.trim());
  const unit = BYTE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) throw new ConfigError(setting, `"${value}" is not a size such as 500MB, 200GB or 8MiB`);
  const n = Math.floor(Number(m[1]) * unit);
  if (n < min || n > max) throw new ConfigError(setting, `${value} is outside ${min}-${max} bytes`);
  return n;
}

/** Parses a whole number within bounds, or says which setting was wrong. */
export function parseIntSetting(value: string, setting: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw new ConfigError(setting, `"${value}" is not a whole number`);
  const n = Number(value.trim());
  if (n < min || n > max) throw new ConfigError(setting, `${n} is outside ${min}-${max}`);
  return n;
}

function requireReadableDir(dir: string, setting: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new ConfigError(setting, `folder ${dir} does not exist`);
  }
  if (!isDir) throw new ConfigError(setting, `${dir} is not a folder`);
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
  } catch {
    throw new ConfigError(setting, `folder ${dir} is not readable`);
  }
}

function requireWritableDir(dir: string, setting: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    throw new ConfigError(setting, `folder ${dir} cannot be created`);
  }
  if (!statSync(dir).isDirectory()) throw new ConfigError(setting, `${dir} is not a folder`);
  // A real write, not access(2): root passes access checks on folders it cannot write (a read-only mount).
  const probe = path.join(dir, `.write-test-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe);
  } catch {
    throw new ConfigError(setting, `folder ${dir} is not writable`);
  }
}
