/**
 * Answers GET and HEAD for a video file: opens it, reads its validators from the open handle (so the
 * headers and the bytes describe the same version), plans the answer with the RFC rules in
 * app/stream/range.ts, and streams the body with backpressure. The handle is closed however the
 * response ends: finished, aborted by a seeking player, or failed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { open, type FileHandle } from 'node:fs/promises';
import { FileUnavailable, PreconditionFailed, RangeNotSatisfiable } from '../model/errors.ts';
import { FileBody } from '../stream/file-body.ts';
import { planResponse, validatorsFor, type Plan } from '../stream/range.ts';

/** Hooks for the caller: bytes as the socket takes them, and the outcome once the response is over. */
export interface SendHooks {
  readonly onBytes?: (n: number) => void;
  readonly onDone?: (outcome: SendOutcome) => void;
}

/** What the caller learns once the response is over. */
export interface SendOutcome {
  readonly plan: Plan['kind'];
  readonly status: number;
  /** Body bytes the socket accepted (0 for HEAD, 304, 412, 416). */
  readonly bytesSent: number;
  /** True when the client went away before the body was complete. */
  readonly aborted: boolean;
}

/** Maps a file-system error to the domain: every way a file can fail to open means "unavailable" to a viewer. */
export function fsErrorToDomain(err: unknown, contentId: string): FileUnavailable {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  return new FileUnavailable(contentId, code);
}

/** Opens `path` and answers the request. Throws domain errors before any header is sent. */
export async function sendVideo(
  req: IncomingMessage,
  res: ServerResponse,
  contentId: string,
  path: string,
  mimeType: string,
  hooks: SendHooks = {},
): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw fsErrorToDomain(err, contentId);
  }
  let plan: Plan;
  let size: number;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    size = st.size;
    const v = validatorsFor(st.size, st.mtimeMs);
    const h = req.headers;
    plan = planResponse(
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
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', v.etag);
    res.setHeader('Last-Modified', v.lastModified);
    res.setHeader('Cache-Control', 'private, no-transform');
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw fsErrorToDomain(err, contentId);
  }

  const finish = (bytesSent: number, aborted: boolean): void => hooks.onDone?.({ plan: plan.kind, status: plan.status, bytesSent, aborted });
  switch (plan.kind) {
    case 'precondition-failed':
      await fh.close();
      throw new PreconditionFailed();
    case 'unsatisfiable':
      await fh.close();
      throw new RangeNotSatisfiable(size);
    case 'not-modified':
      await fh.close();
      res.statusCode = 304;
      res.end();
      finish(0, false);
      return;
    case 'full':
    case 'partial': {
      const length = Math.max(0, plan.end - plan.start + 1);
      res.statusCode = plan.status;
      res.setHeader('Content-Type', mimeType);
      res.setHeader('Content-Length', String(length));
      if (plan.kind === 'partial') res.setHeader('Content-Range', `bytes ${plan.start}-${plan.end}/${size}`);
      if (req.method === 'HEAD' || length === 0) {
        await fh.close();
        res.end();
        finish(0, false);
        return;
      }
      pump(new FileBody(fh, plan.start, plan.end), res, hooks.onBytes, finish);
      return;
    }
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
