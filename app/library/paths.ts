/**
 * Keeps file paths inside their roots. Ids never become paths: a path is always a catalogued
 * library-relative path joined to the configured root, then checked lexically and through symlinks.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';

/** True when `candidate` is `root` itself or lies below it (both absolute and normalised). */
export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Joins a stored relative path to its root; undefined when the result would leave the root. */
export function joinInside(root: string, relPath: string): string | undefined {
  if (relPath.includes('\0')) return undefined;
  const full = path.resolve(root, ...relPath.split('/'));
  return isInside(root, full) && full !== root ? full : undefined;
}

/**
 * Resolves symlinks and checks the real file still lies under the root's real path.
 * Rejects with the file-system error (ENOENT and the like) or with an ELOOP-coded error on escape.
 */
export async function realpathInside(realRoot: string, full: string): Promise<string> {
  const real = await realpath(full);
  if (!isInside(realRoot, real)) {
    const err = new Error('path escapes its root') as NodeJS.ErrnoException;
    err.code = 'EPATHESCAPE';
    throw err;
  }
  return real;
}
