// Metrics and alerts: today's figures as cards, the last hour as charts, the v1 §12.3 alerts as a banner.
import { useMemo } from 'preact/hooks';
import type { AlertState, MetricSampleWire, MetricsWire } from '../../../app/contract/index.ts';
import { Chart, type Line } from '../chart.tsx';
import { bitrate, clock, percent } from '../format.ts';

const PALETTE = ['#d4a72c', '#4d9de0', '#e15554', '#3bb273', '#7768ae', '#e1bc29', '#59c3c3', '#f49d6e'];

const ALERT_TEXT: Record<AlertState['name'], (a: AlertState) => string> = {
  active_streams_near_limit: (a) => `Active streams at ${a.value} of the limit (alert from ${a.threshold})`,
  error_burst: (a) => `${a.value} stream errors in the last minute (alert above ${a.threshold})`,
  low_cache_hit_rate: (a) => `Cache hit rate ${percent(a.value)} (alert below ${percent(a.threshold)})`,
  missing_file: () => 'A video file could not be read in the last 10 minutes (check the NAS)',
};

/** The alerts that fire now, as a banner; nothing when none does. */
export function AlertBanner({ metrics }: { readonly metrics: MetricsWire | null }) {
  const firing = metrics?.alerts.filter((a) => a.firing) ?? [];
  if (firing.length === 0) return null;
  return (
    <div class="alert-banner" role="alert">
      {firing.map((a) => (
        <p key={a.name} class={`alert ${a.priority}`}><strong>{a.priority}</strong> {ALERT_TEXT[a.name](a)}</p>
      ))}
    </div>
  );
}

/** The Metrics page. */
export function Metrics({ metrics, history }: { readonly metrics: MetricsWire | null; readonly history: readonly MetricSampleWire[] }) {
  const charts = useMemo(() => {
    const times = history.map((s) => Date.parse(s.t) / 1000);
    const users = [...new Set(history.flatMap((s) => Object.keys(s.per_user_bps)))].sort();
    // Stacked: each user's line is the sum of the users before it and their own.
    const running = history.map(() => 0);
    const stacked: Line[] = users.map((u, i) => ({
      label: u,
      color: PALETTE[i % PALETTE.length]!,
      fill: true,
      values: history.map((s, j) => (running[j]! += (s.per_user_bps[u] ?? 0) / 1e6)),
    }));
    return {
      times,
      active: [{ label: 'active streams', color: PALETTE[0]!, values: history.map((s) => s.active_streams) }],
      bandwidth: stacked.length ? stacked.reverse() : [{ label: 'Mbit/s', color: PALETTE[1]!, values: history.map((s) => s.bandwidth_bps / 1e6) }],
      hit: [{ label: 'cache hit %', color: PALETTE[3]!, values: history.map((s) => (s.cache_hit_rate === null ? null : s.cache_hit_rate * 100)) }],
      errors: [{ label: 'errors / 5 s', color: PALETTE[2]!, values: history.map((s) => s.errors) }],
    };
  }, [history]);

  return (
    <section>
      <h2>Metrics</h2>
      <div class="cards">
        <div class="card-figure" id="card-active"><span class="figure">{metrics?.active_streams ?? '–'}</span><span class="muted">active streams</span></div>
        <div class="card-figure"><span class="figure">{metrics?.total_streams_today ?? '–'}</span><span class="muted">streams today</span></div>
        <div class="card-figure"><span class="figure">{metrics ? bitrate(metrics.bandwidth_mbps * 1e6) : '–'}</span><span class="muted">bandwidth</span></div>
        <div class="card-figure"><span class="figure">{metrics ? percent(metrics.cache_hit_rate) : '–'}</span><span class="muted">cache hit rate</span></div>
        <div class="card-figure"><span class="figure">{metrics ? clock(metrics.avg_session_duration) : '–'}</span><span class="muted">average session</span></div>
      </div>
      {history.length === 0 ? <p class="empty">The first sample arrives within 5 seconds.</p> : (
        <div class="charts">
          <Chart id="chart-active" title="Active streams" times={charts.times} lines={charts.active} />
          <Chart id="chart-bandwidth" title="Bandwidth per user (Mbit/s, stacked)" times={charts.times} lines={charts.bandwidth} format={(v) => v.toFixed(1)} />
          <Chart id="chart-hit" title="Cache hit rate (%)" times={charts.times} lines={charts.hit} />
          <Chart id="chart-errors" title="Errors" times={charts.times} lines={charts.errors} />
        </div>
      )}
    </section>
  );
}
