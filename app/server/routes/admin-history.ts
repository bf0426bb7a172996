/**
 * The operator's history of ended sessions: `GET /api/admin/history` (paged, filtered by user, title and
 * end reason) and `GET /api/admin/history/stats` (plays per day and top titles over 30 days).
 */
import { Router, type Request } from 'express';
import { HISTORY_PAGE_SIZE } from '../../contract/constants.ts';
import type { HistoryPageWire, HistoryStatsWire } from '../../contract/wire.ts';
import { ValidationFailed } from '../../model/errors.ts';
import type { EndReason } from '../../model/stream.ts';
import type { Streams } from '../../stream/index.ts';
import { requireAdmin } from '../auth-guard.ts';
import { methodNotAllowed } from '../error-middleware.ts';

const REASONS: readonly EndReason[] = ['client', 'admin', 'timeout', 'idle', 'replaced', 'server_restart', 'user_disabled'];
const DAY_MS = 86_400_000;
const STATS_DAYS = 30;
const TOP_TITLES = 10;

function text(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || v.length > 64) throw new ValidationFailed(name, 'must be text of at most 64 characters');
  return v;
}

function page(req: Request): number {
  const raw = text(req, 'page') ?? '1';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new ValidationFailed('page', 'must be a whole number from 1');
  return n;
}

function reason(req: Request): EndReason | undefined {
  const r = text(req, 'reason');
  if (r !== undefined && !REASONS.includes(r as EndReason)) throw new ValidationFailed('reason', `one of ${REASONS.join(', ')}`);
  return r as EndReason | undefined;
}

/** The history routes; mount behind the API-wide guard. */
export function adminHistoryRoutes(streams: Streams, now: () => number): Router {
  const r = Router();
  r.use('/api/admin/history', requireAdmin);
  r.route('/api/admin/history')
    .get((req, res) => {
      const p = page(req);
      const { rows, total } = streams.history({ username: text(req, 'user'), title: text(req, 'title'), reason: reason(req) }, HISTORY_PAGE_SIZE, (p - 1) * HISTORY_PAGE_SIZE);
      const body: HistoryPageWire = {
        items: rows.map((s) => ({
          session_id: s.sessionId,
          user: { id: s.userId, username: s.username },
          content: { id: s.contentId, title: s.title },
          source: s.source,
          started_at: new Date(s.startedAt).toISOString(),
          ended_at: new Date(s.endedAt ?? s.lastActivity).toISOString(),
          watch_duration: s.watchDuration,
          bytes_transferred: s.bytesTransferred,
          end_reason: s.endReason,
        })),
        total,
        page: p,
        page_size: HISTORY_PAGE_SIZE,
      };
      res.json(body);
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  r.route('/api/admin/history/stats')
    .get((_req, res) => {
      const since = new Date(now() - (STATS_DAYS - 1) * DAY_MS);
      since.setHours(0, 0, 0, 0);
      const { perDay, top } = streams.playsSince(since.getTime(), TOP_TITLES);
      const body: HistoryStatsWire = {
        plays_per_day: perDay,
        top_titles: top.map((t) => ({ content_id: t.contentId, title: t.title, plays: t.plays })),
      };
      res.json(body);
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  return r;
}
