/**
 * What the operator watches: StreamMetrics (v1 §4.3), the alerts of v1 §12.3, and the same figures in
 * Prometheus text format through prom-client. Fed by the event bus and the session manager.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheStats } from '../cache/index.ts';
import type { Clock } from '../model/clock.ts';
import type { AlertState, StreamMetrics } from '../model/stream.ts';
import type { SessionStore } from '../persistence/session-store.ts';
import type { EventBus } from './events.ts';
import type { SessionManager } from './sessions.ts';

/** Alert thresholds of v1 §12.3. */
export const ALERTS = {
  nearLimitRatio: 0.9,
  errorsPerMinute: 10,
  minCacheHitRate: 0.4,
  missingFileWindowMs: 10 * 60_000,
} as const;

/** The SSD tier's figures in /api/admin/metrics (snake_case, as on the wire). */
export interface CacheMetrics {
  /** SSD-served bytes over all bytes since start-up, 0-1; null before any byte. */
  readonly hit_rate_bytes: number | null;
  readonly used_bytes: number;
  readonly budget_bytes: number;
  readonly copies: number;
  readonly heads: number;
  readonly promotions: Readonly<Record<string, number>>;
  readonly promotion_failures: number;
  readonly evictions: Readonly<Record<string, number>>;
  /** Average copy rate of finished copies, MB/s; null before any. */
  readonly copy_mb_per_second: number | null;
  /** Median time to first byte of range requests by source, ms; null before any. */
  readonly ttfb_p50_ms: Readonly<Record<'ssd' | 'nas', number | null>>;
}

/** Collects stream figures. */
export class StreamMetricsCollector {
  readonly registry = new Registry();
  private readonly errorTimes: number[] = [];
  private lastMissingFile = -Infinity;
  private readonly bytesSent: Counter<'source'>;
  private readonly bytesBySource = { ssd: 0, nas: 0 };
  private readonly ttfb: Histogram<'source'>;
  /** Recent TTFB samples per source, for the median in the JSON view. */
  private readonly ttfbRecent: Record<'ssd' | 'nas', number[]> = { ssd: [], nas: [] };

  constructor(
    bus: EventBus,
    private readonly sessions: SessionManager,
    private readonly store: SessionStore,
    private readonly clock: Clock,
    private readonly maxStreams: number,
    private readonly cacheStats: () => CacheStats,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'wsoptv_' });
    const startedTotal = new Counter({ name: 'wsoptv_streams_total', help: 'Stream sessions started.', labelNames: ['source'] as const, registers });
    const errors = new Counter({ name: 'wsoptv_stream_errors_total', help: 'Stream errors by code.', labelNames: ['code'] as const, registers });
    this.bytesSent = new Counter({ name: 'wsoptv_bytes_sent_total', help: 'Video bytes written to sockets.', labelNames: ['source'] as const, registers });
    const duration = new Histogram({
      name: 'wsoptv_session_duration_seconds',
      help: 'Watch duration of ended sessions.',
      buckets: [10, 60, 300, 900, 1800, 3600, 7200, 10800],
      registers,
    });
    new Gauge({
      name: 'wsoptv_active_streams',
      help: 'Active stream sessions.',
      registers,
      collect() {
        this.set(sessions.activeCount);
      },
    });
    new Gauge({ name: 'wsoptv_max_streams', help: 'Server-wide stream limit.', registers }).set(maxStreams);
    const self = this;
    new Gauge({
      name: 'wsoptv_cache_hit_rate',
      help: 'Share of today’s streams served from the SSD cache (0-1).',
      registers,
      collect() {
        this.set(self.metrics().cache_hit_rate ?? 0);
      },
    });
    new Gauge({
      name: 'wsoptv_bandwidth_bytes_per_second',
      help: 'Video bytes per second over the last 10 s.',
      registers,
      collect() {
        this.set(sessions.serverRate.bytesPerSecond(clock()));
      },
    });

    this.ttfb = new Histogram({
      name: 'wsoptv_ttfb_seconds',
      help: 'Time from a range request to its first body byte, by source.',
      labelNames: ['source'] as const,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const cacheGauge = (name: string, help: string, read: (s: CacheStats) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(cacheStats()));
        },
      });
    };
    cacheGauge('wsoptv_cache_used_bytes', 'Bytes held by the SSD tier.', (c) => c.usedBytes);
    cacheGauge('wsoptv_cache_budget_bytes', 'Byte budget of the SSD tier.', (c) => c.budgetBytes);
    cacheGauge('wsoptv_cache_copies', 'Whole videos on the SSD.', (c) => c.copies);
    cacheGauge('wsoptv_cache_copied_bytes', 'Bytes copied NAS to SSD by finished copies.', (c) => c.copiedBytes);
    cacheGauge('wsoptv_cache_copy_bytes_per_second', 'Average rate of finished copies NAS to SSD.', (c) => (c.copySeconds > 0 ? c.copiedBytes / c.copySeconds : 0));
    const labelled = (name: string, help: string, label: string, read: (s: CacheStats) => Readonly<Record<string, number>>): void => {
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers,
        collect() {
          for (const [k, v] of Object.entries(read(cacheStats()))) this.set({ [label]: k }, v);
        },
      });
    };
    labelled('wsoptv_cache_promotions', 'Copies placed on the SSD, by reason.', 'reason', (c) => c.promotions);
    labelled('wsoptv_cache_evictions', 'Entries removed from the SSD, by reason.', 'reason', (c) => c.evictions);
    new Gauge({
      name: 'wsoptv_cache_hit_rate_bytes',
      help: 'Share of video bytes served from the SSD since start-up (0-1).',
      registers,
      collect() {
        this.set(self.cacheMetrics().hit_rate_bytes ?? 0);
      },
    });

    bus.on('stream.started', (e) => startedTotal.inc({ source: e.source }));
    bus.on('stream.ended', (e) => duration.observe(e.watch_duration));
    bus.on('stream.error', (e) => {
      errors.inc({ code: e.error_code });
      const now = this.clock();
      this.errorTimes.push(now);
      if (e.error_code === 'STREAM_FILE_UNAVAILABLE') this.lastMissingFile = now;
      while (this.errorTimes.length > 0 && this.errorTimes[0]! < now - 60_000) this.errorTimes.shift();
    });
  }

  /** Records a range request's time to first byte. */
  observeTtfb(source: 'ssd' | 'nas', ms: number): void {
    this.ttfb.observe({ source }, ms / 1000);
    const list = this.ttfbRecent[source];
    list.push(ms);
    if (list.length > 512) list.splice(0, list.length - 512);
  }

  /** The SSD tier's figures. */
  cacheMetrics(): CacheMetrics {
    const c = this.cacheStats();
    const total = this.bytesBySource.ssd + this.bytesBySource.nas;
    const median = (xs: readonly number[]): number | null => {
      if (xs.length === 0) return null;
      const s = [...xs].sort((a, b) => a - b);
      return Math.round(s[Math.floor(s.length / 2)]! * 100) / 100;
    };
    return {
      hit_rate_bytes: total === 0 ? null : Math.round((this.bytesBySource.ssd / total) * 1000) / 1000,
      used_bytes: c.usedBytes,
      budget_bytes: c.budgetBytes,
      copies: c.copies,
      heads: c.heads,
      promotions: c.promotions,
      promotion_failures: c.promotionFailures,
      evictions: c.evictions,
      copy_mb_per_second: c.copySeconds > 0 ? Math.round((c.copiedBytes / c.copySeconds / 1e6) * 10) / 10 : null,
      ttfb_p50_ms: { ssd: median(this.ttfbRecent.ssd), nas: median(this.ttfbRecent.nas) },
    };
  }

  /** Counts bytes sent from a source (the session manager counts per session). */
  countBytes(source: 'ssd' | 'nas', n: number): void {
    this.bytesSent.inc({ source }, n);
    this.bytesBySource[source] += n;
  }

  /** StreamMetrics for today (local midnight onwards). */
  metrics(): StreamMetrics {
    const now = this.clock();
    const midnight = new Date(now);
    midnight.setHours(0, 0, 0, 0);
    const today = this.store.statsSince(midnight.getTime());
    return {
      active_streams: this.sessions.activeCount,
      total_streams_today: today.started,
      bandwidth_mbps: Math.round((this.sessions.serverRate.bytesPerSecond(now) * 8) / 10_000) / 100,
      cache_hit_rate: today.started === 0 ? null : Math.round((today.ssdStarts / today.started) * 1000) / 1000,
      avg_session_duration: Math.round(today.avgWatchDuration * 10) / 10,
    };
  }

  /** The v1 §12.3 alerts and whether each fires now. */
  alerts(m: StreamMetrics = this.metrics()): AlertState[] {
    const now = this.clock();
    const recentErrors = this.errorTimes.filter((t) => t >= now - 60_000).length;
    const nearLimit = Math.ceil(this.maxStreams * ALERTS.nearLimitRatio);
    return [
      { name: 'active_streams_near_limit', priority: 'P1', firing: m.active_streams >= nearLimit, value: m.active_streams, threshold: nearLimit },
      { name: 'error_burst', priority: 'P0', firing: recentErrors > ALERTS.errorsPerMinute, value: recentErrors, threshold: ALERTS.errorsPerMinute },
      {
        name: 'low_cache_hit_rate',
        priority: 'P2',
        firing: m.cache_hit_rate !== null && m.cache_hit_rate < ALERTS.minCacheHitRate,
        value: m.cache_hit_rate,
        threshold: ALERTS.minCacheHitRate,
      },
      { name: 'missing_file', priority: 'P0', firing: now - this.lastMissingFile < ALERTS.missingFileWindowMs, value: null, threshold: 1 },
    ];
  }

  /** Prometheus text exposition. */
  async prometheusText(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
