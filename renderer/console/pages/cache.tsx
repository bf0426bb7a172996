// Cache: the SSD tier's state once the server has it; until then, an honest empty state.
import { useEffect, useState } from 'preact/hooks';
import type { CachePromotionWire } from '../../../app/contract/index.ts';
import { api } from '../../api/client.ts';

/** The Cache page. */
export function Cache({ promotions }: { readonly promotions: readonly CachePromotionWire[] }) {
  const [state, setState] = useState<'loading' | 'absent' | 'present'>('loading');
  const [error, setError] = useState('');
  useEffect(() => {
    api.cache().then((c) => setState(c === null ? 'absent' : 'present'), (e: Error) => setError(e.message));
  }, []);
  return (
    <section>
      <h2>SSD cache</h2>
      {error && <p class="error-message">{error}</p>}
      {state === 'absent' && (
        <div class="panel empty" id="cache-empty">
          <p><strong>No SSD cache tier on this server yet.</strong></p>
          <p class="muted">Every stream is read from the NAS library (source NAS on Now playing). When the cache tier is running,
            this page shows its budget, the copies on the SSD with pin and evict, and promotions as they copy.</p>
        </div>
      )}
      {state === 'present' && <p class="muted">The server has an SSD cache tier, but this console does not yet know how to show its budget and entries.</p>}
      {promotions.length > 0 && (
        <>
          <h3>Promotions</h3>
          <ul class="promotions">
            {promotions.map((p) => (
              <li key={p.content_id}>{p.content_id} · {p.state}<div class="meter-bar"><span style={{ width: `${Math.round(p.progress * 100)}%` }} /></div></li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
