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
import { createCache, type Cache } from './cache/index.ts';
import { watchCacheFolder, type CacheWatch } from './cache/watcher.ts';
import { CacheStore } from './persistence/cache-store.ts';
import { PROJECT_ROOT, type Config } from './config/config.ts';
import { closeIdleOpenFiles, createLibrary, watchLibrary, type Library, type LibraryWatcher, type Opener, type ScanReport } from './library/index.ts';
import { createLogger } from './log.ts';
import { ContentStore } from './persistence/content-store.ts';
import { openDatabase, secureDataDir } from './persistence/db.ts';
import { ProgressStore } from './persistence/progress-store.ts';
import { SessionStore } from './persistence/session-store.ts';
import { UserStore } from './persistence/user-store.ts';
import { externalChanges } from './persistence/change-signal.ts';
import { systemClock, type Clock } from './model/clock.ts';
import { createStreams, type Streams } from './stream/index.ts';
import { loadSendfile } from './stream/sendfile.ts';
import { createHttpHandler } from './server/app.ts';
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
  readonly cache: Cache;
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
  /** Wraps the opener of NAS files: tests and the bench play a sleeping or hung NAS with it. */
  readonly openNas?: Opener;
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
  let cache: Cache | undefined;
  let cacheWatch: CacheWatch | undefined;
  let libraryWatch: LibraryWatcher | undefined;
  let feed: ConsoleFeed | undefined;
  try {
    const library = createLibrary(config.libraryRoot, new ContentStore(db), { clock: opts.clock });
    const firstScan = await library.scan();
    log.info({ action: 'library_scanned', ...firstScan, sidecarErrors: firstScan.sidecarErrors.length }, 'library scanned');
    for (const e of firstScan.sidecarErrors) log.warn({ action: 'sidecar_rejected', file: e.relPath, reason: e.error }, 'hands sidecar rejected');
    // The live library: changes under the root reach the catalogue without a restart (library/README.md).
    libraryWatch = watchLibrary(library, {
      root: config.libraryRoot,
      pollMs: config.watchPollSeconds === null ? null : config.watchPollSeconds * 1000,
      rescanEveryMs: config.rescanEverySeconds === null ? null : config.rescanEverySeconds * 1000,
      log: root.child({ service: 'library' }),
    });
    await libraryWatch.ready;
    const { secret } = loadOrCreateSecret(config.dataDir);
    const auth = createAuth(new UserStore(db), new TokenSigner(secret, config.tokenTtlSeconds), config);
    const firstAdmin = await auth.ensureFirstAdmin(config.adminPassword);
    if (firstAdmin.created) log.info({ action: 'admin_created', username: 'admin' }, 'first run: admin account created');
    const clock = opts.clock ?? systemClock;
    cache = await createCache({
      library,
      store: new CacheStore(db),
      cacheDir: config.cacheDir,
      options: {
        budgetBytes: config.cacheBudgetBytes,
        reserveBytes: config.cacheReserveBytes,
        promoteAfter: config.promoteAfter,
        promoteWindowMs: config.promoteWindowSeconds * 1000,
        promoteRateBytesPerSecond: config.promoteRateBytesPerSecond,
        headBytes: config.headBytes,
        nasTimeoutMs: config.nasTimeoutSeconds * 1000,
      },
      clock,
      log: root.child({ service: 'cache' }),
      // The tier announces on the stream bus (the console's feed, the log) without importing stream/.
      announce: (event, payload) => streams?.bus.emit(event, payload),
      openNas: opts.openNas,
    });
    const liveCache = cache;
    cacheWatch = watchCacheFolder(config.cacheDir, (rel) => liveCache.fileRemoved(rel));
    liveCache.refreshHeads();
    library.onScanned((r) => r.added + r.updated > 0 && liveCache.refreshHeads()); // videos the watcher finds get heads too
    streams = createStreams({
      library,
      cache,
      sessions: new SessionStore(db),
      progress: new ProgressStore(db),
      clock,
      timings: {
        timeoutMs: config.sessionTimeoutSeconds * 1000,
        staleMs: config.staleAfterSeconds * 1000,
        implicitIdleMs: config.implicitIdleSeconds * 1000,
      },
      limits: config,
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
    // How video bodies leave: sendfile(2) where the addon loads, else read and written (named in the log).
    const bodies = config.sendfile ? loadSendfile() : { sendfile: null, why: 'turned off (--sendfile off)' };
    log.info({ action: 'stream_bodies', sendfile: bodies.sendfile !== null, why: bodies.why }, bodies.sendfile ? 'stream bodies: sendfile (zero-copy)' : `stream bodies: copied, ${bodies.why}`);
    const handler = createHttpHandler({
      library,
      cache,
      auth,
      streams,
      log,
      version: VERSION,
      webRoot: path.join(PROJECT_ROOT, 'renderer', 'dist'),
      corsOrigins: config.corsOrigins,
      onAccountsChanged: enforceAccounts,
      clock,
      feed,
      listenHost: config.host,
      sendfile: bodies.sendfile,
    });
    server = await listen(handler, config.port, config.host);
    const port = boundPort(server);
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const running = server;
    const watch = accountWatch;
    const watcher = libraryWatch;
    let closing: Promise<void> | undefined;
    return {
      port,
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      library,
      firstScan,
      auth,
      streams: liveStreams,
      cache: liveCache,
      feed: liveFeed,
      generatedAdminPassword: firstAdmin.generatedPassword,
      log,
      close(graceMs = 5_000) {
        clearInterval(watch);
        liveFeed.close();
        liveStreams.close();
        // The library's watcher closes first, so it stops asking for scans; the library aborts the one running.
        closing ??= Promise.all([watcher.close(), library.close(), closeGracefully(running, graceMs), liveCache.close(), cacheWatch?.close()]).then(
          () => {
            db.close();
            // The served files' kept handles (app/library/open-files.ts): every response has ended by now.
            void closeIdleOpenFiles();
          },
          (err: unknown) => {
            db.close();
            throw err;
          },
        );
        return closing;
      },
    };
  } catch (err) {
    clearInterval(accountWatch);
    feed?.close();
    streams?.close();
    await cacheWatch?.close();
    await cache?.close();
    server?.close();
    await libraryWatch?.close();
    db.close();
    throw err;
  }
}
