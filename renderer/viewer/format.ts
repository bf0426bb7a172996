// How the viewer writes times: 1:02:03, 4:05.

/** Seconds as h:mm:ss or m:ss; a dash when unknown. */
export function clock(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  const whole = Math.max(0, Math.floor(s));
  const hh = Math.floor(whole / 3600);
  const mm = Math.floor((whole % 3600) / 60);
  const ss = whole % 60;
  return (hh ? `${hh}:${String(mm).padStart(2, '0')}` : String(mm)) + ':' + String(ss).padStart(2, '0');
}

/** The sentence of a failure: the server's envelope message, or the error's own. */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
