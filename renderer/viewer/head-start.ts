// The watch page's head start. This file is not a module of the bundle: the build inlines it, types
// stripped, as a classic script at the top of the viewer's HTML (vite.config.ts), so it runs while the
// page's own scripts are still on their way. On a cold load those take a few hundred milliseconds to
// arrive and start, and only then would the page ask the server anything.
//
// On /watch/{id} (not a reel, which plans first) it asks at once what the page will ask first: who is
// logged in, the video's info, a stream session and the saved position. When the session is open it
// makes the <video> element and lets it load (preload only: whether to start elsewhere than 0 is the
// page's decision, once it has the hands). The page takes each answer once, by method and path
// (renderer/api/client.ts) and adopts the element (watch.tsx); the first move to another page drops
// whatever it did not take, and stops the element's loading.
// A failed answer is the page's to show, exactly as if it had asked itself.
//
// It depends on nothing: LANG_KEY and LANG_IDS are defined in front of it by the build, from
// renderer/viewer/lang-key.ts.

declare const LANG_KEY: string;
declare const LANG_IDS: readonly string[];

/** What the head start leaves for the page (window.__wsoptvHeadStart). */
interface HeadStart {
  /** Answers not taken yet, by `METHOD path`. */
  readonly answers: Map<string, Promise<Response>>;
  /** The element loading the session's stream, once the session is open. */
  video: HTMLVideoElement | null;
}

interface Window {
  __wsoptvHeadStart?: HeadStart;
}

(() => {
  const m = /^\/watch\/([A-Za-z0-9_-]{1,64})$/.exec(location.pathname);
  if (!m || new URLSearchParams(location.search).has('reel')) return;
  const id = encodeURIComponent(m[1]!);
  let lang: string | null = null;
  try {
    lang = localStorage.getItem(LANG_KEY);
  } catch {
    // Storage off: the server answers in the browser's language, as the page would.
  }
  const headers: Record<string, string> = lang !== null && LANG_IDS.includes(lang) ? { 'accept-language': lang } : {};
  const hs: HeadStart = { answers: new Map(), video: null };
  const ask = (method: string, path: string, then?: (r: Response) => Promise<void>): void => {
    const p = fetch(path, { method, headers, credentials: 'same-origin' }).then(async (r) => {
      // The head start reads a copy; the page gets the response with its body still unread.
      if (then) await then(r.clone()).catch(() => undefined);
      return r;
    });
    // A failure is seen by whoever takes the answer; one never taken must not be an unhandled rejection.
    p.catch(() => undefined);
    hs.answers.set(`${method} ${path}`, p);
  };
  ask('GET', '/api/auth/me');
  ask('GET', `/api/stream/${id}/info`);
  ask('GET', `/api/progress/${id}`);
  ask('POST', `/api/stream/${id}/start`, async (r) => {
    if (!r.ok) return;
    const url: unknown = ((await r.json()) as { stream_url?: unknown }).stream_url;
    // Only a stream of this server: the page never plays another origin's URL, and neither does this.
    if (typeof url !== 'string' || new URL(url, location.href).origin !== location.origin) return;
    const v = document.createElement('video');
    v.controls = true;
    v.playsInline = true;
    v.preload = 'auto';
    v.src = url;
    // In the document (hidden until the page places it), so that its events reach listeners of the page.
    v.hidden = true;
    (document.body ?? document.documentElement).append(v);
    hs.video = v;
  });
  window.__wsoptvHeadStart = hs;
})();
