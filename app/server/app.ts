/**
 * The Express application: routes on top of the modules, the static web UIs, and the error envelope
 * for everything else. The HTTP layer is the only part of the server that imports Express.
 */
import type { RequestListener } from 'node:http';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Auth } from '../auth/index.ts';
import type { Cache } from '../cache/index.ts';
import type { Library } from '../library/index.ts';
import type { Clock } from '../model/clock.ts';
import type { Streams } from '../stream/index.ts';
import { authenticate, bearerSource, cookieSource } from './auth-guard.ts';
import { errorMiddleware, notFound } from './error-middleware.ts';
import { cors, securityHeaders } from './headers.ts';
import { sameOriginGuard } from './same-origin.ts';
import { adminCacheRoutes } from './routes/admin-cache.ts';
import { adminHandsRoutes } from './routes/admin-hands.ts';
import type { ConsoleFeed } from './console-feed.ts';
import { adminEventRoutes } from './routes/admin-events.ts';
import { adminHistoryRoutes } from './routes/admin-history.ts';
import { adminLibraryRoutes } from './routes/admin-library.ts';
import { adminShareRoutes } from './routes/admin-share.ts';
import { adminStreamRoutes, prometheusRoutes } from './routes/admin-streams.ts';
import { publicAuthRoutes, userRoutes } from './routes/auth.ts';
import { contentRoutes } from './routes/contents.ts';
import { healthRoutes } from './routes/health.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { streamBytesHandler, streamBytesRoutes, streamInfoRoutes, type StreamBytesHandler } from './routes/stream.ts';
import { streamFastPath } from './stream-fast-path.ts';
import { webUiRoutes } from './web-ui.ts';
import type { Sendfile } from '../stream/sendfile.ts';

/** What the HTTP layer needs from the rest of the server. */
export interface HttpDeps {
  readonly library: Library;
  readonly cache: Cache;
  readonly auth: Auth;
  readonly streams: Streams;
  readonly log: Logger;
  readonly version: string;
  /** Folder of the built web UIs (renderer/dist). */
  readonly webRoot: string;
  readonly corsOrigins: readonly string[];
  /** Applies account changes to live streams (a disabled user's sessions end); called after each change made here. */
  readonly onAccountsChanged: () => void;
  /** The clock of timeouts and progress figures. */
  readonly clock: Clock;
  /** The console's live feed. */
  readonly feed: ConsoleFeed;
  /** The address the server listens on, for the viewer URLs the console shares. */
  readonly listenHost: string;
  /** How stream bodies leave: the sendfile addon (compose.ts decides), or null to read and write them. */
  readonly sendfile: Sendfile | null;
}

/** The hands editing path, below /api. */
const HANDS_PATH = /^\/admin\/contents\/[^/]+\/hands$/;

/**
 * The server's request listener: the stream bytes' fast path first, then the Express application. Both
 * answer the bytes with one handler, built once here.
 */
export function createHttpHandler(deps: HttpDeps): RequestListener {
  const bytes = streamBytesHandler(deps.cache, deps.streams, deps.auth, deps.log, deps.sendfile);
  const app = createHttpApp(deps, bytes);
  const fast = streamFastPath(bytes, deps.corsOrigins, deps.log);
  return (req, res) => {
    if (!fast(req, res)) app(req, res);
  };
}

/** Builds the Express application; `bytes` answers the stream route (the fast path's handler). */
export function createHttpApp(deps: HttpDeps, bytes: StreamBytesHandler): Express {
  const { library, cache, auth, streams, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // JSON answers are small and live; video answers set their own strong ETag
  app.set('query parser', 'simple');
  app.use(securityHeaders);
  app.use(cors(deps.corsOrigins));
  // Before any route acts: a state-changing request must come from this server's own pages (CSRF).
  app.use('/api', sameOriginGuard(deps.corsOrigins));
  // Only requests that can carry a body pay for the JSON parser: range requests are the hot path.
  const json = express.json({ limit: '64kb' });
  // A hands document may list up to 10,000 hands (about half a megabyte): its route alone takes more.
  const handsJson = express.json({ limit: '1mb' });
  app.use('/api', (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    return (HANDS_PATH.test(req.path) ? handsJson : json)(req, res, next);
  });

  // Open to anyone.
  app.use(healthRoutes(library, deps.version, Date.now()));
  app.use(publicAuthRoutes(auth, () => deps.feed.usersChanged()));
  app.use(prometheusRoutes(streams));

  // The video bytes bring their own guard: a session capability, a token or the cookie.
  app.use(streamBytesRoutes(bytes));

  // Everything else under /api needs an active user: a Bearer token or the login cookie.
  app.use('/api', authenticate([bearerSource(auth), cookieSource(auth)]));
  app.use(userRoutes(auth, () => deps.onAccountsChanged()));
  app.use(contentRoutes(library));
  app.use(streamInfoRoutes(library, cache));
  app.use(sessionRoutes(library, streams));
  app.use(adminStreamRoutes(library, auth, streams));
  app.use(adminCacheRoutes(library, cache, deps.clock));
  app.use(adminHandsRoutes(library));
  app.use(adminEventRoutes(deps.feed));
  app.use(adminHistoryRoutes(streams, Date.now));
  app.use(adminLibraryRoutes(library));
  app.use(adminShareRoutes(deps.listenHost));
  app.use('/api', notFound);

  app.use(webUiRoutes(deps.webRoot));
  app.use(notFound);
  app.use(errorMiddleware(log));
  return app;
}
