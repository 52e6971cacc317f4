/**
 * Import benchmark: 10,000 RGB 8-bit PNGs of 256×256 (generated once, cached under
 * `.bench/import-png-256/`), imported with thumbnails and stats into a fresh workspace through
 * `importFolders`. Prints files/s, peak RSS and where the time goes.
 *
 *   node dist/bench/import.js [--files N (multiple of 1000)] [--workers N (0: in this thread)]
 *                             [--concurrency N (in-thread)] [--thumbnail-size PX] [--dir DIR] [--json]
 *
 * `npm run bench:data` runs it at 1…N cores beside the decode ceiling.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  importFolders,
  defaultConcurrency,
  defaultImportWorkers,
  importMode,
  type ImportTimings,
} from '../app/data/import/import';
import { decodeImage } from '../app/data/formats/decode';
import { summarizePixels } from '../app/data/import/stats';
import { THUMBNAIL_SIZE, writeThumbnail } from '../app/data/import/thumbnail';
import { Workspace } from '../app/workspace';
import { benchFile, datasetFolders, DEFAULT_DATASET_DIR, ensureDataset, FILES_PER_FOLDER } from './data/png-dataset';

/** Files timed stage by stage, one at a time, for CPU cost per stage. */
const STAGE_SAMPLE = 300;

interface BenchOptions {
  files: number;
  workers: number;
  concurrency: number;
  dir: string;
  json: boolean;
  thumbnailSize: number;
}

function parseOptions(argv: readonly string[]): BenchOptions {
  const value = (name: string) => {
    const index = argv.indexOf(name);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const files = Number(value('--files') ?? 10_000);
  const concurrency = Number(value('--concurrency') ?? defaultConcurrency());
  if (!Number.isInteger(files) || files < FILES_PER_FOLDER || files % FILES_PER_FOLDER !== 0) {
    throw new Error(`--files must be a multiple of ${FILES_PER_FOLDER}, got ${value('--files')}`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`--concurrency must be a positive integer, got ${value('--concurrency')}`);
  const workers = Number(value('--workers') ?? defaultImportWorkers());
  if (!Number.isInteger(workers) || workers < 0)
    throw new Error(`--workers must be a whole number (0: in this thread), got ${value('--workers')}`);
  const thumbnailSize = Number(value('--thumbnail-size') ?? THUMBNAIL_SIZE);
  return {
    files,
    workers,
    concurrency,
    thumbnailSize,
    dir: path.resolve(value('--dir') ?? DEFAULT_DATASET_DIR),
    json: argv.includes('--json'),
  };
}

/** Passes over the stage sample; the fastest pass of each stage is kept (other load adds noise). */
const STAGE_PASSES = 3;

/** Milliseconds per file of each stage, one file at a time on a sample: ≈ its CPU cost. */
async function timeStages(options: BenchOptions, scratch: string): Promise<Record<string, number>> {
  const sample = Math.min(STAGE_SAMPLE, options.files);
  const best: Record<string, number> = {
    read: Infinity,
    hash: Infinity,
    decode: Infinity,
    stats: Infinity,
    thumbnail: Infinity,
  };
  for (let pass = 0; pass < STAGE_PASSES; pass++) {
    const totals: Record<string, number> = { read: 0, hash: 0, decode: 0, stats: 0, thumbnail: 0 };
    const time = async <T>(stage: string, run: () => T | Promise<T>): Promise<T> => {
      const started = performance.now();
      const value = await run();
      totals[stage]! += performance.now() - started;
      return value;
    };
    for (let index = 0; index < sample; index++) {
      const bytes = await time('read', () => fs.readFileSync(benchFile(options.dir, index)));
      await time('hash', () => createHash('sha256').update(bytes).digest('hex'));
      const image = await time('decode', () => decodeImage(bytes, 'png'));
      const summary = await time('stats', () => summarizePixels(image.pixels, image.channels, image.bitDepth));
      await time('thumbnail', () =>
        writeThumbnail(image, summary, path.join(scratch, `${pass}-${index}.jpg`), options.thumbnailSize),
      );
    }
    for (const stage of Object.keys(best)) best[stage] = Math.min(best[stage]!, totals[stage]! / sample);
  }
  return best;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const generationStarted = performance.now();
  const written = await ensureDataset(options);
  const generationSeconds = (performance.now() - generationStarted) / 1000;
  const bytes = Array.from(
    { length: Math.min(200, options.files) },
    (_, index) => fs.statSync(benchFile(options.dir, index)).size,
  );

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-bench-import-'));
  const workspace = new Workspace(path.join(root, 'workspace'));
  try {
    const project = workspace.projects.create('bench', 'general');
    const timings: ImportTimings = { read: 0, hash: 0, decode: 0, stats: 0, thumbnail: 0, database: 0 };
    const cpuBefore = process.cpuUsage();
    const result = await importFolders({
      importId: 'bench',
      projectId: project.id,
      folders: datasetFolders(options),
      images: workspace.images,
      projectDir: workspace.projectDir(project.id),
      workers: options.workers,
      concurrency: options.concurrency,
      thumbnailSize: options.thumbnailSize,
      timings,
    });
    const cpu = process.cpuUsage(cpuBefore);
    const processed = result.imported + result.skipped + result.duplicates.length + result.errors.length;
    if (processed !== options.files) throw new Error(`imported ${processed} files, expected ${options.files}`);
    const filesPerSecond = processed / result.seconds;
    const stages = await timeStages(options, fs.mkdtempSync(path.join(root, 'stages-')));
    const report = {
      files: options.files,
      imported: result.imported,
      failed: result.errors.length,
      seconds: Number(result.seconds.toFixed(2)),
      filesPerSecond: Math.round(filesPerSecond),
      workers: importMode(options).workers,
      concurrency: importMode(options).concurrency,
      thumbnailSize: options.thumbnailSize,
      threadpool: Number(process.env.UV_THREADPOOL_SIZE) || 4,
      cores: os.availableParallelism(),
      cpuMsPerFile: Number(((cpu.user + cpu.system) / 1000 / options.files).toFixed(3)),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      averagePngKiB: Math.round(bytes.reduce((sum, size) => sum + size, 0) / bytes.length / 1024),
      /** Wall ms per file per stage inside the concurrent import (includes waiting for the threadpool). */
      inImportMsPerFile: Object.fromEntries(
        Object.entries(timings).map(([stage, ms]) => [stage, Number((ms / options.files).toFixed(3))]),
      ),
      /** ms per file per stage, one file at a time, best of 3 passes (≈ CPU cost of each stage). */
      isolatedMsPerFile: Object.fromEntries(
        Object.entries(stages).map(([stage, ms]) => [stage, Number(ms.toFixed(3))]),
      ),
      /** What the isolated stage costs allow on all cores of an idle machine. */
      idleEstimateFilesPerSecond: Math.round(
        (1000 * os.availableParallelism()) / Object.values(stages).reduce((sum, ms) => sum + ms, 0),
      ),
      generated: written,
      generationSeconds: Number(generationSeconds.toFixed(1)),
    };
    if (options.json) {
      console.log(JSON.stringify(report));
    } else {
      console.log(
        `import: ${report.imported}/${report.files} files in ${report.seconds} s = ${report.filesPerSecond} files/s`,
      );
      console.log(
        `  ${report.cores} cores, ${report.workers ? `${report.workers} worker threads` : 'in this thread'}, ` +
          `${report.concurrency} files in flight, threadpool ${report.threadpool}, ` +
          `thumbnails ${report.thumbnailSize} px, ${report.cpuMsPerFile} CPU ms/file`,
      );
      console.log(`  peak RSS ${report.peakRssMiB} MiB, average PNG ${report.averagePngKiB} KiB`);
      console.log(`  in the import (wall ms/file, overlapping): ${JSON.stringify(report.inImportMsPerFile)}`);
      console.log(`  one file at a time (ms/file, best pass): ${JSON.stringify(report.isolatedMsPerFile)}`);
      console.log(
        `  ceiling from those stage costs on ${report.cores} idle cores: ${report.idleEstimateFilesPerSecond} files/s`,
      );
      if (written > 0)
        console.log(`  (generated ${written} files in ${report.generationSeconds} s; cached in ${options.dir})`);
    }
  } finally {
    workspace.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
