// Library health: files that do not play, files whose moov sits at the end, rejected sidecars; a rescan.
import { useEffect, useState } from 'preact/hooks';
import type { ContentWire, RescanWire } from '../../../app/contract/index.ts';
import { api } from '../../api/client.ts';

/** The Library health page. */
export function Library() {
  const [items, setItems] = useState<readonly ContentWire[] | null>(null);
  const [scan, setScan] = useState<RescanWire | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const load = (): void => void api.contents().then((r) => setItems(r.items), (e: Error) => setError(e.message));
  useEffect(load, []);

  const rescan = async (): Promise<void> => {
    setBusy(true);
    try {
      setScan(await api.rescan());
      setError('');
      load();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const unplayable = items?.filter((c) => !c.playable) ?? [];
  const slowStart = items?.filter((c) => c.playable && c.faststart === false) ?? [];
  const sidecars = items?.filter((c) => c.sidecar_error !== null) ?? [];
  return (
    <section>
      <h2>Library health</h2>
      <div class="row">
        <button id="rescan" onClick={() => void rescan()} disabled={busy}>{busy ? 'Scanning…' : 'Rescan the library'}</button>
        <span class="muted">{items ? `${items.length} videos, ${unplayable.length} that do not play, ${slowStart.length} slow to start, ${sidecars.length} rejected sidecars` : 'Loading…'}</span>
      </div>
      {scan && <p class="notice" id="scan-report">Scanned {scan.files} files in {scan.duration_ms} ms: {scan.added} added, {scan.updated} updated, {scan.removed} removed.</p>}
      {error && <p class="error-message">{error}</p>}
      <h3>Files that do not play</h3>
      {unplayable.length === 0 ? <p class="empty">Every file is an H.264/AAC MP4 the browser can play.</p> : (
        <ul class="problems" id="unplayable">{unplayable.map((c) => <li key={c.id}><strong>{c.title}</strong> <span class="muted">— {c.unplayable_reason ?? 'not playable'}</span></li>)}</ul>
      )}
      <h3>Slow to start (moov at the end)</h3>
      {slowStart.length === 0 ? <p class="empty">Every playable file starts without reading its end.</p> : (
        <ul class="problems" id="slow-start">
          {slowStart.map((c) => (
            <li key={c.id}><strong>{c.title}</strong><pre>ffmpeg -i "{c.title}.mp4" -c copy -movflags +faststart "{c.title}.faststart.mp4"</pre></li>
          ))}
        </ul>
      )}
      <h3>Rejected hands sidecars</h3>
      {sidecars.length === 0 ? <p class="empty">No sidecar was rejected.</p> : (
        <ul class="problems" id="sidecars">{sidecars.map((c) => <li key={c.id}><strong>{c.title}</strong> <span class="muted">— {c.sidecar_error}</span></li>)}</ul>
      )}
    </section>
  );
}
