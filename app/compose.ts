/**
 * The composition root: builds every module from the configuration and wires them together.
 * This is the only file that knows all the modules; they meet through their interfaces.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import { createAuth, type Auth } from './auth/index.ts';
import { loadOrCreateSecret, TokenSigner } from './auth/tokens.ts';
import { createCache } from './cache/index.ts';
import { PROJECT_ROOT, type Config } from './config/config.ts';
import { createLibrary, type Library, type ScanReport } from './library/index.ts';
import { createLogger } from './log.ts';
import { ContentStore } from './persistence/content-store.ts';
import { openDatabase, secureDataDir } from './persistence/db.ts';
import { ProgressStore } from './persistence/progress-store.ts';
import { SessionStore } from './persistence/session-store.ts';
import { UserStore } from './persistence/user-store.ts';
import { externalChanges } from './persistence/change-signal.ts';
import { systemClock, type Clock } from './model/clock.ts';
import { createStreams, type Streams } from './stream/index.ts';
import { createHttpApp } from './server/app.ts';
import { createConsoleFeed, type ConsoleFeed, type FeedOptions } from './server/console-feed.ts';
import { boundPort, closeGracefully, listen } from './server/http-server.ts';

/** How often the server looks for account changes made by another process. */
const ACCOUNT_WATCH_MS = 500;

/** A running server. */
export interface RunningServer {
  readonly port: number;
  /** http://host:port with a host a local client can reach. */
  readonly url: string;
  readonly library: Library;
  readonly firstScan: ScanReport;
  readonly auth: Auth;
  readonly streams: Streams;
  readonly feed: ConsoleFeed;
  /** Set on the first run when no WSOPTV_ADMIN_PASSWORD was given: shown once, never stored in clear. */
  readonly generatedAdminPassword: string | undefined;
  readonly log: Logger;
  /** Stops listening, lets responses finish for a moment, closes the database. */
  close(graceMs?: number): Promise<void>;
}

/** The version in package.json. */
export const VERSION: string = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** What tests may replace. */
export interface StartOptions {
  readonly log?: Logger;
  /** The clock sessions time out by. */
  readonly clock?: Clock;
  /** Limits of the console's live feed. */
  readonly feed?: FeedOptions;
}

/** Builds and starts everything; on failure, closes whatever was opened and rethrows. */
export async function startServer(config: Config, opts: StartOptions = {}): Promise<RunningServer> {
  const root = opts.log ?? createLogger(config.logLevel);
  const log = root.child({ service: 'server' });
  secureDataDir(config.dataDir);
  const db = openDatabase(path.join(config.dataDir, 'wsoptv.db'));
  let server: Server | undefined;
  let streams: Streams | undefined;
  let accountWatch: NodeJS.Timeout | undefined;
  let feed: ConsoleFeed | undefined;
  try {
    const library = createLibrary(config.libraryRoot, new ContentStore(db));
    const firstScan = await library.scan();
    log.info({ action: 'library_scanned', ...firstScan, sidecarErrors: firstScan.sidecarErrors.length }, 'library scanned');
    for (const e of firstScan.sidecarErrors) log.warn({ action: 'sidecar_rejected', file: e.relPath, reason: e.error }, 'hands sidecar rejected');
    const { secret } = loadOrCreateSecret(config.dataDir);
    const auth = createAuth(new UserStore(db), new TokenSigner(secret, config.tokenTtlSeconds), config);
    const firstAdmin = await auth.ensureFirstAdmin(config.adminPassword);
    if (firstAdmin.created) log.info({ action: 'admin_created', username: 'admin' }, 'first run: admin account created');
    const cache = createCache(library, config);
    streams = createStreams({
      library,
      cache,
      sessions: new SessionStore(db),
      progress: new ProgressStore(db),
      clock: opts.clock ?? systemClock,
      timings: {
        timeoutMs: config.sessionTimeoutSeconds * 1000,
        staleMs: config.staleAfterSeconds * 1000,
        implicitIdleMs: config.implicitIdleSeconds * 1000,
      },
      log: root.child({ service: 'stream' }),
    });
    // One rule for every way an account changes: a user who is not active holds no stream. Changes made
    // here apply at once; those made by another process (the users CLI) are noticed within a second.
    const enforceAccounts = (): void => {
      liveFeed.usersChanged();
      const ended = liveStreams.endSessionsOfInactiveUsers((id) => auth.getUser(id)?.status === 'active');
      if (ended > 0) log.info({ action: 'sessions_ended_for_accounts', count: ended }, 'ended the streams of users who are no longer active');
    };
    const liveStreams = streams;
    const limits = { server: config.maxStreams, perUser: config.maxStreamsPerUser };
    feed = createConsoleFeed({ streams, auth, library, limits, clock: opts.clock ?? systemClock, log, options: opts.feed });
    const liveFeed = feed;
    const changed = externalChanges(db);
    accountWatch = setInterval(() => {
      if (changed()) enforceAccounts();
    }, ACCOUNT_WATCH_MS);
    accountWatch.unref();
    const app = createHttpApp({
      library,
      cache,
      auth,
      streams,
      log,
      version: VERSION,
      webRoot: path.join(PROJECT_ROOT, 'renderer', 'dist'),
      corsOrigins: config.corsOrigins,
      onAccountsChanged: enforceAccounts,
      feed,
      listenHost: config.host,
    });
    server = await listen(app, config.port, config.host);
    const port = boundPort(server);
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const running = server;
    const watch = accountWatch;
    let closing: Promise<void> | undefined;
    return {
      port,
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      library,
      firstScan,
      auth,
      streams: liveStreams,
      feed: liveFeed,
      generatedAdminPassword: firstAdmin.generatedPassword,
      log,
      close(graceMs = 5_000) {
        clearInterval(watch);
        liveFeed.close();
        liveStreams.close();
        closing ??= closeGracefully(running, graceMs).finally(() => db.close());
        return closing;
      },
    };
  } catch (err) {
    clearInterval(accountWatch);
    feed?.close();
    streams?.close();
    server?.close();
    db.close();
    throw err;
  }
}
