/**
 * Answers GET and HEAD for a video file: opens it, checks on the open handle that it is a regular file
 * inside its root, reads its validators from that handle (so the headers and the bytes describe the same version), plans the answer with the RFC rules in
 * app/stream/range.ts, and streams the body with backpressure. The handle is closed however the
 * response ends: finished, aborted by a seeking player, or failed.
 */
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { openInside } from '../library/index.ts';
import { assertNever, FileUnavailable, PreconditionFailed, RangeNotSatisfiable } from '../model/errors.ts';
import { FileBody } from '../stream/file-body.ts';
import { planResponse, validatorsFor, type Plan } from '../stream/range.ts';

/** Hooks for the caller: admission, bytes as the socket takes them, and the outcome once the response is over. */
export interface SendHooks {
  /**
   * Runs once the file is open and before anything is written; throwing refuses the request (a limit, an
   * ended session). Admitting only readable files keeps a request for a vanished file from opening a session.
   */
  readonly admit?: () => void;
  readonly onBytes?: (n: number) => void;
  /** Called exactly once per call, however it ends: sent, cut, abandoned by the client, or thrown. */
  readonly onDone?: (outcome: SendOutcome) => void;
}

/** What the caller learns once the response is over. */
export interface SendOutcome {
  /** The plan that was answered; `failed` when an error was thrown, `abandoned` when the client left first. */
  readonly plan: Plan['kind'] | 'failed' | 'abandoned';
  /** The status sent, or 0 when none was (thrown or abandoned). */
  readonly status: number;
  /** Body bytes the socket accepted (0 for HEAD, 304, 412, 416). */
  readonly bytesSent: number;
  /** True when the client went away (or the response was cut) before the body was complete. */
  readonly aborted: boolean;
}

/** Which file to send: a path and the real root its open handle must lie in (see openInside). */
export interface VideoFile {
  readonly path: string;
  readonly root: string;
  readonly mimeType: string;
}

/** Maps a file-system error to the domain: every way a file can fail to open means "unavailable" to a viewer. */
export function fsErrorToDomain(err: unknown, contentId: string): FileUnavailable {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  return new FileUnavailable(contentId, code);
}

/**
 * Opens the file (checked on its handle, see openInside) and answers the request. Throws domain errors
 * before any header is sent. A client can hang up at any moment, during the open too: `res.destroyed`
 * is read after every wait, so the handle is closed and `onDone` runs at once, never left to the GC.
 */
export async function sendVideo(req: IncomingMessage, res: ServerResponse, contentId: string, file: VideoFile, hooks: SendHooks = {}): Promise<void> {
  let reported = false;
  const report = (o: SendOutcome): void => {
    if (reported) return;
    reported = true;
    hooks.onDone?.(o);
  };
  const abandoned = (): void => report({ plan: 'abandoned', status: 0, bytesSent: 0, aborted: true });
  if (res.destroyed) return abandoned();

  let fh: FileHandle;
  let st: Stats;
  try {
    ({ fh, stats: st } = await openInside(file.root, file.path));
  } catch (err) {
    report({ plan: 'failed', status: 0, bytesSent: 0, aborted: res.destroyed });
    throw fsErrorToDomain(err, contentId);
  }
  if (res.destroyed) {
    await fh.close().catch(() => undefined);
    return abandoned();
  }
  try {
    hooks.admit?.();
  } catch (err) {
    await fh.close().catch(() => undefined);
    report({ plan: 'failed', status: 0, bytesSent: 0, aborted: false });
    throw err;
  }

  const v = validatorsFor(st.size, st.mtimeMs);
  const h = req.headers;
  const plan = planResponse(
    {
      method: req.method ?? 'GET',
      range: h.range,
      ifRange: header(h['if-range']),
      ifMatch: header(h['if-match']),
      ifNoneMatch: header(h['if-none-match']),
      ifModifiedSince: header(h['if-modified-since']),
      ifUnmodifiedSince: header(h['if-unmodified-since']),
    },
    v,
  );
  const size = st.size;
  const finish = (bytesSent: number, aborted: boolean): void => report({ plan: plan.kind, status: plan.status, bytesSent, aborted });
  const closeThen = async (then: () => void): Promise<void> => {
    await fh.close().catch(() => undefined);
    then();
  };
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', v.etag);
  res.setHeader('Last-Modified', v.lastModified);
  res.setHeader('Cache-Control', 'private, no-transform');
  if (plan.kind === 'precondition-failed' || plan.kind === 'unsatisfiable') {
    await closeThen(() => report({ plan: plan.kind, status: plan.status, bytesSent: 0, aborted: false }));
    throw plan.kind === 'unsatisfiable' ? new RangeNotSatisfiable(size) : new PreconditionFailed();
  }
  switch (plan.kind) {
    case 'not-modified':
      res.statusCode = 304;
      res.end();
      return closeThen(() => finish(0, false));
    case 'full':
    case 'partial': {
      const length = Math.max(0, plan.end - plan.start + 1);
      res.statusCode = plan.status;
      res.setHeader('Content-Type', file.mimeType);
      res.setHeader('Content-Length', String(length));
      if (plan.kind === 'partial') res.setHeader('Content-Range', `bytes ${plan.start}-${plan.end}/${size}`);
      if (req.method === 'HEAD' || length === 0) {
        res.end();
        return closeThen(() => finish(0, false));
      }
      // No wait between the check of res.destroyed above and here: pump's close listener cannot miss the close.
      pump(new FileBody(fh, plan.start, plan.end), res, hooks.onBytes, finish);
      return;
    }
    default:
      return assertNever(plan);
  }
}

/**
 * Writes the body with backpressure and counts a chunk only once the socket has taken it (the write
 * callback), so a session's bytes are what really left, not what was read. However the response ends,
 * the body is destroyed and its file handle closed, and `finish` runs once.
 */
function pump(body: FileBody, res: ServerResponse, onBytes: ((n: number) => void) | undefined, finish: (sent: number, aborted: boolean) => void): void {
  let sent = 0;
  let over = false;
  const end = (aborted: boolean): void => {
    if (over) return;
    over = true;
    body.destroy();
    finish(sent, aborted);
  };
  body.on('data', (chunk: Buffer) => {
    const n = chunk.length;
    const more = res.write(chunk, (err) => {
      if (err) return;
      // The socket is done with these bytes: their buffer can serve the next read (see FileBody).
      body.release(chunk);
      sent += n;
      onBytes?.(n);
    });
    if (!more) body.pause();
  });
  res.on('drain', () => body.resume());
  body.on('end', () => res.end());
  // A read error after the headers: cut the connection so the client sees a short body, never a wrong one.
  body.on('error', () => {
    res.destroy();
    end(true);
  });
  res.on('close', () => end(!res.writableFinished));
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}
