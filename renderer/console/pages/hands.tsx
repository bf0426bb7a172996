// The hands editor: pick a video, paste or upload its hands as sidecar JSON, save. The server checks the
// document whole (schema and rules) and answers what is wrong, naming the hand; nothing is half-applied.
import { useEffect, useState } from 'preact/hooks';
import type { ContentWire } from '../../../app/contract/index.ts';
import { api } from '../../api/client.ts';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The document the editor shows for a video: its hands in the sidecar's shape. */
const documentOf = (hands: unknown): string => JSON.stringify({ hands }, null, 2);

/** The Hands page. */
export function Hands() {
  const [items, setItems] = useState<readonly ContentWire[] | null>(null);
  const [id, setId] = useState('');
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => void api.contents().then((r) => setItems(r.items), (e: unknown) => setError(message(e))), []);

  const pick = async (next: string): Promise<void> => {
    setId(next);
    setError('');
    setSaved('');
    if (!next) return setText('');
    try {
      setText(documentOf((await api.info(next)).hands));
    } catch (err) {
      setError(message(err));
    }
  };
  const upload = async (input: HTMLInputElement): Promise<void> => {
    const file = input.files?.[0];
    if (file) setText(await file.text());
    input.value = '';
  };
  const save = async (): Promise<void> => {
    setSaved('');
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      return setError(`The text is not JSON: ${message(err)}`);
    }
    setBusy(true);
    try {
      const r = await api.replaceHands(id, doc);
      setError('');
      setText(documentOf(r.hands));
      setSaved(`Saved ${r.hands.length} hands (${r.best_hands_count} best, ${Math.round(r.action_duration)} s of action) to “${r.content.title}”; its sidecar was rewritten.`);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h2>Hands</h2>
      <p class="muted">
        A video’s hands, as in its sidecar: <code>{'{"hands": [{"index": 1, "start": 45, "end": 180, "is_best": false}, …]}'}</code>.
        Times are seconds; hands may not overlap or run past the video.
      </p>
      <div class="row">
        <select id="hands-video" value={id} onChange={(e) => void pick((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">{items ? 'Choose a video…' : 'Loading…'}</option>
          {items?.map((c) => <option value={c.id} key={c.id}>{c.event_title ? `${c.event_title} · ${c.title}` : c.title}</option>)}
        </select>
        <label class="upload">
          Upload JSON <input type="file" id="hands-file" accept="application/json,.json" disabled={!id} onChange={(e) => void upload(e.currentTarget as HTMLInputElement)} />
        </label>
        <button id="hands-save" disabled={!id || busy} onClick={() => void save()}>{busy ? 'Saving…' : 'Save'}</button>
      </div>
      {error && <p class="error-message" role="alert" id="hands-error">{error}</p>}
      {saved && <p class="notice" role="status" id="hands-saved">{saved}</p>}
      <textarea id="hands-json" spellcheck={false} disabled={!id} value={text} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
    </section>
  );
}
