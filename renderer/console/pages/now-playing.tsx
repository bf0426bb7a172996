// Now playing: every active stream, live, with an End stream button that asks for a reason.
import { useState } from 'preact/hooks';
import type { ActiveStreamWire } from '../../../app/contract/index.ts';
import { END_NOTE_MAX } from '../../../app/contract/index.ts';
import { api } from '../../api/client.ts';
import { bitrate, bufferHealth, bytes, clock } from '../format.ts';

const MODES = { all: 'everything', skip: 'skip dead time', best: 'best hands' } as const;

function handText(s: ActiveStreamWire): string {
  if (!s.hand) return 'no hands';
  return s.hand.index === null ? `between hands (${s.hand.count})` : `hand ${s.hand.index} / ${s.hand.count}`;
}

function healthTitle(s: ActiveStreamWire): string {
  const q = s.qoe;
  const parts = [
    q.ttff_ms !== undefined ? `first frame ${q.ttff_ms} ms` : null,
    q.stall_count !== undefined ? `${q.stall_count} stalls` : null,
    q.buffer_ahead_s !== undefined ? `${q.buffer_ahead_s} s buffered` : null,
    q.seek_ms !== undefined ? `seek ${q.seek_ms} ms` : null,
  ].filter((x) => x !== null);
  return parts.length ? parts.join(' · ') : 'no heartbeat yet';
}

/** The Now playing page. */
export function NowPlaying({ streams, now }: { readonly streams: readonly ActiveStreamWire[]; readonly now: number }) {
  const [ending, setEnding] = useState<ActiveStreamWire | null>(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState('');

  const confirm = async (): Promise<void> => {
    if (!ending) return;
    try {
      await api.endStream(ending.session_id, reason.trim());
      setEnding(null);
      setReason('');
      setError('');
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <section>
      <h2>Now playing <span class="muted">({streams.length})</span></h2>
      {streams.length === 0 ? (
        <p class="empty">Nothing is playing right now. Streams appear here the moment a viewer presses play.</p>
      ) : (
        <table class="streams">
          <thead>
            <tr>
              <th>User</th><th>Title</th><th>Source</th><th>State</th><th>Position</th><th>Hand</th><th>Mode</th><th>Rate</th><th>Sent</th><th>Duration</th><th>Buffer</th><th />
            </tr>
          </thead>
          <tbody>
            {streams.map((s) => {
              const health = bufferHealth(s.qoe, s.state);
              return (
                <tr class="stream" data-session-id={s.session_id} key={s.session_id}>
                  <td class="user">{s.user.username ?? s.user.id}</td>
                  <td class="title">{s.content.title ?? s.content.id}</td>
                  <td><span class={`source ${s.source}`}>{s.source.toUpperCase()}</span></td>
                  <td class="state">{s.stale ? 'stale' : s.state}</td>
                  <td class="position">{clock(s.position)} / {clock(s.content.duration_seconds)}</td>
                  <td class="hand">{handText(s)}</td>
                  <td class="mode">{s.mode ? MODES[s.mode] : '–'}</td>
                  <td class="rate" data-bps={s.rate_bps}>{bitrate(s.rate_bps)}</td>
                  <td>{bytes(s.bytes_transferred)}</td>
                  <td>{clock((now - Date.parse(s.started_at)) / 1000)}</td>
                  <td><span class={`health ${health}`} title={healthTitle(s)}>{health}</span></td>
                  <td><button class="end-stream danger" onClick={() => setEnding(s)}>End stream</button></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {ending && (
        <div class="dialog" role="dialog" aria-label="End stream">
          <div class="panel">
            <h3>End {ending.user.username}’s stream of “{ending.content.title}”?</h3>
            <p class="muted">The viewer’s page shows your reason; their position is saved.</p>
            <input id="end-reason" maxLength={END_NOTE_MAX} placeholder="Reason shown to the viewer" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
            {error && <p class="error-message">{error}</p>}
            <div class="row">
              <button id="end-confirm" class="danger" onClick={() => void confirm()}>End stream</button>
              <button onClick={() => setEnding(null)}>Cancel</button>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}
