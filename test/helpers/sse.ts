/**
 * A server-sent-events reader over node:http for the feed's tests: parses frames as they arrive and lets a
 * test wait for the event it expects.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

/** One parsed frame. */
export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
  /** The data parsed as JSON. */
  json<T = any>(): T;
}

/** A connected reader. */
export interface SseReader {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  /** Every event so far, in order. */
  readonly events: SseEvent[];
  /** Comment lines so far (keep-alives). */
  readonly comments: string[];
  /** Waits until an event after index `from` satisfies `pred`; returns it. */
  waitFor(pred: (e: SseEvent) => boolean, timeoutMs?: number, from?: number): Promise<SseEvent>;
  close(): void;
}

/** Connects to an SSE URL with the given headers and reads until closed. */
export function openSse(url: string, headers: Record<string, string>): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    let req: ClientRequest | undefined;
    req = request(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      const waiters = new Set<() => void>();
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let id: string | undefined;
          let event = 'message';
          const data: string[] = [];
          let sawField = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) (id = line.slice(4)), (sawField = true);
            else if (line.startsWith('event: ')) (event = line.slice(7)), (sawField = true);
            else if (line.startsWith('data: ')) data.push(line.slice(6)), (sawField = true);
          }
          if (sawField && data.length > 0) {
            const text = data.join('\n');
            events.push({ id, event, data: text, json: () => JSON.parse(text) });
          }
        }
        for (const w of waiters) w();
      });
      res.on('error', () => undefined);
      const reader: SseReader = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        waitFor(pred, timeoutMs = 5_000, from = 0) {
          return new Promise((ok, fail) => {
            const check = (): boolean => {
              const hit = events.slice(from).find(pred);
              if (!hit) return false;
              waiters.delete(wake);
              clearTimeout(timer);
              ok(hit);
              return true;
            };
            const wake = (): void => void check();
            const timer = setTimeout(() => {
              waiters.delete(wake);
              fail(new Error(`no matching event within ${timeoutMs} ms; saw ${events.map((e) => `${e.id} ${e.event}`).join(', ')}`));
            }, timeoutMs);
            if (check()) return;
            waiters.add(wake);
          });
        },
        close: () => req?.destroy(),
      };
      resolve(reader);
    });
    req.on('error', reject);
    req.end();
  });
}
