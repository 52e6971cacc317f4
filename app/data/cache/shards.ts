/**
 * The decoded training cache on disk: shard files of prepared samples (`prepared.ts`) written
 * back to back, each with a JSON manifest naming every record's key, the file it came from (path,
 * size, mtime at the time it was read), and its offset, length and shape. Samples are read back
 * by offset with `fs.read` into preallocated buffers (the OS page cache keeps hot shards in
 * memory; Node has no mmap, and this needs none).
 *
 * Folder: `<project>/cache/training/<variant>/` where the variant hashes what the stored values
 * depend on (the channel plan's conversion, bands, clips and centers, and the stored side), so a
 * changed plan or model size never reads another's samples. Records are keyed by the image's
 * content hash and frame; a record is used only while its file's path, size and mtime are what
 * they were when it was read (for a plane of a series, those of every slice file it read). A shard
 * is written to `*.tmp`, flushed, renamed; its manifest is written the same way after it, and a
 * shard without a complete manifest whose byte count matches is never read (a kill while writing
 * leaves only files the next open deletes).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChannelTransform } from '../batches';
import { PREPARED_BYTES, type PreparedSample, type PreparedType } from './prepared';

/** Where one stored sample lies, and what it was read from. */
export interface CacheRecord {
  /** `<content sha256>#<frame>` (or `<path>#<frame>` for images stored without a hash). */
  key: string;
  path: string;
  sizeBytes: number;
  mtimeMs: number;
  /**
   * For a plane of a series: a hash of the path, size and mtime of every slice file it read
   * (`slicesStamp` in `prepare.ts`), so a change to any of them makes it stale.
   */
  slices?: string;
  offset: number;
  byteLength: number;
  channels: number;
  height: number;
  width: number;
  sampleType: PreparedType;
}

/** A record with the shard file holding it. */
export interface PlacedRecord extends CacheRecord {
  file: string;
}

/** A shard's manifest; `bytes` is the shard file's exact length. */
interface ShardManifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  /** Values are written little-endian (every platform the studio runs on). */
  endian: 'little';
  bytes: number;
  records: CacheRecord[];
}

const MANIFEST_FORMAT = 'mae-studio-training-cache';
/** A shard is closed (and becomes usable) once it holds this many bytes. */
export const SHARD_BYTES = 256 * 2 ** 20;

/** The project's training cache folder (every variant below it). */
export function cacheRoot(projectDir: string): string {
  return path.join(projectDir, 'cache', 'training');
}

/** The variant folder name: a hash of what the stored values depend on. */
export function cacheVariant(transform: ChannelTransform | undefined, side: number): string {
  const plan = transform
    ? {
        inputChannels: transform.inputChannels ?? null,
        conversions: transform.conversions ?? null,
        bands: transform.bands,
        clip: transform.clip,
        center: transform.center,
      }
    : { raw: true };
  return `side${side}-${createHash('sha256').update(JSON.stringify(plan)).digest('hex').slice(0, 16)}`;
}

/** The key of a sample: content hash and frame (or a volume plane's `sampleKey`). */
export function recordKey(
  sha256: string | null | undefined,
  filePath: string,
  frame: number | string | undefined,
): string {
  return `${sha256 ?? filePath}#${frame ?? 0}`;
}

/** The complete shards of one variant folder, newest record per key; deletes leftovers of torn writes. */
export function readShards(folder: string): Map<string, PlacedRecord> {
  const records = new Map<string, PlacedRecord>();
  if (!fs.existsSync(folder)) return records;
  const names = fs.readdirSync(folder).sort(); // shard names start with their creation time
  for (const name of names) {
    const full = path.join(folder, name);
    if (name.endsWith('.tmp')) {
      // a write that never finished (or, when recent, another run's in progress)
      if (abandoned(full)) fs.rmSync(full, { force: true });
      continue;
    }
    if (!name.endsWith('.bin')) continue;
    const manifest = readManifest(full.replace(/\.bin$/, '.json'), full);
    if (!manifest) {
      // renamed, but killed before its manifest was: never read
      if (abandoned(full)) removeShard(full);
      continue;
    }
    for (const record of manifest.records) records.set(record.key, { ...record, file: full });
  }
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    if (!fs.existsSync(path.join(folder, name.replace(/\.json$/, '.bin'))))
      fs.rmSync(path.join(folder, name), { force: true });
  }
  return records;
}

/** Files older than this and still unfinished belong to a write that was killed. */
const ABANDONED_MS = 10 * 60 * 1000;

function abandoned(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs > ABANDONED_MS;
  } catch {
    return false;
  }
}

function readManifest(file: string, shard: string): ShardManifest | null {
  try {
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as ShardManifest;
    if (manifest.format !== MANIFEST_FORMAT || manifest.version !== 1 || manifest.endian !== 'little') return null;
    if (fs.statSync(shard).size !== manifest.bytes) return null;
    if (manifest.records.some((record) => record.offset + record.byteLength > manifest.bytes)) return null;
    return manifest;
  } catch {
    return null; // missing or cut short: the shard is not used
  }
}

function removeShard(shard: string): void {
  fs.rmSync(shard, { force: true });
  fs.rmSync(shard.replace(/\.bin$/, '.json'), { force: true });
}

/** Appends prepared samples to a new shard; `finish` makes it (atomically) part of the cache. */
export class ShardWriter {
  readonly file: string;
  private readonly temporary: string;
  private readonly descriptor: number;
  private bytes = 0;
  private readonly records: CacheRecord[] = [];

  constructor(folder: string) {
    fs.mkdirSync(folder, { recursive: true });
    // Creation time first, so a later shard's record of the same key wins in `readShards`.
    this.file = path.join(
      folder,
      `shard-${Date.now().toString().padStart(15, '0')}-${randomBytes(4).toString('hex')}.bin`,
    );
    this.temporary = `${this.file}.tmp`;
    this.descriptor = fs.openSync(this.temporary, 'wx');
  }

  /** Bytes written so far. */
  get size(): number {
    return this.bytes;
  }

  /** Samples written so far. */
  get count(): number {
    return this.records.length;
  }

  /** Writes one sample; returns where it will be once the shard is finished. */
  append(
    source: Omit<CacheRecord, 'offset' | 'byteLength' | 'channels' | 'height' | 'width' | 'sampleType'>,
    sample: PreparedSample,
  ): PlacedRecord {
    const bytes = new Uint8Array(
      sample.values.buffer,
      sample.values.byteOffset,
      sample.values.length * PREPARED_BYTES[sample.sampleType],
    );
    let written = 0;
    while (written < bytes.length)
      written += fs.writeSync(this.descriptor, bytes, written, bytes.length - written, this.bytes + written);
    const record: CacheRecord = {
      ...source,
      offset: this.bytes,
      byteLength: bytes.length,
      channels: sample.channels,
      height: sample.height,
      width: sample.width,
      sampleType: sample.sampleType,
    };
    this.bytes += bytes.length;
    this.records.push(record);
    return { ...record, file: this.file };
  }

  /** Flushes and renames the shard, then its manifest: from here on it is read. */
  finish(): void {
    fs.fsyncSync(this.descriptor);
    fs.closeSync(this.descriptor);
    if (this.records.length === 0) {
      fs.rmSync(this.temporary, { force: true });
      return;
    }
    fs.renameSync(this.temporary, this.file);
    const manifest: ShardManifest = {
      format: MANIFEST_FORMAT,
      version: 1,
      endian: 'little',
      bytes: this.bytes,
      records: this.records,
    };
    const manifestFile = this.file.replace(/\.bin$/, '.json');
    const descriptor = fs.openSync(`${manifestFile}.tmp`, 'w');
    try {
      fs.writeSync(descriptor, JSON.stringify(manifest));
      fs.fsyncSync(descriptor);
    } finally {
      fs.closeSync(descriptor);
    }
    fs.renameSync(`${manifestFile}.tmp`, manifestFile);
  }

  /** Drops an unfinished shard (an error while preparing). */
  abandon(): void {
    try {
      fs.closeSync(this.descriptor);
    } catch {
      /* already closed */
    }
    fs.rmSync(this.temporary, { force: true });
  }
}

/** What the cache of a project holds. */
export interface CacheUsage {
  bytes: number;
  shards: number;
  samples: number;
}

/** Bytes, complete shards and samples in a project's training cache (every variant). */
export function cacheUsage(projectDir: string): CacheUsage {
  const usage: CacheUsage = { bytes: 0, shards: 0, samples: 0 };
  const root = cacheRoot(projectDir);
  if (!fs.existsSync(root)) return usage;
  for (const variant of fs.readdirSync(root, { withFileTypes: true })) {
    if (!variant.isDirectory()) continue;
    const folder = path.join(root, variant.name);
    for (const name of fs.readdirSync(folder)) {
      const full = path.join(folder, name);
      usage.bytes += fs.statSync(full).size;
      if (!name.endsWith('.bin')) continue;
      const manifest = readManifest(full.replace(/\.bin$/, '.json'), full);
      if (!manifest) continue;
      usage.shards += 1;
      usage.samples += manifest.records.length;
    }
  }
  return usage;
}

/** Deletes a project's training cache; the next run prepares its samples again. */
export function deleteCache(projectDir: string): void {
  fs.rmSync(path.join(projectDir, 'cache', 'training'), { recursive: true, force: true });
}
