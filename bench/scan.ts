/**
 * The catalogue scan measurement: a library of small MP4 copies (a few corrupt) scanned through the
 * library module directly, as the server does at start-up, then scanned again unchanged.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createLibrary } from '../app/library/index.ts';
import { ContentStore } from '../app/persistence/content-store.ts';
import { openDatabase } from '../app/persistence/db.ts';
import { writeScanLibrary } from './fixtures.ts';

/** What the scan measurement found. */
export interface ScanFigures {
  readonly files: number;
  readonly corrupt: number;
  readonly unplayable: number;
  /** First scan: every file new, every file probed. */
  readonly ms: number;
  /** Second scan with nothing changed: no file probed again. */
  readonly rescanMs: number;
  readonly maxProbeBytes: number;
  readonly avgProbeBytes: number;
}

/** Builds a library of `count` files under `dir` and times its scans. */
export async function runScanBench(dir: string, count: number, corrupt: number): Promise<ScanFigures> {
  const root = path.join(dir, 'scan-library');
  await mkdir(root, { recursive: true });
  const damaged = await writeScanLibrary(root, count, corrupt);
  const db = openDatabase(path.join(dir, 'scan.db'));
  try {
    const library = createLibrary(root, new ContentStore(db));
    const first = await library.scan();
    const again = await library.scan();
    return {
      files: first.files,
      corrupt: damaged,
      unplayable: first.unplayable,
      ms: first.ms,
      rescanMs: again.ms,
      maxProbeBytes: first.maxProbeBytes,
      avgProbeBytes: first.files > 0 ? first.probeBytesRead / first.files : 0,
    };
  } finally {
    db.close();
  }
}
