/**
 * One server-sent-events connection that can never hold up the sender (after navidrome's server/events/sse.go).
 * `send` only queues or writes into the socket's buffer; it never waits. While the socket is backed up,
 * frames wait in a bounded queue: when it is full the oldest droppable frame (a periodic tick, superseded
 * by the next one) goes; with nothing droppable left the connection is closed, and the browser's reconnect
 * resumes from its Last-Event-ID. A socket that does not drain within the write timeout is cut.
 */
import type { ServerResponse } from 'node:http';

/** The limits of one connection. */
export interface SseLimits {
  /** Frames that may wait while the socket is backed up. */
  readonly queueLimit: number;
  /** How long a backed-up socket may take to drain before it is cut. */
  readonly writeTimeoutMs: number;
  /** How often a comment line keeps proxies and the browser from timing the connection out. */
  readonly keepAliveMs: number;
}

interface Frame {
  readonly text: string;
  readonly droppable: boolean;
}

/** Why a connection ended. */
export type SseEnd = 'client' | 'write_timeout' | 'overflow' | 'server';

/** A live SSE response. */
export class SseClient {
  private readonly queue: Frame[] = [];
  private backedUp = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private readonly keepAlive: NodeJS.Timeout;
  private closed = false;
  /** Frames dropped from the queue so far. */
  dropped = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly limits: SseLimits,
    private readonly onEnd: (why: SseEnd) => void,
  ) {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    res.on('close', () => this.finish('client'));
    res.on('drain', () => this.drained());
    this.keepAlive = setInterval(() => {
      if (!this.backedUp && this.queue.length === 0) this.write(': keep-alive\n\n');
    }, limits.keepAliveMs);
    this.keepAlive.unref();
  }

  /** Frames waiting for the socket. */
  get queued(): number {
    return this.queue.length;
  }

  /** Sends a frame now or queues it; never blocks. */
  send(text: string, droppable: boolean): void {
    if (this.closed) return;
    if (!this.backedUp && this.queue.length === 0) {
      this.write(text);
      return;
    }
    this.queue.push({ text, droppable });
    if (this.queue.length <= this.limits.queueLimit) return;
    const i = this.queue.findIndex((f) => f.droppable);
    if (i < 0) {
      this.close('overflow');
      return;
    }
    this.queue.splice(i, 1);
    this.dropped++;
  }

  /** Ends the connection; `server` ends it cleanly, the others cut the socket. */
  close(why: SseEnd): void {
    if (this.closed) return;
    if (why === 'server') this.res.end();
    else this.res.destroy();
    this.finish(why);
  }

  private write(text: string): void {
    if (this.res.write(text)) return;
    this.backedUp = true;
    this.drainTimer = setTimeout(() => this.close('write_timeout'), this.limits.writeTimeoutMs);
    this.drainTimer.unref();
  }

  private drained(): void {
    if (this.closed) return;
    clearTimeout(this.drainTimer);
    this.backedUp = false;
    while (!this.backedUp && this.queue.length > 0) this.write(this.queue.shift()!.text);
  }

  private finish(why: SseEnd): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    clearTimeout(this.drainTimer);
    this.queue.length = 0;
    this.onEnd(why);
  }
}
