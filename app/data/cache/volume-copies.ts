/**
 * Uncompressed copies of compressed volumes (`.nii.gz` inflated once, then read by offsets), kept
 * in one folder within a size limit:
 *
 * - Folder: the workspace's `cache/volumes/` ({@link volumeCopiesDir}; every process and thread
 *   that reads volumes is pointed at it when it opens the workspace), else a folder in the OS temp
 *   folder. A copy serves every project that imports the file, so it is kept per workspace.
 * - A copy is named by its source's path (`<sha256 of the path>.nii`) and stamped (`.json`, written
 *   after the copy is whole) with the source's size and modification time when it was inflated:
 *   it is reused while the source still has them, as the training cache reuses its records, and a
 *   changed source replaces its copy.
 * - After each new copy: copies whose source is gone or changed are removed, then the least
 *   recently used (the stamp's modification time, touched on each reuse) until the copies fit in
 *   {@link DEFAULT_VOLUME_COPIES}`.maxBytes` (the new one is kept even when it alone is larger);
 *   leftovers of an interrupted inflation are removed once older than `leftoverMs`. A copy another
 *   reader still has open stays readable (POSIX), or stays until the next sweep (Windows).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Limits of the copies folder. */
export const DEFAULT_VOLUME_COPIES = {
  /** Bytes of copies kept in all: 16 GiB, the largest volume read (`MAX_STREAMED_NIFTI_BYTES`). */
  maxBytes: 16 * 2 ** 30,
  /** A partial copy or an unstamped one older than this was left by an interrupted inflation. */
  leftoverMs: 10 * 60_000,
};

/** The stamp beside a copy: what it was made from. */
interface CopyStamp {
  format: typeof STAMP_FORMAT;
  version: 1;
  source: string;
  sizeBytes: number;
  mtimeMs: number;
  /** The copy's length. */
  bytes: number;
}

const STAMP_FORMAT = 'mae-studio-volume-copy';

let copiesDir = path.join(os.tmpdir(), 'mae-studio-volumes');
let copiesMaxBytes = DEFAULT_VOLUME_COPIES.maxBytes;

/** The folder copies go to in a workspace. */
export function volumeCopiesDir(workspaceDir: string): string {
  return path.join(workspaceDir, 'cache', 'volumes');
}

/** Where this process keeps copies now, and their byte limit. */
export function volumeCopies(): { dir: string; maxBytes: number } {
  return { dir: copiesDir, maxBytes: copiesMaxBytes };
}

/** Points this process (or thread) at a copies folder, optionally with another byte limit. */
export function setVolumeCopies(dir: string, maxBytes: number = DEFAULT_VOLUME_COPIES.maxBytes): void {
  copiesDir = dir;
  copiesMaxBytes = maxBytes;
}

/** The copy of `source` and its stamp. */
export function copyPaths(source: string): { copy: string; stamp: string } {
  const name = createHash('sha256').update(path.resolve(source)).digest('hex').slice(0, 32);
  return { copy: path.join(copiesDir, `${name}.nii`), stamp: path.join(copiesDir, `${name}.json`) };
}

/** The copy of `source` when it was made from the file as it is now (marked as just used), else null. */
export function reuseCopy(source: string, stat: fs.Stats): string | null {
  const { copy, stamp } = copyPaths(source);
  const stamped = readStamp(stamp);
  if (!stamped || stamped.sizeBytes !== stat.size || stamped.mtimeMs !== stat.mtimeMs) return null;
  const length = sizeOrNull(copy);
  if (length !== stamped.bytes) return null;
  const now = new Date();
  fs.utimesSync(stamp, now, now);
  return copy;
}

/**
 * Records that `copy` (just renamed into place) was made from `source` as `stat` says, then
 * sweeps the folder (see the file comment), never removing this copy.
 */
export function recordCopy(source: string, stat: fs.Stats): void {
  const { copy, stamp } = copyPaths(source);
  const record: CopyStamp = {
    format: STAMP_FORMAT,
    version: 1,
    source: path.resolve(source),
    sizeBytes: stat.size,
    mtimeMs: stat.mtimeMs,
    bytes: fs.statSync(copy).size,
  };
  const partial = `${stamp}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
  fs.writeFileSync(partial, JSON.stringify(record));
  fs.renameSync(partial, stamp);
  sweepCopies(copy);
}

/** Removes stale copies and leftovers, then the least recently used beyond the limit; returns what went. */
export function sweepCopies(keep: string | null = null): string[] {
  if (!fs.existsSync(copiesDir)) return [];
  const removed: string[] = [];
  const remove = (file: string) => {
    try {
      fs.rmSync(file, { force: true });
      removed.push(path.basename(file));
    } catch {
      // Open elsewhere (Windows): the next sweep tries again.
    }
  };
  const now = Date.now();
  const names = fs.readdirSync(copiesDir);
  const present = new Set(names);
  const kept: { copy: string; stamp: string; bytes: number; used: number }[] = [];
  for (const name of names) {
    const file = path.join(copiesDir, name);
    if (name.endsWith('.partial')) {
      if (now - (mtimeOrNull(file) ?? now) > DEFAULT_VOLUME_COPIES.leftoverMs) remove(file);
      continue;
    }
    if (name.endsWith('.nii')) {
      const stamp = file.replace(/\.nii$/, '.json');
      // A copy is stamped just after it is renamed into place: unstamped and old, it was left behind.
      if (!present.has(path.basename(stamp)) && now - (mtimeOrNull(file) ?? now) > DEFAULT_VOLUME_COPIES.leftoverMs)
        remove(file);
      continue;
    }
    if (!name.endsWith('.json')) continue;
    const copy = file.replace(/\.json$/, '.nii');
    const stamped = readStamp(file);
    const source = stamped ? statOrNull(stamped.source) : null;
    const fresh =
      stamped &&
      source &&
      source.size === stamped.sizeBytes &&
      source.mtimeMs === stamped.mtimeMs &&
      sizeOrNull(copy) === stamped.bytes;
    if (!fresh) {
      if (copy === keep) continue;
      remove(copy);
      remove(file);
      continue;
    }
    kept.push({ copy, stamp: file, bytes: stamped.bytes, used: mtimeOrNull(file) ?? 0 });
  }
  let total = kept.reduce((sum, item) => sum + item.bytes, 0);
  for (const item of kept.sort((a, b) => a.used - b.used)) {
    if (total <= copiesMaxBytes) break;
    if (item.copy === keep) continue;
    remove(item.copy);
    remove(item.stamp);
    total -= item.bytes;
  }
  return removed;
}

/** The source files of the stamped copies in the copies folder (absolute paths). */
export function copySources(): string[] {
  if (!fs.existsSync(copiesDir)) return [];
  return fs
    .readdirSync(copiesDir)
    .filter((name) => name.endsWith('.json'))
    .flatMap((name) => readStamp(path.join(copiesDir, name))?.source ?? []);
}

/** How many copies of `sources` the folder holds, and their bytes on disk (copy and stamp). */
export function copiesOf(sources: Iterable<string>): { copies: number; bytes: number } {
  const usage = { copies: 0, bytes: 0 };
  for (const source of new Set(sources)) {
    const { copy, stamp } = copyPaths(source);
    const bytes = sizeOrNull(copy);
    if (bytes === null || readStamp(stamp)?.source !== path.resolve(source)) continue;
    usage.copies += 1;
    usage.bytes += bytes + (sizeOrNull(stamp) ?? 0);
  }
  return usage;
}

/** Removes the copies of `sources` (copy and stamp); returns how many went. */
export function removeCopiesOf(sources: Iterable<string>): number {
  let removed = 0;
  for (const source of new Set(sources)) {
    const { copy, stamp } = copyPaths(source);
    if (readStamp(stamp)?.source !== path.resolve(source)) continue;
    try {
      fs.rmSync(stamp, { force: true }); // unstamped first: a half-removed copy is never reused
      fs.rmSync(copy, { force: true });
      removed += 1;
    } catch {
      // Open elsewhere (Windows): unstamped, the next sweep removes it.
    }
  }
  return removed;
}

function readStamp(file: string): CopyStamp | null {
  try {
    const stamp = JSON.parse(fs.readFileSync(file, 'utf8')) as CopyStamp;
    return stamp.format === STAMP_FORMAT && stamp.version === 1 ? stamp : null;
  } catch {
    return null; // missing or half written: no copy to reuse
  }
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}

function sizeOrNull(file: string): number | null {
  return statOrNull(file)?.size ?? null;
}

function mtimeOrNull(file: string): number | null {
  return statOrNull(file)?.mtimeMs ?? null;
}
