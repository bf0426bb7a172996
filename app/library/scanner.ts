/**
 * Walks the library root, probes new and changed videos, reads their sidecars and reconciles the
 * catalogue in one transaction. Unchanged files (same size, mtime and sidecar mtime) are not re-read.
 * A file that cannot be probed is catalogued as unplayable with the reason; it never stops the scan.
 * A root that cannot be read, or is empty over a catalogue that is not (an unmounted share leaves its
 * mount point empty), changes nothing: a NAS that went away is not a library whose files were deleted.
 */
import { randomBytes } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { MediaInfo } from '../model/content.ts';
import type { ContentRecord, ContentStore, StoredContent } from '../persistence/content-store.ts';
import { probeMp4, ProbeError } from './mp4-probe.ts';
import { isInside, realpathInside } from './paths.ts';
import { MAX_SIDECAR_BYTES, parseSidecar, SidecarInvalid } from './sidecar.ts';

/** Extensions the catalogue picks up, lower-case. */
export const VIDEO_EXTENSIONS = new Set(['.mp4', '.m4v', '.mov']);
const PROBE_CONCURRENCY = 8;

/** What one scan did, for the log and the benchmark. */
export interface ScanReport {
  readonly files: number;
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  readonly unplayable: number;
  readonly probeBytesRead: number;
  readonly maxProbeBytes: number;
  readonly sidecarErrors: readonly { readonly relPath: string; readonly error: string }[];
  readonly ms: number;
  /**
   * Why the root could not be scanned (ENOENT, EACCES, EIO..., or EEMPTY for an empty root over a
   * catalogue that is not); the catalogue was then left as it was. Null when the scan ran.
   */
  readonly rootError: string | null;
}

/** A scan's report and the rows it removed (kept a while by the library to recognise a late rename). */
export interface ScanOutcome {
  readonly report: ScanReport;
  readonly removed: readonly StoredContent[];
}

/** What a scan may be given besides the root and the catalogue. */
export interface ScanOptions {
  /** Aborts the scan before it writes anything (the server closing). */
  readonly signal?: AbortSignal;
  /** Rows removed by earlier scans that a file appearing now may be the renamed copy of. */
  readonly recentlyRemoved?: readonly StoredContent[];
}

interface Found {
  readonly relPath: string;
  readonly full: string;
  readonly stats: Stats;
  readonly sidecarMtimeMs: number | null;
}

/** Makes a new content id: 12 url-safe characters from 72 random bits. */
export function newContentId(): string {
  return randomBytes(9).toString('base64url');
}

/** A readable default title from a file name: "wsop_2024_main-event_day1.mp4" → "wsop 2024 main-event day1". */
export function titleFromFile(relPath: string): string {
  const base = path.posix.basename(relPath).replace(/\.[^.]+$/, '');
  return base.replace(/[_.]+/g, ' ').replace(/\s+/g, ' ').trim() || base;
}

/** Scans `root` and brings `store` in line with it. */
export async function scanLibrary(root: string, store: ContentStore, opts: ScanOptions = {}): Promise<ScanOutcome> {
  const t0 = performance.now();
  const { signal } = opts;
  const unreachable = (code: string): ScanOutcome => ({
    report: { ...EMPTY_REPORT, unplayable: store.counts().unplayable, ms: Math.round(performance.now() - t0), rootError: code },
    removed: [],
  });
  let realRoot: string;
  let rootId: string;
  try {
    realRoot = await realpath(root);
    rootId = await rootIdentity(realRoot);
    const top = await readdir(realRoot);
    if (!top.some((name) => !name.startsWith('.')) && store.counts().total > 0) return unreachable('EEMPTY');
  } catch (err) {
    return unreachable((err as NodeJS.ErrnoException).code ?? 'EIO');
  }
  const walked = await walk(root, realRoot, signal);
  if (walked.rootError !== null) return unreachable(walked.rootError);
  // A share unmounted during the walk makes the folders not yet read look deleted: write nothing unless
  // the root is still the folder the walk began in.
  const rootNow = await rootIdentity(root).catch((err: NodeJS.ErrnoException) => err.code ?? 'EIO');
  if (rootNow !== rootId) return unreachable(rootNow.includes(':') ? 'ECHANGED' : rootNow);
  const { found, unsure } = walked;
  const stored = new Map(store.list().map((c) => [c.relPath, c]));
  const seen = new Set(found.map((f) => f.relPath));
  // A row whose file or folder could not be read this time (EIO, EACCES, a timeout) is kept as it is: only
  // a file known to be gone is removed.
  const missing = [...stored.values()].filter((c) => !seen.has(c.relPath) && !unsure.some((u) => c.relPath === u || c.relPath.startsWith(`${u}/`)));
  // Rename candidates: this scan's missing rows first, then rows removed by recent scans whose ids are free.
  const storedIds = new Set([...stored.values()].map((c) => c.id));
  const candidates = [...missing, ...(opts.recentlyRemoved ?? []).filter((c) => !storedIds.has(c.id))];

  let probeBytesRead = 0;
  let maxProbeBytes = 0;
  const sidecarErrors: { relPath: string; error: string }[] = [];
  let added = 0;
  let updated = 0;

  const work = found.filter((f) => {
    const old = stored.get(f.relPath);
    return !old || old.size !== f.stats.size || old.mtimeMs !== f.stats.mtimeMs || old.sidecarMtimeMs !== f.sidecarMtimeMs;
  });

  // A file that vanished from one path and appeared at another with the same size and mtime was renamed
  // (a move keeps the mtime): it keeps its id. Matched before any probe, so the order of probes cannot matter.
  const previous = new Map<Found, StoredContent>();
  for (const f of work) {
    const old = stored.get(f.relPath) ?? takeFirst(candidates, (m) => m.size === f.stats.size && m.mtimeMs === f.stats.mtimeMs);
    if (old) previous.set(f, old);
  }

  const records: ContentRecord[] = [];
  await forEachLimit(work, PROBE_CONCURRENCY, async (f) => {
    signal?.throwIfAborted();
    let old = previous.get(f);
    const sameBytes = old !== undefined && old.size === f.stats.size && old.mtimeMs === f.stats.mtimeMs && old.media !== null;
    let media: MediaInfo | null = sameBytes ? old!.media : null;
    let mimeType = sameBytes ? old!.mimeType : mimeFromExtension(f.relPath);
    let unplayableReason: string | null = sameBytes ? old!.unplayableReason : null;
    if (!sameBytes) {
      const probed = await probeFile(f.full, f.stats.size);
      probeBytesRead += probed.bytesRead;
      maxProbeBytes = Math.max(maxProbeBytes, probed.bytesRead);
      media = probed.media;
      mimeType = probed.mimeType ?? mimeType;
      unplayableReason = probed.error;
      // A copy that lost its mtime on the way (a move across file systems, a copy then delete) is the same
      // video when its size and everything the probe read match a row that went missing.
      const probedMedia = media;
      if (!old && probedMedia) old = takeFirst(candidates, (m) => m.size === f.stats.size && sameMedia(m.media, probedMedia));
    }
    const side = await readSidecarFor(f, media?.durationSeconds ?? null);
    if (side.error) sidecarErrors.push({ relPath: f.relPath, error: side.error });
    if (old && storedIds.has(old.id)) updated++; // a row removed by an earlier scan comes back as an addition
    else added++;
    records.push({
      id: old?.id ?? newContentId(),
      relPath: f.relPath,
      title: side.title ?? titleFromFile(f.relPath),
      size: f.stats.size,
      mtimeMs: f.stats.mtimeMs,
      mimeType,
      media,
      unplayableReason,
      hands: side.hands,
      sidecarError: side.error,
      sidecarMtimeMs: f.sidecarMtimeMs,
    });
  });

  signal?.throwIfAborted();
  // Candidates still unclaimed from this scan's missing rows are the removals.
  const removed = missing.filter((m) => candidates.includes(m));
  store.apply(records, removed.map((m) => m.id));
  const counts = store.counts();
  return {
    report: {
      files: found.length,
      added,
      updated,
      removed: removed.length,
      unplayable: counts.unplayable,
      probeBytesRead,
      maxProbeBytes,
      sidecarErrors,
      ms: Math.round(performance.now() - t0),
      rootError: null,
    },
    removed,
  };
}

/** Which folder a path is now (device and inode): it changes when a share is mounted or unmounted there. */
export async function rootIdentity(dir: string): Promise<string> {
  const st = await stat(dir);
  if (!st.isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
  return `${st.dev}:${st.ino}`;
}

const EMPTY_REPORT: ScanReport = { files: 0, added: 0, updated: 0, removed: 0, unplayable: 0, probeBytesRead: 0, maxProbeBytes: 0, sidecarErrors: [], ms: 0, rootError: null };

/** Removes and returns the first item that matches. */
function takeFirst<T>(items: T[], match: (item: T) => boolean): T | undefined {
  const i = items.findIndex(match);
  return i >= 0 ? items.splice(i, 1)[0] : undefined;
}

/** True when two probes read the same video: same container, length, codecs, picture and bitrate. */
function sameMedia(a: MediaInfo | null, b: MediaInfo): boolean {
  return (
    a !== null &&
    a.container === b.container &&
    a.durationSeconds === b.durationSeconds &&
    a.videoCodec === b.videoCodec &&
    a.audioCodec === b.audioCodec &&
    a.width === b.width &&
    a.height === b.height &&
    a.bitrate === b.bitrate
  );
}

function mimeFromExtension(relPath: string): string {
  return relPath.toLowerCase().endsWith('.mov') ? 'video/quicktime' : 'video/mp4';
}

async function probeFile(full: string, size: number): Promise<{ media: MediaInfo | null; mimeType: string | null; error: string | null; bytesRead: number }> {
  let fh;
  try {
    fh = await open(full, 'r');
  } catch (err) {
    return { media: null, mimeType: null, error: `cannot be opened (${(err as NodeJS.ErrnoException).code ?? 'error'})`, bytesRead: 0 };
  }
  try {
    const r = await probeMp4(fh, size);
    return { media: r.media, mimeType: r.mimeType, error: null, bytesRead: r.bytesRead };
  } catch (err) {
    if (err instanceof ProbeError) return { media: null, mimeType: null, error: err.message, bytesRead: err.bytesRead };
    return { media: null, mimeType: null, error: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, bytesRead: 0 };
  } finally {
    await fh.close();
  }
}

async function readSidecarFor(f: Found, duration: number | null): Promise<{ title: string | null; hands: ContentRecord['hands']; error: string | null }> {
  if (f.sidecarMtimeMs === null) return { title: null, hands: [], error: null };
  const file = sidecarPath(f.full);
  try {
    const st = await stat(file);
    if (st.size > MAX_SIDECAR_BYTES) throw new SidecarInvalid(`larger than ${MAX_SIDECAR_BYTES} bytes`);
    const side = parseSidecar(await readFile(file, 'utf8'), duration);
    return { title: side.title, hands: side.hands, error: null };
  } catch (err) {
    const msg = err instanceof SidecarInvalid ? err.message : `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    return { title: null, hands: [], error: msg };
  }
}

/** The sidecar beside a video: same folder, same base name, `.json`. */
export function sidecarPath(videoPath: string): string {
  return videoPath.replace(/\.[^./\\]+$/, '') + '.json';
}

/** A folder still to walk, with the real paths of the folders it was reached through (itself last). */
interface PendingDir {
  readonly dir: string;
  readonly chain: readonly string[];
}

/** What a walk found, and what it could not tell about. */
interface Walked {
  readonly found: Found[];
  /** Library-relative paths of folders and files that could not be read (not known to be gone). */
  readonly unsure: string[];
  /** Set when the root itself could not be read. */
  readonly rootError: string | null;
}

async function walk(root: string, realRoot: string, signal: AbortSignal | undefined): Promise<Walked> {
  const found: Found[] = [];
  const unsure: string[] = [];
  const relOf = (full: string): string => path.relative(root, full).split(path.sep).join('/');
  const dirs: PendingDir[] = [{ dir: root, chain: [realRoot] }];
  while (dirs.length > 0) {
    signal?.throwIfAborted();
    const { dir, chain } = dirs.pop()!;
    const realDir = chain[chain.length - 1]!;
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (dir === root) return { found, unsure, rootError: code };
      // An unreadable folder is skipped and the rest of the library still scans; its rows stay unless it is gone.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') unsure.push(relOf(dir));
      continue;
    }
    const jsonNames = new Set(entries.filter((e) => e.name.toLowerCase().endsWith('.json')).map((e) => e.name));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue; // hidden files, temp copies, OS metadata
      const full = path.join(dir, e.name);
      let real = path.join(realDir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        // Follow a link only when its target stays inside the library, and never to a folder this walk is
        // already inside (the root, the link's own folder or one above it, or one reached through another
        // link): each such link would multiply the walk until the OS refuses the path (ELOOP), and two of
        // them in one folder make that exponential.
        try {
          real = await realpathInside(realRoot, full);
          const st = await stat(real);
          isDir = st.isDirectory() && !chain.some((above) => isInside(real, above));
          isFile = st.isFile();
        } catch {
          continue;
        }
      }
      if (isDir) {
        dirs.push({ dir: full, chain: [...chain, real] });
        continue;
      }
      if (!isFile || !VIDEO_EXTENSIONS.has(path.extname(e.name).toLowerCase())) continue;
      let stats: Stats;
      try {
        stats = await stat(full);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') unsure.push(relOf(full));
        continue;
      }
      const sideName = path.basename(sidecarPath(full));
      let sidecarMtimeMs: number | null = null;
      if (jsonNames.has(sideName)) {
        sidecarMtimeMs = await stat(path.join(dir, sideName)).then((s) => s.mtimeMs, () => null);
      }
      found.push({ relPath: relOf(full), full, stats, sidecarMtimeMs });
    }
  }
  return { found, unsure, rootError: null };
}

async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}
