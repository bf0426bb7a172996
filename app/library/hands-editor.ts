/**
 * Replaces a video's hands from the operator (`PUT /api/admin/contents/{id}/hands`): the document is
 * validated whole (the sidecar's schema and rules), the sidecar beside the video is rewritten atomically
 * (a hidden temporary file in the same folder, fsynced, renamed over the old one), and only then the
 * catalogue row. An invalid document changes nothing, on disk or in the catalogue.
 */
import { randomBytes } from 'node:crypto';
import { open, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Content } from '../model/content.ts';
import { FileUnavailable, ValidationFailed } from '../model/errors.ts';
import type { ContentStore } from '../persistence/content-store.ts';
import { isInside, joinInside } from './paths.ts';
import { sidecarPath, titleFromFile } from './scanner.ts';
import { SidecarInvalid, validateSidecar } from './sidecar.ts';

/** Validates `doc` against the video and writes it as the video's sidecar and hands; returns nothing the caller must undo. */
export async function replaceHands(root: string, store: ContentStore, content: Content, doc: unknown): Promise<void> {
  let side;
  try {
    side = validateSidecar(doc, content.media?.durationSeconds ?? null);
  } catch (err) {
    if (err instanceof SidecarInvalid) throw new ValidationFailed('hands', err.message);
    throw err;
  }
  const video = joinInside(root, content.relPath);
  if (!video) throw new FileUnavailable(content.id, 'EPATHESCAPE');
  let dir: string;
  try {
    // The folder is judged by its real path: a folder swapped for a link out of the library gets no write.
    dir = await realpath(path.dirname(video));
    if (!isInside(await realpath(root), dir)) throw Object.assign(new Error('outside the library'), { code: 'EPATHESCAPE' });
  } catch (err) {
    throw new FileUnavailable(content.id, (err as NodeJS.ErrnoException).code ?? 'EIO');
  }
  // A title the operator gave before (in the old sidecar) stays unless the document brings a new one.
  const fromName = titleFromFile(content.relPath);
  const title = side.title ?? (content.title !== fromName ? content.title : null);
  const text = `${JSON.stringify({ ...(title === null ? {} : { title }), hands: side.hands }, null, 2)}\n`;
  const name = path.basename(sidecarPath(video));
  const tmp = path.join(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path.join(dir, name));
  } catch (err) {
    await rm(tmp, { force: true });
    throw new FileUnavailable(content.id, (err as NodeJS.ErrnoException).code ?? 'EIO');
  }
  const st = await stat(path.join(dir, name));
  store.setHands(content.id, side.hands, title ?? fromName, st.mtimeMs);
}
