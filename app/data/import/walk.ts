/**
 * Finding the files of an import: checks every folder first, then walks each one recursively,
 * skipping hidden entries and never entering the same real directory twice (symlink loops). A
 * folder that is an OME-Zarr image (`multiscales` in its `.zattrs` or `zarr.json`) is one
 * candidate, not walked into.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../../contract';
import { isImageFileName } from '../formats/formats';
import { readOmeZarrAttributes } from '../formats/ome-zarr';

/** One file to import. */
export interface Candidate {
  /** Absolute path as found (symlinks not resolved). */
  path: string;
  /** Name of the file's parent folder; null when the file sits directly in the imported folder. */
  label: string | null;
  /** Why it cannot be imported, found while walking (a link loop, an unreadable folder). */
  problem?: string;
}

/** Options of {@link findImageFiles}. */
export interface WalkOptions {
  signal?: AbortSignal;
  /** Called with the running count each time a candidate is found. */
  onFound?: (found: number) => void;
}

/**
 * Resolves the folders of an import and throws INVALID_ARGUMENT naming the first one that is
 * missing, not a folder, or unreadable, so nothing is imported from a half-valid request.
 */
export async function checkFolders(folders: readonly string[]): Promise<string[]> {
  if (folders.length === 0) throw new StudioError('INVALID_ARGUMENT', 'no folder to import');
  const resolved: string[] = [];
  for (const folder of folders) {
    const absolute = path.resolve(folder);
    let stats;
    try {
      stats = await fs.stat(absolute);
    } catch (error) {
      throw new StudioError('INVALID_ARGUMENT', `${absolute} ${describeFolderError(error)}`, { path: absolute });
    }
    if (!stats.isDirectory()) {
      throw new StudioError('INVALID_ARGUMENT', `${absolute} is not a folder`, { path: absolute });
    }
    try {
      await fs.access(absolute, fs.constants.R_OK | fs.constants.X_OK);
    } catch {
      throw new StudioError('INVALID_ARGUMENT', `${absolute} cannot be read (permission denied)`, { path: absolute });
    }
    resolved.push(absolute);
  }
  return resolved;
}

function describeFolderError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'ENOTDIR') return 'is not a folder';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot be read (permission denied)';
  return `cannot be opened: ${(error as Error).message}`;
}

/**
 * Every file with a supported extension under the given (already checked) folders, in a stable
 * order. A file reachable twice (overlapping folders, symlinks) is listed once. Sub-folders that
 * cannot be read are skipped: the import reports on files, and the folder itself was checked.
 */
export async function findImageFiles(roots: readonly string[], options: WalkOptions = {}): Promise<Candidate[]> {
  const candidates: Candidate[] = [];
  const seenDirectories = new Set<string>();
  const seenFiles = new Set<string>();

  /** `inherited`: the label of a Zarr container's images (bioformats2raw), its parent folder's. */
  async function visit(directory: string, root: string, inherited?: string | null): Promise<void> {
    if (options.signal?.aborted) return;
    const real = await fs.realpath(directory).catch(() => null);
    if (real === null || seenDirectories.has(real)) return;
    seenDirectories.add(real);
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(directory, { withFileTypes: true });
    } catch (error) {
      // The folder itself was checked; a sub-folder that cannot be listed is reported as a row.
      if (directory !== root) {
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (error as Error).message;
        candidates.push({
          path: directory,
          label: null,
          problem: `folder cannot be read (${why}): its images were not imported`,
        });
        options.onFound?.(candidates.length);
      }
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(directory, entry.name);
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      let problem: string | undefined;
      if (entry.isSymbolicLink()) {
        const target = await fs.stat(full).catch((error: NodeJS.ErrnoException) => {
          problem =
            error.code === 'ELOOP'
              ? 'symbolic link loop (the link leads back to itself)'
              : 'broken symbolic link (its target does not exist)';
          return null;
        });
        isDirectory = target?.isDirectory() ?? false;
        isFile = target?.isFile() ?? false;
      }
      // Names that are not UTF-8 reach us with replacement characters: no path names the file.
      if (entry.name.includes('\uFFFD')) problem = 'file name is not valid UTF-8: rename the file to import it';
      const label = inherited !== undefined ? inherited : directory === root ? null : path.basename(directory);
      if (isDirectory) {
        const image = omeZarrFolder(full);
        if (image) {
          if (!seenFiles.has(full)) {
            seenFiles.add(full);
            candidates.push(image.problem ? { path: full, label, problem: image.problem } : { path: full, label });
            options.onFound?.(candidates.length);
          }
          continue;
        }
        const before = candidates.length;
        // Images anywhere inside a `.zarr` container (bioformats2raw writes `x.ome.zarr/0`, `/1`,
        // …; plates `A/1/0`) are labelled by the folder holding the container, not by its parts.
        await visit(full, root, /\.zarr$/i.test(entry.name) ? label : inherited);
        // A `.zarr` folder holding no image (a plain array, a table): said, not silently skipped.
        if (/\.zarr$/i.test(entry.name) && candidates.length === before && !seenFiles.has(full)) {
          seenFiles.add(full);
          candidates.push({
            path: full,
            label,
            problem:
              "Zarr folder without an OME-Zarr image: no 'multiscales' in its .zattrs or zarr.json, " +
              "nor in a sub-folder's",
          });
          options.onFound?.(candidates.length);
        }
      } else if ((isFile || problem) && isImageFileName(entry.name) && !seenFiles.has(full)) {
        seenFiles.add(full);
        candidates.push(problem ? { path: full, label, problem } : { path: full, label });
        options.onFound?.(candidates.length);
      }
    }
  }

  for (const root of roots) {
    // An OME-Zarr folder chosen itself is the one image of its import.
    const image = omeZarrFolder(root);
    if (image && !seenFiles.has(root)) {
      seenFiles.add(root);
      candidates.push(
        image.problem ? { path: root, label: null, problem: image.problem } : { path: root, label: null },
      );
      options.onFound?.(candidates.length);
    } else if (!image) {
      await visit(root, root);
    }
  }
  return candidates;
}

/** Whether a folder is an OME-Zarr image, and what is wrong with its attributes if anything. */
function omeZarrFolder(directory: string): { problem?: string } | null {
  try {
    return readOmeZarrAttributes(directory) ? {} : null;
  } catch (error) {
    return { problem: (error as Error).message };
  }
}
