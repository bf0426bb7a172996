// The viewer's real URLs: /login, / (the library) and /watch/{content_id}, moved between with the
// history API. The server answers exactly these paths with this page.

/** A page of the viewer. */
export type Route =
  | { readonly page: 'login'; readonly next: string }
  | { readonly page: 'library' }
  | { readonly page: 'watch'; readonly id: string; readonly reel: boolean }
  | { readonly page: 'unknown' };

/** Where a login may send the viewer back to: a path of this site only, never another origin. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}

/** The route a location names. */
export function routeOf(loc: { readonly pathname: string; readonly search: string }): Route {
  const q = new URLSearchParams(loc.search);
  if (loc.pathname === '/') return { page: 'library' };
  if (loc.pathname === '/login') return { page: 'login', next: safeNext(q.get('next')) };
  const m = /^\/watch\/([A-Za-z0-9_-]{1,64})$/.exec(loc.pathname);
  if (m) return { page: 'watch', id: m[1]!, reel: q.get('reel') === '1' };
  return { page: 'unknown' };
}

/** The URL of a video's watch page, or of the best-hands reel from it. */
export const watchUrl = (id: string, reel = false): string => `/watch/${encodeURIComponent(id)}${reel ? '?reel=1' : ''}`;

/** The login page that comes back to `path` afterwards. */
export const loginUrl = (path: string): string => (path === '/' ? '/login' : `/login?next=${encodeURIComponent(path)}`);

const listeners = new Set<() => void>();

/** Moves to `url` without reloading; `replace` keeps the history from growing (redirects). */
export function navigate(url: string, opts: { readonly replace?: boolean; readonly state?: unknown } = {}): void {
  if (opts.replace) history.replaceState(opts.state ?? null, '', url);
  else history.pushState(opts.state ?? null, '', url);
  for (const l of listeners) l();
}

/** Calls `fn` on every move, by navigate() or the browser's back and forward; returns the unsubscribe. */
export function onNavigate(fn: () => void): () => void {
  listeners.add(fn);
  window.addEventListener('popstate', fn);
  return () => {
    listeners.delete(fn);
    window.removeEventListener('popstate', fn);
  };
}

/** Same-origin links of the viewer move in the page; the console and new-tab clicks load normally. */
export function interceptLinks(root: HTMLElement): void {
  root.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest('a');
    if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
    if (routeOf(a).page === 'unknown') return;
    e.preventDefault();
    navigate(a.pathname + a.search);
  });
}
