// Share: the viewer's address on the LAN, with a QR code for phones.
import { useEffect, useState } from 'preact/hooks';
import QRCode from 'qrcode';
import { api } from '../../api/client.ts';

function Qr({ url }: { readonly url: string }) {
  const [svg, setSvg] = useState('');
  useEffect(() => {
    QRCode.toString(url, { type: 'svg', margin: 1, width: 220, color: { dark: '#111418', light: '#ffffff' } }).then(setSvg, () => setSvg(''));
  }, [url]);
  // The SVG is made here by the qrcode library from our own URL, not taken from the server.
  return <div class="qr" aria-label={`QR code for ${url}`} dangerouslySetInnerHTML={{ __html: svg }} />;
}

/** The Share page. */
export function Share() {
  const [urls, setUrls] = useState<readonly string[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api.share().then((r) => setUrls(r.urls), (e: Error) => setError(e.message));
  }, []);
  return (
    <section>
      <h2>Share</h2>
      <p class="muted">Viewers on the same network open this address (or scan the code with a phone), then log in or register.</p>
      {error && <p class="error-message">{error}</p>}
      {urls && urls.length === 0 && <p class="empty">This machine has no LAN address right now (is it on a network?).</p>}
      <div class="grid">
        {urls?.map((u) => (
          <div class="panel share" key={u}>
            <p><a href={u} class="share-url">{u}</a></p>
            <Qr url={u} />
          </div>
        ))}
      </div>
    </section>
  );
}
