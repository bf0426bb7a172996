/**
 * A minimal keep-alive HTTP/1.1 client on a raw socket: the request bytes are written by hand and the
 * response is framed by Content-Length only. A node:http client tops out near 850 MB/s on these
 * machines and hides the server's ceiling (see /work/shared/PERF-NOTES.md); this one costs a few
 * microseconds per response, so what it measures is the server.
 */
import { connect, type Socket } from 'node:net';

/** One answered request. */
export interface RawResult {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  /** Request written → first response byte, in milliseconds. */
  readonly ttfbMs: number;
  /** Request written → last body byte, in milliseconds. */
  readonly totalMs: number;
  readonly bodyBytes: number;
  /** The body, when the request asked to keep it. */
  readonly body: Buffer | null;
}

/** Options of one request. */
export interface RawRequestOptions {
  readonly headers?: Record<string, string>;
  /** Keep the body in memory (small responses only); otherwise it is counted and dropped. */
  readonly keepBody?: boolean;
  /** Whole-request limit; the connection is dropped when it passes. */
  readonly timeoutMs?: number;
  /** A request body (sent with its Content-Length). */
  readonly body?: string;
  /** Sees each piece of the response body as it arrives, with its offset in the body (for checks without keeping it). */
  readonly onBody?: (piece: Buffer, offset: number) => void;
}

/** Longest response head accepted; anything longer is not a server we are measuring. */
const MAX_HEAD = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

interface Pending {
  readonly keepBody: boolean;
  readonly onBody: ((piece: Buffer, offset: number) => void) | undefined;
  readonly t0: number;
  ttfb: number;
  head: Buffer | null;
  status: number;
  headers: Map<string, string>;
  remaining: number;
  bodyBytes: number;
  chunks: Buffer[];
  closeAfter: boolean;
  timer: NodeJS.Timeout | null;
  resolve(r: RawResult): void;
  reject(err: Error): void;
}

/** One keep-alive connection; one request at a time (no pipelining, as players do). */
export class RawConnection {
  private socket: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private pending: Pending | null = null;
  /** Connections opened so far (1 when keep-alive held throughout). */
  connects = 0;

  constructor(private readonly host: string, private readonly port: number) {}

  /** Sends `GET path` and reads the whole answer. */
  get(path: string, opts: RawRequestOptions = {}): Promise<RawResult> {
    return this.request('GET', path, opts);
  }

  /** Sends one request and reads the whole answer. */
  async request(method: string, path: string, opts: RawRequestOptions = {}): Promise<RawResult> {
    if (this.pending) throw new Error('RawConnection: one request at a time');
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${this.host}:${this.port}`];
    for (const [k, v] of Object.entries(opts.headers ?? {})) lines.push(`${k}: ${v}`);
    const body = opts.body === undefined ? null : Buffer.from(opts.body, 'utf8');
    if (body) lines.push(`Content-Length: ${body.length}`);
    const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    const bytes = body ? Buffer.concat([head, body]) : head;
    try {
      return await this.send(bytes, opts);
    } catch (err) {
      // A keep-alive connection the server closed while idle fails on first use: one fresh connection, then give up.
      if ((err as { retryable?: boolean }).retryable !== true) throw err;
      return this.send(bytes, opts);
    }
  }

  /**
   * Gives up the request in flight, as a player does when it seeks away mid-body: the connection is
   * closed and the request rejects with an error whose `aborted` is true. The next request reconnects.
   */
  abort(): void {
    this.fail(Object.assign(new Error('aborted by the client'), { aborted: true }));
  }

  /** Closes the connection. */
  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private async send(bytes: Buffer, opts: RawRequestOptions): Promise<RawResult> {
    const socket = await this.open();
    return new Promise<RawResult>((resolve, reject) => {
      const p: Pending = {
        keepBody: opts.keepBody === true,
        onBody: opts.onBody,
        t0: performance.now(),
        ttfb: -1,
        head: null,
        status: 0,
        headers: new Map(),
        remaining: 0,
        bodyBytes: 0,
        chunks: [],
        closeAfter: false,
        timer: null,
        resolve,
        reject,
      };
      if (opts.timeoutMs !== undefined) {
        p.timer = setTimeout(() => this.fail(new Error(`request timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
      }
      this.pending = p;
      socket.write(bytes);
    });
  }

  private open(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: this.host, port: this.port, noDelay: true });
      s.once('connect', () => {
        s.off('error', reject);
        this.connects++;
        this.socket = s;
        this.connecting = null;
        s.on('data', (chunk: Buffer) => this.onData(chunk));
        // Events of a socket already replaced (closed by us) must not fail the next socket's request.
        s.on('error', (err) => {
          if (this.socket === s) this.fail(err);
        });
        s.on('close', () => {
          if (this.socket === s) this.fail(Object.assign(new Error('connection closed by the server'), { retryable: true }));
        });
        resolve(s);
      });
      s.once('error', (err) => {
        this.connecting = null;
        reject(err);
      });
    });
    return this.connecting;
  }

  private onData(chunk: Buffer): void {
    const p = this.pending;
    if (!p) {
      this.fail(new Error('bytes arrived with no request outstanding'));
      return;
    }
    if (p.ttfb < 0) p.ttfb = performance.now() - p.t0;
    let body = chunk;
    if (p.status === 0) {
      const head = p.head ? Buffer.concat([p.head, chunk]) : chunk;
      const end = head.indexOf(HEAD_END);
      if (end < 0) {
        if (head.length > MAX_HEAD) this.fail(new Error('response head too long'));
        else p.head = head;
        return;
      }
      if (!this.parseHead(p, head.toString('latin1', 0, end))) return;
      body = head.subarray(end + HEAD_END.length);
    }
    if (body.length > p.remaining) {
      this.fail(new Error(`server sent ${body.length - p.remaining} bytes past Content-Length`));
      return;
    }
    if (p.onBody && body.length > 0) p.onBody(body, p.bodyBytes);
    p.remaining -= body.length;
    p.bodyBytes += body.length;
    if (p.keepBody && body.length > 0) p.chunks.push(body);
    if (p.remaining === 0) this.complete(p);
  }

  private parseHead(p: Pending, text: string): boolean {
    const [statusLine = '', ...headerLines] = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!m) {
      this.fail(new Error(`not an HTTP response: ${JSON.stringify(statusLine.slice(0, 80))}`));
      return false;
    }
    p.status = Number(m[1]);
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      if (colon > 0) p.headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = p.headers.get('content-length');
    if (length === undefined || !/^\d+$/.test(length)) {
      // Chunked or close-delimited answers are not what a file server sends for a range; refuse rather than guess.
      this.fail(new Error(`status ${p.status} without a Content-Length`));
      return false;
    }
    p.remaining = Number(length);
    p.closeAfter = (p.headers.get('connection') ?? '').toLowerCase() === 'close' || statusLine.startsWith('HTTP/1.0');
    return true;
  }

  private complete(p: Pending): void {
    this.pending = null;
    if (p.timer) clearTimeout(p.timer);
    if (p.closeAfter) this.close();
    p.resolve({
      status: p.status,
      headers: p.headers,
      ttfbMs: p.ttfb,
      totalMs: performance.now() - p.t0,
      bodyBytes: p.bodyBytes,
      body: p.keepBody ? Buffer.concat(p.chunks) : null,
    });
  }

  private fail(err: Error): void {
    const p = this.pending;
    this.close();
    if (!p) return;
    this.pending = null;
    if (p.timer) clearTimeout(p.timer);
    // Only a request that saw no byte at all may be retried: the server never started answering it.
    if (p.ttfb >= 0) delete (err as { retryable?: boolean }).retryable;
    p.reject(err);
  }
}
