// History: ended sessions from SQLite, paged and filtered, with plays per day and top titles over 30 days.
import { useEffect, useState } from 'preact/hooks';
import type { HistoryPageWire, HistoryStatsWire } from '../../../app/contract/index.ts';
import { api } from '../../api/client.ts';
import { bytes, clock, when } from '../format.ts';

const REASONS = ['', 'client', 'admin', 'timeout', 'idle', 'replaced', 'server_restart', 'user_disabled'];

/** The History page. */
export function History() {
  const [page, setPage] = useState(1);
  const [user, setUser] = useState('');
  const [title, setTitle] = useState('');
  const [reason, setReason] = useState('');
  const [data, setData] = useState<HistoryPageWire | null>(null);
  const [stats, setStats] = useState<HistoryStatsWire | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    api.history({ page, user, title, reason }).then(setData, (e: Error) => setError(e.message));
  }, [page, user, title, reason]);
  useEffect(() => {
    api.historyStats().then(setStats, (e: Error) => setError(e.message));
  }, []);

  const pages = data ? Math.max(1, Math.ceil(data.total / data.page_size)) : 1;
  const maxPlays = Math.max(1, ...(stats?.plays_per_day.map((d) => d.plays) ?? [1]));
  return (
    <section>
      <h2>History</h2>
      {error && <p class="error-message">{error}</p>}
      <div class="grid two">
        <div class="panel">
          <h3>Plays per day (30 days)</h3>
          {stats && stats.plays_per_day.length ? (
            <div class="bars" id="plays-per-day">
              {stats.plays_per_day.map((d) => (
                <div class="bar-col" key={d.day} title={`${d.day}: ${d.plays}`}><span style={{ height: `${(d.plays / maxPlays) * 100}%` }} /><small>{d.day.slice(5)}</small></div>
              ))}
            </div>
          ) : <p class="empty">No plays in the last 30 days.</p>}
        </div>
        <div class="panel">
          <h3>Top titles (30 days)</h3>
          {stats && stats.top_titles.length ? (
            <ol class="top-titles">{stats.top_titles.map((t) => <li key={t.content_id}>{t.title ?? t.content_id} <span class="muted">· {t.plays} plays</span></li>)}</ol>
          ) : <p class="empty">Nothing played yet.</p>}
        </div>
      </div>
      <div class="filters row">
        <input placeholder="User" value={user} onInput={(e) => { setUser(e.currentTarget.value); setPage(1); }} />
        <input placeholder="Title" value={title} onInput={(e) => { setTitle(e.currentTarget.value); setPage(1); }} />
        <select value={reason} onChange={(e) => { setReason(e.currentTarget.value); setPage(1); }}>
          {REASONS.map((r) => <option value={r} key={r}>{r || 'any end reason'}</option>)}
        </select>
      </div>
      {data && data.items.length === 0 ? <p class="empty">No ended sessions match.</p> : (
        <table class="history">
          <thead><tr><th>User</th><th>Title</th><th>Started</th><th>Watched</th><th>Bytes</th><th>Source</th><th>End reason</th></tr></thead>
          <tbody>
            {data?.items.map((s) => (
              <tr key={s.session_id}>
                <td>{s.user.username ?? s.user.id}</td><td>{s.content.title ?? s.content.id}</td><td>{when(s.started_at)}</td>
                <td>{clock(s.watch_duration)}</td><td>{bytes(s.bytes_transferred)}</td><td>{s.source.toUpperCase()}</td><td>{s.end_reason ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="row pager">
        <button disabled={page <= 1} onClick={() => setPage(page - 1)}>◀ Newer</button>
        <span class="muted">page {page} of {pages} · {data?.total ?? 0} sessions</span>
        <button disabled={page >= pages} onClick={() => setPage(page + 1)}>Older ▶</button>
      </div>
    </section>
  );
}
