/**
 * The operator's view of the SSD tier: `GET /api/admin/cache`, pin and unpin a video, evict its copy.
 * Mount behind the API-wide guard.
 */
import { Router } from 'express';
import type { Cache, CacheState } from '../../cache/index.ts';
import type { CacheActionWire, CacheWire } from '../../contract/wire.ts';
import type { Library } from '../../library/index.ts';
import type { Clock } from '../../model/clock.ts';
import { requireAdmin } from '../auth-guard.ts';
import { methodNotAllowed } from '../error-middleware.ts';
import { titleOf } from '../views.ts';
import { contentIdParam } from './params.ts';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The tier's state on the wire: snake_case, ISO times, progress with rate and ETA. */
export function cacheView(s: CacheState, library: Library, now: number): CacheWire {
  return {
    budget_bytes: s.budgetBytes,
    reserve_bytes: s.reserveBytes,
    used_bytes: s.usedBytes,
    free_bytes: Math.max(0, s.budgetBytes - s.usedBytes),
    disk_free_bytes: s.diskFreeBytes,
    entries: s.entries.map((e) => ({
      content_id: e.contentId,
      title: titleOf(library, e.contentId),
      kind: e.kind,
      size: e.size,
      source: { size: e.sourceSize, mtime: new Date(e.sourceMtimeMs).toISOString() },
      last_streamed_at: iso(e.lastStreamedAt),
      hits: e.hits,
      pinned: e.pinned,
      streaming: e.streaming,
    })),
    promotions: s.promotions.map((p) => {
      const seconds = p.startedAt === null ? 0 : Math.max(0.001, (now - p.startedAt) / 1000);
      const rate = p.startedAt === null ? null : p.bytesCopied / seconds;
      return {
        content_id: p.contentId,
        title: titleOf(library, p.contentId),
        kind: p.kind,
        reason: p.reason,
        state: p.state,
        bytes_copied: p.bytesCopied,
        bytes_total: p.bytesTotal,
        percent: p.bytesTotal > 0 ? Math.round((p.bytesCopied / p.bytesTotal) * 1000) / 10 : 0,
        rate_bytes_per_second: rate === null ? null : Math.round(rate),
        eta_seconds: rate === null || rate === 0 ? null : Math.round((p.bytesTotal - p.bytesCopied) / rate),
        started_at: iso(p.startedAt),
      };
    }),
    pinned: s.pinned,
  };
}

/** Admin routes of the cache tier. */
export function adminCacheRoutes(library: Library, cache: Cache, clock: Clock): Router {
  const r = Router();
  r.use('/api/admin', requireAdmin);
  r.route('/api/admin/cache')
    .get(async (_req, res) => {
      res.json(cacheView(await cache.state(), library, clock()));
    })
    .all(methodNotAllowed('GET', 'HEAD'));
  r.route('/api/admin/cache/:id/pin')
    .post((req, res) => {
      const id = contentIdParam(req.params.id);
      cache.pin(id);
      res.status(202).json({ content_id: id, pinned: true } satisfies CacheActionWire);
    })
    .delete((req, res) => {
      const id = contentIdParam(req.params.id);
      cache.unpin(id);
      res.json({ content_id: id, pinned: false } satisfies CacheActionWire);
    })
    .all(methodNotAllowed('POST', 'DELETE'));
  r.route('/api/admin/cache/:id')
    .delete((req, res) => {
      const id = contentIdParam(req.params.id);
      cache.evict(id);
      res.json({ content_id: id, evicted: true } satisfies CacheActionWire);
    })
    .all(methodNotAllowed('DELETE'));
  return r;
}
