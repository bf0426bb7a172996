/**
 * Answers GET and HEAD for a video file: opens it, checks on the open handle that it is a regular file
 * inside its root, reads its validators from that handle (so the headers and the bytes describe the same version), plans the answer with the RFC rules in
 * app/stream/range.ts, and streams the body with backpressure. The handle is closed however the
 * response ends: finished, aborted by a seeking player, or failed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HeadRef, StreamPath } from '../cache/index.ts';
import { openInside, openInsideWithin, type OpenedFile, type ReadHandle } from '../library/index.ts';
import { assertNever, FileUnavailable, PreconditionFailed, RangeNotSatisfiable } from '../model/errors.ts';
import { FileBody, type Segment } from '../stream/file-body.ts';
import { planResponse, validatorsFor, type Conditions, type Plan, type Validators } from '../stream/range.ts';
import type { Sendfile } from '../stream/sendfile.ts';
import { SendfileBody } from './sendfile-body.ts';

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
  /** Sends the body with sendfile(2) when given (sendfile-body.ts); without it the bytes are read and written. */
  readonly sendfile?: Sendfile | null;
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

/** Maps a file-system error to the domain: every way a file can fail to open means "unavailable" to a viewer. */
export function fsErrorToDomain(err: unknown, contentId: string): FileUnavailable {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  return new FileUnavailable(contentId, code);
}

/** What the answer will be and the open handles it reads. */
interface Prepared {
  readonly plan: Plan;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: string;
  readonly segments: readonly Segment[];
  /** Every handle opened; each is closed however the response ends. */
  readonly handles: readonly ReadHandle[];
}

/** One run of the answer's bytes: from the head file (at `fileStart`) or from the NAS file (same offsets). */
interface Piece {
  readonly from: 'head' | 'nas';
  readonly start: number;
  readonly end: number;
  readonly fileStart: number;
}

/** Cuts start..end into runs the head holds (its leading bytes, its moov part) and runs only the NAS has. */
export function splitByHead(start: number, end: number, head: Pick<HeadRef, 'headLen' | 'moovOffset' | 'moovLen'>): Piece[] {
  const out: Piece[] = [];
  const moovEnd = head.moovOffset === null || head.moovLen === null ? -1 : head.moovOffset + head.moovLen - 1;
  for (let pos = start; pos <= end; ) {
    let piece: Piece;
    if (pos < head.headLen) piece = { from: 'head', start: pos, end: Math.min(end, head.headLen - 1), fileStart: pos };
    else if (head.moovOffset !== null && pos >= head.moovOffset && pos <= moovEnd) {
      piece = { from: 'head', start: pos, end: Math.min(end, moovEnd), fileStart: head.headLen + (pos - head.moovOffset) };
    } else {
      const nextHeld = head.moovOffset !== null && head.moovOffset > pos ? head.moovOffset - 1 : end;
      piece = { from: 'nas', start: pos, end: Math.min(end, nextHeld), fileStart: pos };
    }
    out.push(piece);
    pos = piece.end + 1;
  }
  return out;
}

const hasBody = (plan: Plan): plan is Extract<Plan, { kind: 'full' | 'partial' }> => plan.kind === 'full' || plan.kind === 'partial';

/** The answer, with the validators the plan was made against (built once per file: a Date and two strings). */
function prepared(plan: Plan, v: Validators, segments: readonly Segment[], handles: readonly ReadHandle[]): Prepared {
  return { plan, size: v.size, etag: v.etag, lastModified: v.lastModified, segments, handles };
}

/** Opens one file and plans the answer against its own validators. */
async function prepareOne(file: StreamPath, c: Conditions): Promise<Prepared> {
  const f = await openInsideWithin(file.root, file.path, file.nasTimeoutMs, file.open);
  return fromOpened(f, c);
}

function fromOpened(f: OpenedFile, c: Conditions): Prepared {
  const v = validatorsFor(f.stats.size, f.stats.mtimeMs);
  return onOneFile(f, planResponse(c, v), v);
}

/** `plan`, made against `v` (the file's own validators), read from one open file. */
function onOneFile(f: OpenedFile, plan: Plan, v: Validators): Prepared {
  return prepared(plan, v, hasBody(plan) ? [{ fh: f.fh, start: plan.start, end: plan.end, local: f.local }] : [], [f.fh]);
}

/**
 * The most bytes a range answered from the head alone carries while the NAS wakes; the player asks for the
 * next ones at once, still from the head. In steps, a start from a sleeping disk plays sooner: a whole
 * 8 MiB head taken in at once, at LAN or loopback speed, competes with the player's own start in the
 * browser. 512 KiB played as soon as 256 KiB did, with half the requests, and sooner than 1 or 2 MiB
 * (docs/performance.md, "Time to first frame").
 */
export const HEAD_ALONE_MAX_BYTES = 512 * 1024;

const later = (ms: number): Promise<'late'> => new Promise((r) => setTimeout(() => r('late'), ms).unref());

/**
 * Plans the answer of a NAS stream whose head sits on the SSD. Ranges the head covers never touch the
 * NAS; a range that runs past it waits a moment for the NAS and, if the NAS is asleep or away, is
 * answered with the head's part alone, at most HEAD_ALONE_MAX_BYTES of it (a 206 may be shorter than
 * asked, RFC 9110 §14.2; the player asks for the rest next). When the NAS file turns out to differ from
 * the head's version, the head is dropped and the NAS file answers alone. Undefined when the head file
 * itself cannot be opened.
 */
async function prepareWithHead(file: StreamPath, head: HeadRef, c: Conditions): Promise<Prepared | undefined> {
  const hv = validatorsFor(head.size, head.mtimeMs);
  const plan = planResponse(c, hv);
  if (!hasBody(plan)) return prepared(plan, hv, [], []);
  const pieces = splitByHead(plan.start, plan.end, head);
  // A range wholly past the head (a seek into the body, the commonest range of all) reads the NAS file alone:
  // the head file is not opened for it.
  if (!pieces.some((p) => p.from === 'head')) {
    const nas = await openInsideWithin(file.root, file.path, file.nasTimeoutMs, file.open);
    // The head's version has the head's validators, so the plan holds; another version answers for itself.
    if (!differs(nas, head)) return onOneFile(nas, plan, hv);
    head.stale();
    return fromOpened(nas, c);
  }
  let headFile: OpenedFile;
  try {
    headFile = await openInside(head.root, head.path);
  } catch {
    head.stale();
    return undefined;
  }
  if (pieces.every((p) => p.from === 'head')) return prepared(plan, hv, pieces.map((p) => headPart(headFile, p)), [headFile.fh]);

  let leading = -1;
  for (const p of pieces) {
    if (p.from !== 'head') break;
    leading = p.end;
  }
  const canShorten = plan.kind === 'partial' && leading >= plan.start;
  // The disk is known to be waking (an open of the file is pending, the tier says so with no wait): the head
  // answers at once, and another open would only park one more thread on the same spin-up.
  if (canShorten && file.nasWaitMs <= 0) return headAlone(plan, hv, leading, pieces, headFile);
  const opening = openInsideWithin(file.root, file.path, file.nasTimeoutMs, file.open);
  const nas = await (canShorten ? Promise.race([opening, later(file.nasWaitMs)]) : opening).catch((err: unknown) => err as Error);
  if (nas === 'late' || nas instanceof Error) {
    if (!canShorten) {
      await headFile.fh.close().catch(() => undefined);
      throw nas === 'late' ? Object.assign(new Error('NAS open timed out'), { code: 'ETIMEDOUT' }) : nas;
    }
    // The open goes on and wakes the disk for the next request; its handle is closed when it lands.
    if (nas === 'late') opening.then((f) => f.fh.close(), () => undefined).catch(() => undefined);
    return headAlone(plan, hv, leading, pieces, headFile);
  }
  if (differs(nas, head)) {
    head.stale();
    await headFile.fh.close().catch(() => undefined);
    return fromOpened(nas, c);
  }
  const segments = pieces.map((p): Segment => (p.from === 'head' ? headPart(headFile, p) : { fh: nas.fh, start: p.start, end: p.end, local: nas.local }));
  // The body closes the handles its segments read.
  return prepared(plan, hv, segments, [headFile.fh, nas.fh]);
}

/** Where a piece the head holds lies in the head file. */
const headPart = (headFile: OpenedFile, p: Piece): Segment => ({ fh: headFile.fh, start: p.fileStart, end: p.fileStart + (p.end - p.start), local: headFile.local });

/** The head's leading part of a range (through `leading`), at most HEAD_ALONE_MAX_BYTES of it, as a shorter 206. */
function headAlone(plan: Extract<Plan, { kind: 'full' | 'partial' }>, hv: Validators, leading: number, pieces: readonly Piece[], headFile: OpenedFile): Prepared {
  const end = Math.min(leading, plan.start + HEAD_ALONE_MAX_BYTES - 1);
  const short: Plan = { kind: 'partial', status: 206, start: plan.start, end };
  const segments = pieces.filter((p) => p.start <= end).map((p) => headPart(headFile, { ...p, end: Math.min(p.end, end) }));
  return prepared(short, hv, segments, [headFile.fh]);
}

/** The NAS file differs from the version its head was made from. */
const differs = (nas: OpenedFile, head: HeadRef): boolean => nas.stats.size !== head.size || nas.stats.mtimeMs !== head.mtimeMs;

const closeAll = (handles: readonly ReadHandle[]): Promise<unknown> => Promise.allSettled(handles.map((fh) => fh.close()));

/**
 * Opens the file(s) (each checked on its handle, see openInside) and answers the request. Throws domain
 * errors before any header is sent. A client can hang up at any moment, during the open too: `res.destroyed`
 * is read after every wait, so the handles are closed and `onDone` runs at once, never left to the GC.
 */
export async function sendVideo(req: IncomingMessage, res: ServerResponse, contentId: string, file: StreamPath, hooks: SendHooks = {}): Promise<void> {
  let reported = false;
  const report = (o: SendOutcome): void => {
    if (reported) return;
    reported = true;
    hooks.onDone?.(o);
  };
  const abandoned = (): void => report({ plan: 'abandoned', status: 0, bytesSent: 0, aborted: true });
  if (res.destroyed) return abandoned();

  const h = req.headers;
  const c: Conditions = {
    method: req.method ?? 'GET',
    range: h.range,
    ifRange: header(h['if-range']),
    ifMatch: header(h['if-match']),
    ifNoneMatch: header(h['if-none-match']),
    ifModifiedSince: header(h['if-modified-since']),
    ifUnmodifiedSince: header(h['if-unmodified-since']),
  };
  let p: Prepared;
  try {
    p = (file.head ? await prepareWithHead(file, file.head, c) : undefined) ?? (await prepareOne(file, c));
  } catch (err) {
    report({ plan: 'failed', status: 0, bytesSent: 0, aborted: res.destroyed });
    throw fsErrorToDomain(err, contentId);
  }
  if (res.destroyed) {
    await closeAll(p.handles);
    return abandoned();
  }
  try {
    hooks.admit?.();
  } catch (err) {
    await closeAll(p.handles);
    report({ plan: 'failed', status: 0, bytesSent: 0, aborted: false });
    throw err;
  }

  const { plan, size } = p;
  const finish = (bytesSent: number, aborted: boolean): void => report({ plan: plan.kind, status: plan.status, bytesSent, aborted });
  const closeThen = async (then: () => void): Promise<void> => {
    await closeAll(p.handles);
    then();
  };
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', p.etag);
  res.setHeader('Last-Modified', p.lastModified);
  res.setHeader('Cache-Control', 'private, no-transform');
  switch (plan.kind) {
    case 'precondition-failed':
    case 'unsatisfiable':
      await closeThen(() => report({ plan: plan.kind, status: plan.status, bytesSent: 0, aborted: false }));
      throw plan.kind === 'unsatisfiable' ? new RangeNotSatisfiable(size) : new PreconditionFailed();
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
      // No wait between the check of res.destroyed above and here: the pump's close listener cannot miss the close.
      if (hooks.sendfile) new SendfileBody(p.segments, res, hooks.sendfile, hooks.onBytes, finish);
      else new BodyPump(new FileBody(p.segments), res, hooks.onBytes, finish);
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
 *
 * One object per response, its listeners bound once: a socket runs write callbacks in the order of the
 * writes, so one callback and a queue of the chunks in flight serve every chunk (no closure per chunk).
 */
class BodyPump {
  private sent = 0;
  private over = false;
  /** Chunks written whose callback has not run yet, oldest first. */
  private readonly inFlight: Buffer[] = [];

  constructor(
    private readonly body: FileBody,
    private readonly res: ServerResponse,
    private readonly onBytes: ((n: number) => void) | undefined,
    private readonly finish: (sent: number, aborted: boolean) => void,
  ) {
    body.on('data', this.onData);
    res.on('drain', this.onDrain);
    body.on('end', this.onEnd);
    body.on('error', this.onError);
    res.on('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.inFlight.push(chunk);
    if (!this.res.write(chunk, this.onWritten)) this.body.pause();
  };

  private readonly onWritten = (err?: Error | null): void => {
    const chunk = this.inFlight.shift();
    if (err || chunk === undefined) return;
    // The socket is done with these bytes: their buffer can serve the next read (see FileBody).
    this.body.release(chunk);
    this.sent += chunk.length;
    this.onBytes?.(chunk.length);
  };

  private readonly onDrain = (): void => void this.body.resume();
  private readonly onEnd = (): void => void this.res.end();

  /** A read error after the headers: cut the connection so the client sees a short body, never a wrong one. */
  private readonly onError = (): void => {
    this.res.destroy();
    this.end(true);
  };

  private readonly onClose = (): void => this.end(!this.res.writableFinished);

  private end(aborted: boolean): void {
    if (this.over) return;
    this.over = true;
    this.body.destroy();
    this.finish(this.sent, aborted);
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}
