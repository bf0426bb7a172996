/**
 * What the operator watches: StreamMetrics (v1 §4.3), the alerts of v1 §12.3, and the same figures in
 * Prometheus text format through prom-client. Fed by the event bus and the session manager.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
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

/** Collects stream figures. */
export class StreamMetricsCollector {
  readonly registry = new Registry();
  private readonly errorTimes: number[] = [];
  private lastMissingFile = -Infinity;
  private readonly bytesSent: Counter<'source'>;

  constructor(
    bus: EventBus,
    private readonly sessions: SessionManager,
    private readonly store: SessionStore,
    private readonly clock: Clock,
    private readonly maxStreams: number,
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

  /** Counts bytes sent from a source (the session manager counts per session). */
  countBytes(source: string, n: number): void {
    this.bytesSent.inc({ source }, n);
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
