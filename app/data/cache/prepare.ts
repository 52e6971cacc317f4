/**
 * Preparing a run's training samples into the cache: every sample whose record is missing, or
 * whose file's path, size or mtime changed since it was read (for a plane of a series: of any
 * slice file it reads), is read again, prepared and
 * appended to a new shard. Returns, per sample, where its prepared values lie (null for huge
 * images, which are read by random windows and never cached).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sampleKey, type ChannelTransform, type ImageEntry } from '../batches';
import { planeFiles } from '../volumes/series-slices';
import { prepareSample } from './prepared';
import { cacheRoot, cacheVariant, readShards, recordKey, SHARD_BYTES, ShardWriter, type PlacedRecord } from './shards';

/** How far preparing has got. */
export interface PrepareProgress {
  /** Samples looked at (cached or prepared). */
  done: number;
  total: number;
  /** Samples that had to be read from their files (missing or changed). */
  read: number;
  /** Of those, samples whose file changed since it was cached. */
  changed: number;
}

/** Options of `prepareTrainingCache`. */
export interface PrepareOptions {
  projectDir: string;
  entries: ImageEntry[];
  /** The stored shorter side (`storedSide(imgSize)`). */
  side: number;
  transform?: ChannelTransform;
  onProgress?: (progress: PrepareProgress) => void;
  /** Files read at once (decoding runs on libuv's threads). */
  concurrency?: number;
  /** Stops between samples; what was written so far stays usable. */
  signal?: AbortSignal;
  /** A shard is finished once it holds this many bytes (default {@link SHARD_BYTES}). */
  shardBytes?: number;
}

/** The outcome of preparing: per entry its record (null: not cached), and the counts. */
export interface PreparedCache {
  records: (PlacedRecord | null)[];
  progress: PrepareProgress;
  folder: string;
}

/** Brings the cache up to date for `entries`; throws naming a file that cannot be read. */
export async function prepareTrainingCache(options: PrepareOptions): Promise<PreparedCache> {
  const { entries, side, transform } = options;
  const folder = path.join(cacheRoot(options.projectDir), cacheVariant(transform, side));
  const stored = readShards(folder);
  const records: (PlacedRecord | null)[] = entries.map(() => null);
  const progress: PrepareProgress = { done: 0, total: entries.length, read: 0, changed: 0 };
  const todo: number[] = [];
  // Taken before any read: a slice file changed while it is read then differs from the stamp.
  const stamps: (string | undefined)[] = entries.map(() => undefined);
  const stats = new Map<string, fs.Stats | null>();
  for (const [index, entry] of entries.entries()) {
    if (entry.huge || entry.slide) {
      // Read by windows at every draw (slides at the plan's scale): nothing to prepare whole.
      progress.done += 1;
      continue;
    }
    const record = stored.get(recordKey(entry.sha256, entry.path, sampleKey(entry)));
    const stat = statOrNull(entry.path);
    stamps[index] = slicesStamp(entry, stats);
    if (
      record &&
      stat &&
      record.path === entry.path &&
      record.sizeBytes === stat.size &&
      record.mtimeMs === stat.mtimeMs &&
      record.slices === stamps[index]
    ) {
      records[index] = record;
      progress.done += 1;
    } else {
      if (record) progress.changed += 1;
      todo.push(index);
    }
  }
  options.onProgress?.({ ...progress });
  let writer: ShardWriter | null = null;
  let next = 0;
  // Prepared samples wait here until every earlier one is written: shards keep the entries' order.
  const ready = new Map<number, Awaited<ReturnType<typeof prepareOne>>>();
  let written = 0;
  const flush = () => {
    while (ready.has(written)) {
      const { index, sample, stat } = ready.get(written)!;
      ready.delete(written);
      written += 1;
      const entry = entries[index]!;
      writer ??= new ShardWriter(folder);
      records[index] = writer.append(
        {
          key: recordKey(entry.sha256, entry.path, sampleKey(entry)),
          path: entry.path,
          sizeBytes: stat.size,
          mtimeMs: stat.mtimeMs,
          ...(stamps[index] === undefined ? {} : { slices: stamps[index] }),
        },
        sample,
      );
      progress.done += 1;
      progress.read += 1;
      if (writer.size >= (options.shardBytes ?? SHARD_BYTES)) {
        writer.finish();
        writer = null;
      }
      options.onProgress?.({ ...progress });
    }
  };
  const prepareOne = async (index: number) => {
    const entry = entries[index]!;
    // Stat before reading: a file changed during the read then has a newer mtime than recorded.
    const stat = fs.statSync(entry.path);
    return { index, stat, sample: await prepareSample(entry, side, transform) };
  };
  let failure: unknown = null;
  const work = async () => {
    try {
      while (next < todo.length && failure === null && !options.signal?.aborted) {
        const position = next++;
        ready.set(position, await prepareOne(todo[position]!));
        if (failure === null) flush();
      }
    } catch (error) {
      failure ??= error;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, work));
  // What was prepared before a failure is kept; the failing file is named by prepareSample.
  (writer as ShardWriter | null)?.finish();
  if (failure !== null) throw failure;
  return { records, progress, folder };
}

/**
 * For a plane of a series, a hash of the path, size and mtime of every slice file it reads
 * (`stats` keeps each file's, so a series' planes stat its files once); else undefined.
 */
export function slicesStamp(entry: ImageEntry, stats: Map<string, fs.Stats | null> = new Map()): string | undefined {
  if (!entry.plane?.series) return undefined;
  const hash = createHash('sha256');
  for (const file of planeFiles(entry.plane)) {
    if (!stats.has(file)) stats.set(file, statOrNull(file));
    const stat = stats.get(file);
    hash.update(`${file}\0${stat?.size ?? -1}\0${stat?.mtimeMs ?? -1}\0`);
  }
  return hash.digest('hex').slice(0, 32);
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}
