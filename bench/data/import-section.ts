/**
 * The import section of `npm run bench:data`: files/s of `importFolders` on the PNG dataset at
 * 1…N cores (N worker threads, the process pinned to N cores), beside the ceiling measured on
 * the same cores in the same run — the project's own sharp decode (`decodeImage`) of the same
 * files with N decodes in flight and nothing else. Also the import in one thread (no workers, all
 * cores), as before import workers existed. Target: the import within 2× of the decode ceiling.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../../app/data/formats/decode';
import { importFolders } from '../../app/data/import/import';
import { Workspace } from '../../app/workspace';
import { benchFile, datasetFolders, ensureDataset } from './png-dataset';
import { optionValue, type DataBenchOptions, type DataSection, type Measurement } from './section';

/** Files decoded for the ceiling (read into memory first, so it is decode alone). */
const DECODE_SAMPLE = 1000;
/** Decodes timed for the ceiling: the sample more than once, long enough to be steady. */
const DECODES = 2000;
/** The import should reach half the decode ceiling (within 2×). */
const TARGET_RATIO = 0.5;

interface ImportRun {
  files: number;
  seconds: number;
  filesPerSecond: number;
  workers: number;
  cpuMsPerFile: number;
  /** CPU time of the importing (main) thread per file: 1000 / this caps files/s whatever the cores. */
  mainMsPerFile: number;
}

interface DecodeRun {
  decodes: number;
  filesPerSecond: number;
}

function datasetOf(argv: readonly string[]): { files: number; dir: string } {
  return { files: Number(optionValue(argv, '--files')), dir: optionValue(argv, '--dir')! };
}

/**
 * CPU milliseconds of this thread alone (Node ≥ 22.19; else the event loop's busy time, which counts waits for a core
 * too).
 */
function mainThreadCpu(): number {
  const thread = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage;
  if (!thread) return performance.eventLoopUtilization().active;
  const usage = thread();
  return (usage.user + usage.system) / 1000;
}

/** Child: one import of the dataset into a fresh workspace with `--workers` threads. */
async function importChild(argv: readonly string[]): Promise<ImportRun> {
  const dataset = datasetOf(argv);
  const workers = Number(optionValue(argv, '--workers'));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-bench-data-'));
  const workspace = new Workspace(path.join(root, 'workspace'));
  try {
    const project = workspace.projects.create('bench', 'general');
    const cpuBefore = process.cpuUsage();
    const mainBefore = mainThreadCpu();
    const result = await importFolders({
      importId: 'bench',
      projectId: project.id,
      folders: datasetFolders(dataset),
      images: workspace.images,
      projectDir: workspace.projectDir(project.id),
      workers,
    });
    const cpu = process.cpuUsage(cpuBefore);
    const mainMs = mainThreadCpu() - mainBefore;
    if (result.imported !== dataset.files)
      throw new Error(
        `imported ${result.imported} of ${dataset.files} files (${result.errors[0]?.reason ?? 'no error reported'})`,
      );
    return {
      files: result.imported,
      seconds: result.seconds,
      filesPerSecond: result.imported / result.seconds,
      workers,
      cpuMsPerFile: (cpu.user + cpu.system) / 1000 / result.imported,
      mainMsPerFile: mainMs / result.imported,
    };
  } finally {
    workspace.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Child: the decode ceiling — `decodeImage` of files already in memory, `--cores` at a time. */
async function decodeChild(argv: readonly string[]): Promise<DecodeRun> {
  const dataset = datasetOf(argv);
  const inFlight = Number(optionValue(argv, '--cores'));
  // One libvips thread per image, as during an import: with a file per core in flight that is the
  // faster way (fewer hand-offs), so the ceiling is the higher of the two.
  sharp.concurrency(1);
  const files = Array.from({ length: Math.min(DECODE_SAMPLE, dataset.files) }, (_, index) =>
    fs.readFileSync(benchFile(dataset.dir, index)),
  );
  await decodeImage(files[0]!, 'png'); // loads libvips before the clock starts
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < DECODES) await decodeImage(files[next++ % files.length]!, 'png');
    }),
  );
  return { decodes: DECODES, filesPerSecond: DECODES / ((performance.now() - started) / 1000) };
}

/** Best of `rounds` runs (other load on the machine only ever slows a run down). */
async function best<T extends { filesPerSecond: number }>(rounds: number, run: () => Promise<T>): Promise<T> {
  let top: T | null = null;
  for (let round = 0; round < rounds; round++) {
    const result = await run();
    if (top === null || result.filesPerSecond > top.filesPerSecond) top = result;
  }
  return top!;
}

/** The import section. */
export const importSection: DataSection = {
  name: 'import',
  children: { import: importChild, decode: decodeChild },
  async run(options: DataBenchOptions, runChild): Promise<Measurement[]> {
    const written = await ensureDataset(options);
    if (written > 0) console.error(`(generated ${written} PNGs in ${options.dir})`);
    const dataset = ['--files', String(options.files), '--dir', options.dir];
    const rows: Measurement[] = [];
    const all = os.availableParallelism();
    const ceilings = new Map<number, DecodeRun>();
    const ceilingAt = async (cores: number) => {
      if (!ceilings.has(cores))
        ceilings.set(
          cores,
          await best(
            options.rounds,
            async () => (await runChild('decode', cores, ['--cores', String(cores), ...dataset])) as DecodeRun,
          ),
        );
      return ceilings.get(cores)!;
    };
    for (const cores of options.cores) {
      // The ceiling is measured right before the import on the same cores, so both see the same load.
      const decode = await ceilingAt(cores);
      const imported = await best(
        options.rounds,
        async () => (await runChild('import', cores, ['--workers', String(cores), ...dataset])) as ImportRun,
      );
      rows.push(
        measurement(
          cores,
          `import, ${cores} worker thread${cores === 1 ? '' : 's'} ${costs(imported)}`,
          imported.filesPerSecond,
          decode.filesPerSecond,
        ),
      );
    }
    const ceiling = await ceilingAt(all);
    const inThread = await best(
      options.rounds,
      async () => (await runChild('import', all, ['--workers', '0', ...dataset])) as ImportRun,
    );
    rows.push(
      measurement(
        all,
        `import in one thread, no workers (as before) ${costs(inThread)}`,
        inThread.filesPerSecond,
        ceiling.filesPerSecond,
      ),
    );
    return rows;
  },
};

/** CPU per file (all threads), and the importing thread's busy time per file with the cap it sets. */
function costs(run: ImportRun): string {
  return (
    `(${run.cpuMsPerFile.toFixed(2)} CPU ms/file; importing thread ${run.mainMsPerFile.toFixed(2)}` +
    ` CPU ms/file, so at most ${Math.round(1000 / run.mainMsPerFile)} files/s on any cores)`
  );
}

function measurement(cores: number, measured: string, value: number, ceilingValue: number): Measurement {
  return {
    section: 'import',
    cores,
    measured,
    value,
    unit: 'files/s',
    ceiling: 'sharp decode (decodeImage), same cores',
    ceilingValue,
    target: `≥ ${TARGET_RATIO} (within 2× of the ceiling)`,
    met: value / ceilingValue >= TARGET_RATIO,
  };
}
