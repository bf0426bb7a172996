/**
 * The server of the time-to-first-frame bench, run as a child process of bench/ttff.ts. In the bench's
 * own process it shared one event loop with Playwright, whose protocol traffic (an event for every
 * request and response of the page) could hold up the server's answers; a viewer's server runs on its
 * own box, and here it runs in its own process at least.
 *
 * It is the composition root's server, with its NAS opener wrapped by bench/slow-nas.ts. The parent
 * drives it over IPC, one request at a time or several, each answered by its id:
 *   {id, op: 'start', setup}            → {url, contents}    (the server is up, its first scan done)
 *   {id, op: 'heads', ids}              → largest head size  (waits until each id has its head on the SSD)
 *   {id, op: 'user', username, password}→ null               (a viewer account)
 *   {id, op: 'sleep' | 'wake' | 'clear'}→ null               (the NAS, see SlowNas; clear also forgets the requests)
 *   {id, op: 'log'}                     → RunLog             (the NAS's opens, when each file woke, and the
 *                                                             server's own time for each request)
 *   {id, op: 'close'}                   → null, then exits
 * Times cross the process boundary as epoch milliseconds (performance.timeOrigin + performance.now()).
 * A request's own time is read from Node's http diagnostics channels: from the request's arrival to the
 * end of its response, so that the bench can tell the server's share of a start from the browser's.
 * The child exits when the parent goes.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startServer, type RunningServer } from '../app/compose.ts';
import { loadConfig } from '../app/config/config.ts';
import { createLogger } from '../app/log.ts';
import { sleep } from './procs.ts';
import { SlowNas } from './slow-nas.ts';

/** What the server is started with. */
export interface TtffServerSetup {
  readonly libraryDir: string;
  readonly dataDir: string;
  /** Extra command-line flags (e.g. `--head-bytes 0`). */
  readonly flags: readonly string[];
  readonly spinUpMs: number;
  readonly idleSleepMs: number | null;
  readonly adminPassword: string;
}

/** A catalogued file as the bench needs it. */
export interface TtffContent {
  readonly id: string;
  readonly relPath: string;
  readonly playable: boolean;
  readonly unplayableReason: string | null;
  readonly faststart: boolean | null;
}

/** One request as the server saw it: when it came (epoch ms) and how long until its response ended. */
export interface ServedRequest {
  readonly method: string;
  readonly url: string;
  readonly at: number;
  readonly ms: number;
}

/** The NAS as the bench reads it: every open since the last clear, when each file woke (epoch ms), and the requests served. */
export interface RunLog {
  readonly opens: readonly { readonly file: string; readonly at: number; readonly waitedMs: number }[];
  readonly awakeAt: Readonly<Record<string, number>>;
  readonly served: readonly ServedRequest[];
}

export type TtffRequest =
  | { readonly id: number; readonly op: 'start'; readonly setup: TtffServerSetup }
  | { readonly id: number; readonly op: 'heads'; readonly ids: readonly string[] }
  | { readonly id: number; readonly op: 'user'; readonly username: string; readonly password: string }
  | { readonly id: number; readonly op: 'sleep' | 'wake' | 'clear' | 'log' | 'close' };

export type TtffReply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly error: string };

const epoch = (t: number): number => performance.timeOrigin + t;

async function waitForHeads(server: RunningServer, ids: readonly string[]): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await server.cache.idle();
    const heads = (await server.cache.state()).entries.filter((e) => e.kind === 'head');
    if (ids.every((id) => heads.some((h) => h.contentId === id))) return heads.reduce((a, e) => Math.max(a, e.size), 0);
    if (Date.now() > deadline) throw new Error(`the heads were not written within 60 s (have ${heads.length} of ${ids.length})`);
    await sleep(100);
  }
}

/** Records every request's own time (this process serves nothing else); `clear` empties it. */
function recordRequests(): { readonly served: ServedRequest[]; clear(): void } {
  const served: ServedRequest[] = [];
  const arrived = new WeakMap<IncomingMessage, number>();
  subscribe('http.server.request.start', (m) => arrived.set((m as { request: IncomingMessage }).request, performance.now()));
  subscribe('http.server.response.finish', (m) => {
    const { request, response } = m as { request: IncomingMessage; response: ServerResponse };
    const t = arrived.get(request);
    if (t === undefined) return;
    served.push({ method: request.method ?? '?', url: request.url ?? '?', at: epoch(t), ms: performance.now() - t });
  });
  return { served, clear: () => void (served.length = 0) };
}

function main(): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('bench/ttff-server.ts runs as a child of bench/ttff.ts (it needs an IPC channel)');
  const requests = recordRequests();
  let server: RunningServer | undefined;
  let nas: SlowNas | undefined;
  const need = <T>(x: T | undefined): T => {
    if (x === undefined) throw new Error('the server is not started');
    return x;
  };
  const handle = async (m: TtffRequest): Promise<unknown> => {
    switch (m.op) {
      case 'start': {
        const s = m.setup;
        nas = new SlowNas(s.spinUpMs, s.idleSleepMs);
        nas.wake();
        const config = loadConfig(
          // No promotion: every run must play from the NAS (and its head), never from a full SSD copy.
          ['--library', s.libraryDir, '--data', s.dataDir, '--port', '0', '--host', '127.0.0.1', '--log-level', 'warn', '--promote-after', '10000', ...s.flags],
          { WSOPTV_ADMIN_PASSWORD: s.adminPassword },
        );
        server = await startServer(config, { openNas: nas.open, log: createLogger('warn') });
        const contents: TtffContent[] = server.library.list().map((c) => ({ id: c.id, relPath: c.relPath, playable: c.playable, unplayableReason: c.unplayableReason ?? null, faststart: c.media?.faststart ?? null }));
        return { url: server.url, contents };
      }
      case 'heads':
        return waitForHeads(need(server), m.ids);
      case 'user':
        await need(server).auth.createUser({ username: m.username, password: m.password, role: 'viewer', status: 'active' });
        return null;
      case 'sleep':
        need(nas).sleep();
        return null;
      case 'wake':
        need(nas).wake();
        return null;
      case 'clear':
        need(nas).clearLog();
        requests.clear();
        return null;
      case 'log': {
        const n = need(nas);
        const awakeAt: Record<string, number> = {};
        for (const o of n.opens) {
          const t = n.awakeAt(o.file);
          if (t !== undefined) awakeAt[o.file] = epoch(t);
        }
        return { opens: n.opens.map((o) => ({ file: o.file, at: epoch(o.at), waitedMs: o.waitedMs })), awakeAt, served: requests.served } satisfies RunLog;
      }
      case 'close':
        await server?.close(500);
        server = undefined;
        return null;
    }
  };
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: TtffRequest) => {
    handle(m).then(
      (value) => send({ id: m.id, ok: true, value } satisfies TtffReply, () => m.op === 'close' && process.exit(0)),
      (err: unknown) => send({ id: m.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies TtffReply),
    );
  });
}

main();
