// Small formatting and rating rules of the console, free of the DOM.
import type { PlayerState, Qoe } from '../../app/contract/index.ts';

/** Seconds as h:mm:ss or m:ss. */
export function clock(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  const t = Math.max(0, Math.floor(s));
  const hh = Math.floor(t / 3600), mm = Math.floor((t % 3600) / 60), ss = t % 60;
  return (hh ? `${hh}:${String(mm).padStart(2, '0')}` : String(mm)) + ':' + String(ss).padStart(2, '0');
}

/** Bits per second, human-sized. */
export function bitrate(bps: number): string {
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbit/s`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(0)} kbit/s`;
  return `${bps} bit/s`;
}

/** Bytes, human-sized. */
export function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(0)} KiB`;
  return `${n} B`;
}

/** A 0-1 rate as a percentage, or a dash. */
export function percent(r: number | null): string {
  return r === null ? '–' : `${Math.round(r * 100)} %`;
}

/** An ISO time as local date and time. */
export function when(iso: string): string {
  return new Date(iso).toLocaleString();
}

/** How a stream's buffer is doing, from what the player reported. */
export type Health = 'green' | 'amber' | 'red' | 'unknown';

/**
 * Rates a stream's buffer health. Red: the viewer is suffering now (3+ stalls, under 2 s buffered while
 * playing, a first frame after 5 s, a seek over 2 s). Amber: early signs (a stall, under 5 s buffered,
 * first frame after 2 s, a seek over 800 ms). Unknown until the first heartbeat reports anything.
 */
export function bufferHealth(qoe: Qoe, state: PlayerState): Health {
  const { ttff_ms, stall_count, seek_ms, buffer_ahead_s } = qoe;
  if (ttff_ms === undefined && stall_count === undefined && buffer_ahead_s === undefined) return 'unknown';
  const playing = state === 'playing';
  const buffer = playing && buffer_ahead_s !== undefined ? buffer_ahead_s : Infinity;
  if ((stall_count ?? 0) >= 3 || buffer < 2 || (ttff_ms ?? 0) > 5000 || (seek_ms ?? 0) > 2000) return 'red';
  if ((stall_count ?? 0) >= 1 || buffer < 5 || (ttff_ms ?? 0) > 2000 || (seek_ms ?? 0) > 800) return 'amber';
  return 'green';
}
