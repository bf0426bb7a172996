/**
 * A raw node:net client for what `ts.request` cannot do: read only the start of a response and then hang up,
 * the way a seeking player drops a range it no longer wants. Like `ts.request`, it sends the admin's Bearer
 * token unless the headers already carry Authorization or Cookie.
 */
import { connect, type Socket } from 'node:net';
import type { TestServer } from './server.ts';

/** A response whose first bytes have arrived and whose socket is still open (and paused). */
export interface OpenResponse {
  /** The status line, e.g. "HTTP/1.1 206 Partial Content". */
  readonly statusLine: string;
  /** Everything received so far, headers included. */
  readonly received: Buffer;
  /** Hangs up without reading the rest. */
  abort(): void;
  /** Resumes reading and resolves with everything received (headers included) once the server closes. */
  rest(): Promise<Buffer>;
}

/** Sends a GET for `pathname` and resolves once the first chunk of the answer arrives; the socket is then paused. */
export function openAndPause(ts: TestServer, pathname: string, headers: Record<string, string> = {}): Promise<OpenResponse> {
  const { hostname, port } = new URL(ts.url);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: hostname, port: Number(port) });
    socket.once('error', reject);
    socket.once('connect', () => {
      const all = { ...headers };
      if (!Object.keys(all).some((h) => ['authorization', 'cookie'].includes(h.toLowerCase()))) all.Authorization = `Bearer ${ts.adminToken}`;
      // Connection: close, so that `rest` ends when the body does (or when the server cuts it).
      const lines = [`GET ${pathname} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close', ...Object.entries(all).map(([k, v]) => `${k}: ${v}`), '', ''];
      socket.write(lines.join('\r\n'));
    });
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.off('error', reject);
      socket.on('error', () => undefined); // the reset that follows our own abort is expected
      const text = chunk.toString('latin1');
      resolve({
        statusLine: text.slice(0, text.indexOf('\r\n')),
        received: chunk,
        abort: () => socket.destroy(),
        rest: () =>
          new Promise<Buffer>((done) => {
            const chunks = [chunk];
            socket.on('data', (c: Buffer) => chunks.push(c));
            socket.once('close', () => done(Buffer.concat(chunks)));
            socket.resume();
          }),
      });
    });
  });
}
