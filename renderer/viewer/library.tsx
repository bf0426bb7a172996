// The library: the videos folder by folder (an event per folder), with how far each was watched and,
// where an event has best hands, the link to its best-hands reel.
import { useEffect, useState } from 'preact/hooks';
import type { ContentWire, ProgressWire } from '../../app/contract/index.ts';
import { api } from '../api/client.ts';
import { clock, messageOf } from './format.ts';
import { t } from './i18n.ts';
import { watchUrl } from './router.ts';

interface Shelf {
  readonly items: readonly ContentWire[];
  readonly progress: ReadonlyMap<string, ProgressWire>;
}

/** The videos grouped by event (folder), in the server's (natural) order; loose videos at the root last. */
function byFolder(items: readonly ContentWire[]): [string, ContentWire[]][] {
  const groups = new Map<string, ContentWire[]>();
  for (const c of items) groups.set(c.event_id, [...(groups.get(c.event_id) ?? []), c]);
  return [...groups].sort(([a], [b]) => Number(a === '') - Number(b === ''));
}

function Tile({ c, p }: { readonly c: ContentWire; readonly p: ProgressWire | undefined }) {
  return (
    <a class="tile" href={watchUrl(c.id)} data-content-id={c.id}>
      <span class="title">{c.title}</span>
      <span class="muted">{clock(c.duration_seconds)} · {t('handsCount', { n: c.hands_count })}</span>
      {!c.playable && <span class="error-message">{c.unplayable_reason || t('notPlayable')}</span>}
      {p && (
        <div class="bar" title={t('watched', { p: p.progress_percent })}>
          <span style={{ width: `${p.progress_percent}%` }} />
        </div>
      )}
    </a>
  );
}

/** The library page. */
export function Library() {
  const [shelf, setShelf] = useState<Shelf | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    Promise.all([api.contents(), api.allProgress()]).then(
      ([{ items }, progress]) => setShelf({ items, progress: new Map(progress.items.map((p) => [p.content_id, p])) }),
      (err: unknown) => setError(messageOf(err)),
    );
  }, []);
  if (error) return <p class="error-message" role="alert">{error}</p>;
  if (!shelf) return <p class="muted">{t('loading')}</p>;
  if (shelf.items.length === 0) return <><h2>{t('library')}</h2><p class="muted">{t('libraryEmpty')}</p></>;
  return (
    <>
      <h2>{t('library')}</h2>
      {byFolder(shelf.items).map(([event, items]) => {
        const reelFrom = items.find((c) => c.best_hands_count > 0);
        const title = event ? items[0]?.event_title : t('otherVideos');
        return (
          <section class="folder" data-folder={event} key={event}>
            <div class="folder-head">
              {title && <h3>{title}</h3>}
              {reelFrom && <a class="reel-link" href={watchUrl(reelFrom.id, true)}>{t('bestReel')}</a>}
            </div>
            <div class="grid">{items.map((c) => <Tile c={c} p={shelf.progress.get(c.id)} key={c.id} />)}</div>
          </section>
        );
      })}
    </>
  );
}
