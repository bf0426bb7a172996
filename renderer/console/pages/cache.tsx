// Cache: the SSD tier's budget, the copies on the SSD with pin and evict, and promotions as they copy.
import { useEffect, useState } from 'preact/hooks';
import type { CachePromotionWire, CacheWire, ContentWire } from '../../../app/contract/index.ts';
import { api } from '../../api/client.ts';
import { bytes, when } from '../format.ts';

/** How often the page reads the tier's state while it is open (progress of a copy moves every second). */
const REFRESH_MS = 2_000;

/** The Cache page; a finished promotion on the live feed refreshes it at once. */
export function Cache({ promotions }: { readonly promotions: readonly CachePromotionWire[] }) {
  const [cache, setCache] = useState<CacheWire | null>(null);
  const [videos, setVideos] = useState<readonly ContentWire[]>([]);
  const [choice, setChoice] = useState('');
  const [error, setError] = useState('');
  const load = (): void => void api.cache().then(setCache, (e: Error) => setError(e.message));
  useEffect(() => {
    load();
    void api.contents().then((r) => setVideos(r.items), () => undefined);
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  useEffect(load, [promotions.length]);

  const act = async (what: () => Promise<unknown>): Promise<void> => {
    try {
      await what();
      setError('');
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
    load();
  };

  if (!cache) return <section><h2>SSD cache</h2>{error ? <p class="error-message">{error}</p> : <p class="muted">Loading…</p>}</section>;
  const copies = cache.entries.filter((e) => e.kind === 'copy').sort((a, b) => (b.last_streamed_at ?? '').localeCompare(a.last_streamed_at ?? ''));
  const heads = cache.entries.filter((e) => e.kind === 'head');
  const headBytes = heads.reduce((n, e) => n + e.size, 0);
  const usedShare = cache.budget_bytes > 0 ? Math.min(100, (cache.used_bytes / cache.budget_bytes) * 100) : 0;
  const copyable = videos.filter((v) => v.playable && !copies.some((c) => c.content_id === v.id));
  return (
    <section>
      <h2>SSD cache</h2>
      {error && <p class="error-message">{error}</p>}
      <div class="panel" id="cache-budget">
        <div class="meter-label">{bytes(cache.used_bytes)} of {bytes(cache.budget_bytes)} used · {copies.length} whole {copies.length === 1 ? 'video' : 'videos'}, {heads.length} {heads.length === 1 ? 'head' : 'heads'} ({bytes(headBytes)})</div>
        <div class="meter-bar"><span style={{ width: `${usedShare.toFixed(1)}%` }} /></div>
        <p class="muted">{cache.disk_free_bytes === null ? '' : `${bytes(cache.disk_free_bytes)} free on the SSD; `}the tier never takes the last {bytes(cache.reserve_bytes)}.</p>
      </div>

      <h3>Promotions</h3>
      {cache.promotions.filter((p) => p.kind === 'copy').length === 0 ? (
        <p class="empty">No copy is under way.</p>
      ) : (
        <table class="promotions" id="cache-promotions">
          <thead><tr><th>Video</th><th>Why</th><th>Progress</th><th>Rate</th><th>Time left</th></tr></thead>
          <tbody>
            {cache.promotions.filter((p) => p.kind === 'copy').map((p) => (
              <tr key={p.content_id}>
                <td class="title">{p.title ?? p.content_id}</td>
                <td>{p.reason}</td>
                <td>{p.state === 'queued' ? 'queued' : <><div class="meter-bar"><span style={{ width: `${p.percent}%` }} /></div>{p.percent.toFixed(1)} % of {bytes(p.bytes_total)}</>}</td>
                <td>{p.rate_bytes_per_second === null ? '–' : `${bytes(p.rate_bytes_per_second)}/s`}</td>
                <td>{p.eta_seconds === null ? '–' : `${p.eta_seconds} s`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h3>Whole videos on the SSD</h3>
      {copies.length === 0 ? (
        <p class="empty" id="cache-empty">No whole video is on the SSD yet. A video is copied after it was started 3 times in a day, when you pin it, or when a viewer nears the end of the episode before it.</p>
      ) : (
        <table class="copies" id="cache-entries">
          <thead><tr><th>Video</th><th>Size</th><th>Last streamed</th><th>Plays</th><th /></tr></thead>
          <tbody>
            {copies.map((e) => (
              <tr key={e.content_id}>
                <td class="title">{e.title ?? e.content_id}{e.pinned && <span class="badge pinned">pinned</span>}{e.streaming && <span class="badge live">streaming</span>}</td>
                <td>{bytes(e.size)}</td>
                <td>{e.last_streamed_at ? when(e.last_streamed_at) : '–'}</td>
                <td>{e.hits}</td>
                <td class="actions">
                  {e.pinned ? <button onClick={() => void act(() => api.unpin(e.content_id))}>Unpin</button> : <button onClick={() => void act(() => api.pin(e.content_id))}>Pin</button>}
                  <button class="danger" disabled={e.streaming} title={e.streaming ? 'Being streamed: it cannot be evicted now' : ''} onClick={() => void act(() => api.evict(e.content_id))}>Evict</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h3>Pin a video</h3>
      <div class="row">
        <select id="pin-choice" value={choice} onChange={(ev) => setChoice((ev.target as HTMLSelectElement).value)}>
          <option value="">Choose a video…</option>
          {copyable.map((v) => <option key={v.id} value={v.id}>{v.title} ({bytes(v.file_size)})</option>)}
        </select>
        <button id="pin" disabled={choice === ''} onClick={() => void act(() => api.pin(choice)).then(() => setChoice(''))}>Pin and copy now</button>
      </div>
    </section>
  );
}
