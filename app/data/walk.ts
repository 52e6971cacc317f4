/**
 * Finding the files of an import: checks every folder first, then walks each one recursively,
 * skipping hidden entries and never entering the same real directory twice (symlink loops).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../contract';
import { isImageFileName } from './formats';

/** One file to import. */
export interface Candidate {
  /** Absolute path as found (symlinks not resolved). */
  path: string;
  /** Name of the file's parent folder; null when the file sits directly in the imported folder. */
  label: string | null;
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

  async function visit(directory: string, root: string): Promise<void> {
    if (options.signal?.aborted) return;
    const real = await fs.realpath(directory).catch(() => null);
    if (real === null || seenDirectories.has(real)) return;
    seenDirectories.add(real);
    const entries = await fs.readdir(directory, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(directory, entry.name);
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await fs.stat(full).catch(() => null);
        isDirectory = target?.isDirectory() ?? false;
        isFile = target?.isFile() ?? false;
      }
      if (isDirectory) {
        await visit(full, root);
      } else if (isFile && isImageFileName(entry.name) && !seenFiles.has(full)) {
        seenFiles.add(full);
        candidates.push({ path: full, label: directory === root ? null : path.basename(directory) });
        options.onFound?.(candidates.length);
      }
    }
  }

  for (const root of roots) await visit(root, root);
  return candidates;
}
