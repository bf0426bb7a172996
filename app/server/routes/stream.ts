/**
 * The video bytes and their description: `GET|HEAD /api/stream/{id}` and `GET /api/stream/{id}/info`.
 *
 * The bytes route has its own guard. A request that carries `?session=` is decided by that session
 * alone (a 128-bit capability bound to one user and one video), so a `<video src>` or a player such as
 * VLC needs no header, and a stale cookie beside a good session does not break playback. Without it,
 * a Bearer token or the login cookie is needed, and the request joins or opens that user's session.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router } from 'express';
import type { Logger } from 'pino';
import type { Auth } from '../../auth/index.ts';
import type { Cache } from '../../cache/index.ts';
import type { Library } from '../../library/index.ts';
import { DomainError } from '../../model/errors.ts';
import type { RangeTicket, Streams } from '../../stream/index.ts';
import type { Sendfile } from '../../stream/sendfile.ts';
import { bearerSource, cookieSource, resolvePrincipal, type CredentialSource } from '../auth-guard.ts';
import { methodNotAllowed } from '../error-middleware.ts';
import { sendVideo } from '../send-video.ts';
import { streamInfoView } from '../views.ts';
import { contentIdParam, SESSION_ID } from './params.ts';

/** The `?session=` capability as a credential source. */
export function sessionSource(auth: Auth, streams: Streams): CredentialSource {
  return async (req) => {
    const raw = req.query.session;
    if (raw === undefined) return { present: false };
    const sid = typeof raw === 'string' && SESSION_ID.test(raw) ? raw : undefined;
    const owner = sid === undefined ? undefined : streams.ownerOf(sid);
    const user = owner === undefined ? undefined : auth.getUser(owner);
    return { present: true, principal: user && sid ? { user, via: 'session', sessionId: sid } : null };
  };
}

/** Answers `GET|HEAD /api/stream/{id}` once the id is taken from the path; rejects with the error to answer. */
export type StreamBytesHandler = (req: IncomingMessage, res: ServerResponse, rawId: unknown, query: Readonly<Record<string, unknown>>) => Promise<void>;

/**
 * The bytes route itself, for both ways in: the fast path ahead of Express and the Express route below.
 * What can be built once (the credential sources) is built here, once.
 */
export function streamBytesHandler(cache: Cache, streams: Streams, auth: Auth, log: Logger, sendfile: Sendfile | null): StreamBytesHandler {
  // The session capability when given, else a user's token or cookie.
  const withSession = [sessionSource(auth, streams)];
  const withUser = [bearerSource(auth), cookieSource(auth)];
  return async (req, res, rawId, query) => {
    const p = await resolvePrincipal(query.session !== undefined ? withSession : withUser, { headers: req.headers, query });
    if (res.destroyed) return; // the client hung up while the guard ran: nothing to admit, nothing to open
    const id = contentIdParam(rawId);
    const t0 = performance.now();
    const file = await cache.getStreamPath(id).catch((err: unknown) => {
      if (err instanceof DomainError && err.code === 'STREAM_FILE_UNAVAILABLE') streams.reportError(err, id, p.user.id, p.sessionId ?? null);
      throw err;
    });
    let ticket: RangeTicket | undefined;
    let firstByte = true;
    // While this response reads an SSD copy or head, the tier does not evict it.
    const release = cache.lease(id, file.source === 'ssd' ? 'copy' : 'head');
    try {
      await sendVideo(req, res, id, file, {
        sendfile,
        // Limits are enforced here, before any byte is sent: an ended session or a full server stops now.
        admit: () => {
          const t = p.sessionId ? streams.rangeBySession(p.sessionId, id, file.source) : streams.rangeByUser(p.user.id, id, file.source);
          ticket = t;
          // If the session ends (an admin, a disabled user) while this response runs, cut it at once.
          t.onCut(() => res.destroy());
        },
        onBytes: (n) => {
          if (firstByte) {
            firstByte = false;
            streams.recordTtfb(file.source, performance.now() - t0);
          }
          ticket?.addBytes(n);
        },
        onDone: (o) => {
          release();
          ticket?.done();
          // The line is built only when someone reads it: at the default level this is the hot path.
          if (!log.isLevelEnabled('debug')) return;
          log.debug(
            { action: 'stream_request', content_id: id, session_id: ticket?.sessionId ?? p.sessionId ?? null, source: file.source, status: o.status, range: req.headers.range, bytes: o.bytesSent, aborted: o.aborted, ms: Math.round(performance.now() - t0) },
            'stream request',
          );
        },
      });
    } catch (err) {
      if (err instanceof DomainError && err.code === 'STREAM_FILE_UNAVAILABLE') streams.reportError(err, id, p.user.id, ticket?.sessionId ?? p.sessionId ?? null);
      throw err;
    }
  };
}

/**
 * `GET|HEAD /api/stream/{id}` through Express: mount before the API-wide guard, it brings its own. The
 * fast path (stream-fast-path.ts) answers the usual form of this URL before Express sees it; this route
 * answers the rest (a trailing slash, a percent-encoded id, other methods) with the same handler.
 */
export function streamBytesRoutes(bytes: StreamBytesHandler): Router {
  const r = Router();
  r.route('/api/stream/:id')
    .get((req, res) => bytes(req, res, req.params.id, req.query))
    .all(methodNotAllowed('GET', 'HEAD'));
  return r;
}

/** `GET /api/stream/{id}/info`: mount behind the API-wide guard. */
export function streamInfoRoutes(library: Library, cache: Cache): Router {
  const r = Router();
  r.route('/api/stream/:id/info')
    .get(async (req, res) => {
      const id = contentIdParam(req.params.id);
      const content = library.getContent(id);
      const { source } = await cache.getStreamPath(id, { recheck: true });
      res.json(streamInfoView(content, source));
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  return r;
}
