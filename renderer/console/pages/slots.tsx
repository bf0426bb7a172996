// Slots: the server's and each user's meter, who holds each slot, and the last refused starts.
import type { SlotsWire } from '../../../app/contract/index.ts';
import { clock, when } from '../format.ts';

function Meter({ used, limit, label }: { readonly used: number; readonly limit: number; readonly label: string }) {
  const ratio = limit === 0 ? 0 : used / limit;
  return (
    <div class="meter" data-label={label}>
      <div class="meter-head"><span>{label}</span><span class="meter-count">{used} / {limit}</span></div>
      <div class="meter-bar"><span class={ratio >= 1 ? 'full' : ratio >= 0.9 ? 'near' : ''} style={{ width: `${Math.min(100, ratio * 100)}%` }} /></div>
    </div>
  );
}

/** The Slots page. */
export function Slots({ slots }: { readonly slots: SlotsWire | null }) {
  if (!slots) return <p class="muted">Waiting for the server…</p>;
  return (
    <section>
      <h2>Slots</h2>
      <div class="panel"><Meter label="Server" used={slots.server.used} limit={slots.server.limit} /></div>
      <h3>Per user</h3>
      {slots.users.length === 0 ? <p class="empty">No user holds a slot.</p> : (
        <div class="grid">
          {slots.users.map((u) => (
            <div class="panel slot-user" key={u.user_id}>
              <Meter label={u.username ?? u.user_id} used={u.used} limit={slots.per_user_limit} />
              <ul>
                {u.sessions.map((s) => (
                  <li key={s.session_id}>{s.title ?? '?'} · {s.state}{s.paused_seconds !== null ? ` for ${clock(s.paused_seconds)}` : ''}</li>
                ))}
              </ul>
            </div>
          ))}
        </div>
      )}
      <h3>Refused starts</h3>
      {slots.refused.length === 0 ? <p class="empty">No start has been refused since the server started.</p> : (
        <table class="refused">
          <thead><tr><th>When</th><th>User</th><th>Title</th><th>Limit</th></tr></thead>
          <tbody>
            {slots.refused.map((r) => (
              <tr key={r.at + r.user_id}>
                <td>{when(r.at)}</td><td>{r.username ?? r.user_id}</td><td>{r.title ?? r.content_id}</td>
                <td>{r.scope === 'user' ? `user limit ${r.current} / ${r.limit}` : `server limit ${r.current} / ${r.limit}`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
