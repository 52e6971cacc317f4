/**
 * The one check every transport makes before reading a file for a client (serve mode's static
 * files and thumbnails, the desktop `studio://` protocol): the file, with every symlink followed,
 * must be a regular file inside the allowed folder (itself resolved the same way).
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * The real path of `candidate` when it is a regular file inside `root` after resolving `..`
 * and symlinks; null otherwise (missing, a folder, or anywhere outside `root`).
 */
export function realFileInside(root: string, candidate: string): string | null {
  try {
    const realRoot = fs.realpathSync(root);
    const real = fs.realpathSync(path.resolve(root, candidate));
    if (!real.startsWith(realRoot + path.sep)) return null;
    return fs.statSync(real).isFile() ? real : null;
  } catch {
    return null; // missing, a dangling link, or not readable: nothing to serve
  }
}
