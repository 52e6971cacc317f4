/**
 * SIGKILL while the training cache is being written (the pattern of
 * app/train/kill-during-write.test.ts): a child prepares one sample per shard and is killed at
 * varying moments. After every kill, each record the cache would use holds exactly the sample's
 * values, and the next preparation completes what is missing. Torn states are also built by
 * hand: an unfinished shard, a shard without manifest, a manifest that promises more bytes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageEntry } from '../batches';
import { temporaryFolder, writeFixture } from '../images.fixtures';
import { prepareTrainingCache } from './prepare';
import { PREPARED_BYTES, prepareSample } from './prepared';
import { cacheRoot, cacheVariant, readShards, ShardWriter, type PlacedRecord } from './shards';

const SIDE = 160;
const COUNT = 24;
let folder: ReturnType<typeof temporaryFolder>;
let childScript: string;
let entries: ImageEntry[];
const expected = new Map<string, Buffer>();

beforeAll(async () => {
  folder = temporaryFolder('mae-kill-cache-');
  // ESM inside the repository, so the child resolves its packages from node_modules as the app
  // does (some, like nifti-reader-js, can only be imported, not required).
  childScript = path.resolve('node_modules', '.cache', 'mae-studio', `kill-during-prepare-${process.pid}.mjs`);
  buildSync({
    entryPoints: [path.resolve('app/data/cache/kill-during-prepare.child.ts')],
    outfile: childScript,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'error',
  });
  entries = [];
  for (let index = 0; index < COUNT; index++) {
    const name = `${String(index).padStart(2, '0')}.png`;
    const file = await writeFixture(path.join(folder.dir, 'images', name), {
      format: 'png',
      bitDepth: 8,
      channels: 3,
      width: 200,
      height: 180,
      seed: index,
    });
    const entry = { path: file, sha256: `hash-${name}`, channels: 3, bitDepth: 8 };
    entries.push(entry);
    const sample = await prepareSample(entry, SIDE);
    expected.set(
      `hash-${name}#0`,
      Buffer.from(sample.values.buffer, sample.values.byteOffset, sample.values.byteLength),
    );
  }
}, 60_000);
afterAll(() => {
  folder.remove();
  fs.rmSync(childScript, { force: true });
});

/** Runs the child and SIGKILLs it `delayMs` after its `afterLine`-th line; resolves with its lines. */
function runAndKill(projectDir: string, afterLine: number, delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, projectDir, path.join(folder.dir, 'images'), String(SIDE)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_PATH: path.resolve('node_modules') },
    });
    const lines: string[] = [];
    let buffer = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (lines.length === afterLine) setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve(lines);
      else reject(new Error(`child exited ${code}: ${stderr}`));
    });
  });
}

/** Every record the cache would use, checked byte for byte against the sample it stands for. */
function checkRecords(records: Map<string, PlacedRecord>): void {
  for (const [key, record] of records) {
    const bytes = Buffer.alloc(record.byteLength);
    const descriptor = fs.openSync(record.file, 'r');
    try {
      fs.readSync(descriptor, bytes, 0, record.byteLength, record.offset);
    } finally {
      fs.closeSync(descriptor);
    }
    expect(record.byteLength).toBe(record.channels * record.height * record.width * PREPARED_BYTES[record.sampleType]);
    expect(bytes.equals(expected.get(key)!), key).toBe(true);
  }
}

describe('a kill while the training cache is written', () => {
  it('never leaves a record that does not hold its sample, and the next preparation completes it', async () => {
    const projectDir = path.join(folder.dir, 'project');
    const variantFolder = path.join(cacheRoot(projectDir), cacheVariant(undefined, SIDE));
    let killedMidway = 0;
    for (let round = 0; round < 6; round++) {
      const lines = await runAndKill(projectDir, 2 + (round % 3), round % 4);
      if (!lines.includes('done')) killedMidway += 1;
      checkRecords(readShards(variantFolder));
    }
    expect(killedMidway).toBeGreaterThan(0);
    const finished = await prepareTrainingCache({ projectDir, entries, side: SIDE });
    expect(finished.records.every((record) => record !== null)).toBe(true);
    const all = readShards(variantFolder);
    expect(all.size).toBe(COUNT);
    checkRecords(all);
  }, 120_000);

  it('reads no shard that is unfinished, has no manifest, or is shorter than its manifest says', async () => {
    const variantFolder = path.join(folder.dir, 'torn');
    const sample = await prepareSample(entries[0]!, SIDE);
    const source = { key: 'hash-00.png#0', path: entries[0]!.path, sizeBytes: 1, mtimeMs: 1 };
    const unfinished = new ShardWriter(variantFolder);
    unfinished.append(source, sample); // killed before `finish`: only a .tmp file
    const noManifest = new ShardWriter(variantFolder);
    noManifest.append(source, sample);
    noManifest.finish();
    fs.rmSync(noManifest.file.replace(/\.bin$/, '.json'));
    const truncated = new ShardWriter(variantFolder);
    truncated.append(source, sample);
    truncated.finish();
    fs.truncateSync(truncated.file, 100);
    expect(readShards(variantFolder).size).toBe(0);
    const whole = new ShardWriter(variantFolder);
    whole.append(source, sample);
    whole.finish();
    expect([...readShards(variantFolder).values()].map((record) => record.file)).toEqual([whole.file]);
  });
});
