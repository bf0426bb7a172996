/**
 * Background viewers, run as a child process of the bench so their socket reads never delay the
 * seeker's clock in the parent. Each viewer holds one keep-alive connection and reads the file in
 * sequence at a fixed bitrate, as a direct-play player refilling its buffer does: read a range, sleep
 * until the next one is due, read it.
 *
 * Protocol (IPC): parent sends {type:'start', plan}; child answers {type:'running'}; parent sends
 * {type:'stop'}; child answers {type:'stats', stats} and exits. The child also exits if the parent goes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { matchesOffsetFile, offsetByte } from './fixtures.ts';
import { RawConnection } from './raw-http.ts';

/** What the viewers read and how fast. */
export interface ViewerPlan {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** One path per viewer (each its own stream session), taken in turn; `path` when absent. */
  readonly paths?: readonly string[];
  readonly size: number;
  readonly viewers: number;
  readonly chunkBytes: number;
  readonly bitsPerSecond: number;
  readonly headers: Record<string, string>;
  /** Share of reads that first jump to a random place in the file, as a player seeking does (0 when absent). */
  readonly seekShare?: number;
  /** Share of reads given up part-way through the body (the connection closed), as a player seeking away does. */
  readonly abortShare?: number;
  /** Compare every body byte with the file, not one in CHECK_STRIDE. */
  readonly checkAll?: boolean;
}

/** What the viewers did. */
export interface ViewerStats {
  readonly requests: number;
  readonly bytes: number;
  /** Reads that finished after the next one was due (the viewer fell behind its bitrate). */
  readonly late: number;
  readonly errors: number;
  /** Bodies in which a sampled byte was not the file's byte at that offset. */
  readonly wrongBodies: number;
  readonly connects: number;
  readonly seconds: number;
  readonly firstError: string | null;
  /** Reads that jumped to a random offset first. */
  readonly seeks: number;
  /** Reads given up part-way on purpose (not errors). */
  readonly aborts: number;
}

/** Longest a single range may take before the viewer counts an error and reconnects. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Longest the stop waits for reads in flight. */
const STOP_WAIT_MS = 15_000;
/** Every this many body bytes one is checked against the file: cheap, and a misplaced or reused buffer cannot pass. */
const CHECK_STRIDE = 4093;

interface Totals {
  requests: number;
  bytes: number;
  late: number;
  errors: number;
  wrongBodies: number;
  connects: number;
  firstError: string | null;
  seeks: number;
  aborts: number;
}

/** Counts sampled bytes of a body piece that differ from the offset file's bytes. */
function wrongSampled(piece: Buffer, fileOffset: number): number {
  let wrong = 0;
  // The first sampled index in this piece keeps the stride continuous across pieces.
  for (let i = (CHECK_STRIDE - (fileOffset % CHECK_STRIDE)) % CHECK_STRIDE; i < piece.length; i += CHECK_STRIDE) {
    if (piece[i] !== offsetByte(fileOffset + i)) wrong++;
  }
  return wrong;
}

async function viewer(plan: ViewerPlan, signal: AbortSignal, totals: Totals): Promise<void> {
  const conn = new RawConnection(plan.host, plan.port);
  const periodMs = ((plan.chunkBytes * 8) / plan.bitsPerSecond) * 1000;
  const chunks = Math.max(1, Math.floor(plan.size / plan.chunkBytes));
  let chunk = Math.floor(Math.random() * chunks);
  // A random phase, so a hundred viewers do not all ask in the same millisecond.
  let due = performance.now() + Math.random() * periodMs;
  try {
    while (!signal.aborted) {
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      if (plan.seekShare && Math.random() < plan.seekShare) {
        chunk = Math.floor(Math.random() * chunks);
        totals.seeks++;
      }
      const start = chunk * plan.chunkBytes;
      const end = Math.min(start + plan.chunkBytes, plan.size) - 1;
      // A read to give up: the connection closes once this many body bytes have arrived.
      const abortAfter = plan.abortShare && Math.random() < plan.abortShare ? Math.floor(Math.random() * (end - start)) : -1;
      let aborting = false;
      let wrong = 0;
      try {
        const r = await conn.get(plan.path, {
          headers: { ...plan.headers, Range: `bytes=${start}-${end}` },
          timeoutMs: REQUEST_TIMEOUT_MS,
          onBody: (piece, offset) => {
            if (plan.checkAll) wrong += matchesOffsetFile(piece, start + offset) ? 0 : 1;
            else wrong += wrongSampled(piece, start + offset);
            if (abortAfter >= 0 && !aborting && offset + piece.length >= abortAfter) {
              aborting = true;
              setImmediate(() => conn.abort());
            }
          },
        });
        totals.requests++;
        totals.bytes += r.bodyBytes;
        if (wrong > 0) totals.wrongBodies++;
        if (r.status !== 206 || r.bodyBytes !== end - start + 1) {
          totals.errors++;
          totals.firstError ??= `status ${r.status}, ${r.bodyBytes} bytes for ${end - start + 1}`;
        }
      } catch (err) {
        if ((err as { aborted?: boolean }).aborted === true) {
          totals.aborts++;
          if (wrong > 0) totals.wrongBodies++;
        } else {
          totals.errors++;
          totals.firstError ??= (err as Error).message;
          await sleep(100); // a refused or reset connection: do not spin
        }
      }
      chunk = (chunk + 1) % chunks;
      due += periodMs;
      const now = performance.now();
      if (now > due) {
        totals.late++;
        due = now;
      }
    }
  } finally {
    totals.connects += conn.connects;
    conn.close();
  }
}

function main(): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('bench/viewers.ts runs as a child of bench/run.ts (it needs an IPC channel)');
  const controller = new AbortController();
  const totals: Totals = { requests: 0, bytes: 0, late: 0, errors: 0, wrongBodies: 0, connects: 0, firstError: null, seeks: 0, aborts: 0 };
  let loops: Promise<void>[] = [];
  let t0 = 0;
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg: { type: string; plan?: ViewerPlan }) => {
    if (msg.type === 'start' && msg.plan) {
      const plan = msg.plan;
      t0 = performance.now();
      loops = Array.from({ length: plan.viewers }, (_, i) => viewer({ ...plan, path: plan.paths?.[i % plan.paths.length] ?? plan.path }, controller.signal, totals));
      send({ type: 'running' });
    } else if (msg.type === 'stop') {
      controller.abort();
      const seconds = (performance.now() - t0) / 1000;
      void Promise.race([Promise.allSettled(loops), sleep(STOP_WAIT_MS)]).then(() => {
        const stats: ViewerStats = { ...totals, seconds };
        send({ type: 'stats', stats }, () => process.exit(0));
      });
    }
  });
}

main();
