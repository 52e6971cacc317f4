/**
 * Volume benchmark: memory stays bounded while a volume larger than the data budget is imported
 * and trained on, and a long DICOM series imports in seconds. Generated slab by slab (never the
 * whole volume in memory):
 *
 * - an uncompressed `.nii` of `--side`² × `--slices` int16 voxels (default 1024² × 512: 1 GiB of
 *   voxels), a smooth phantom with texture, and the same volume as `.nii.gz` (gzip level 1);
 * - a DICOM series of `--series` slices (default 500) of 256² int16, one file per slice, as the
 *   tests' series fixtures are written.
 *
 * Each is imported into its own project through `importFolders` (time, peak RSS); then the
 * training loader draws `--batches` batches of `--batch` planes of the .nii and of the series along
 * each anatomical axis (axial, coronal, sagittal), as a run with that `volume` setting does; the
 * series also as 2.5-D axial planes (2 neighbours a side), each once with its slice cache
 * (`series-slices.ts`, 256 MiB) and once without (every plane reads its slices from the files; at
 * most {@link UNCACHED_BATCHES} batches, as coronal and sagittal planes then read every slice).
 * Reported: RSS baseline, peaks and the RSS each phase started at (what earlier phases left),
 * seconds, samples per second, load average. Target: peak RSS − baseline under 1 GiB for the data.
 * Inflated .nii.gz copies go to the bench workspace's `cache/volumes/`, removed with it.
 *
 * Measured on 2 shared cores (load 5–20), defaults, `--batches 5`: import of the 1 GiB .nii 11.7 s
 * (+87 MiB RSS; before reads by offsets: 29.2 s, +2113 MiB), of the .nii.gz 19.8 s (+169 MiB,
 * inflating included), planes at +59…+98 MiB (before: past 23 GiB, one whole volume per loader
 * worker). The 500-slice series (load 17–19, 2 cores shared by many jobs): import 5.1 s (2.3 s at
 * load 1), +175 MiB; with the slice cache 40 planes axial 1.5 s, coronal 12.6 s, sagittal 11.3 s
 * (the first reads all 500 slices), 2.5-D 3.5 s, peaks +142…+269 MiB; without it 24 planes axial
 * 1.8 s, coronal 42 s, sagittal 91 s, 2.5-D 4.6 s, peaks ≤ +258 MiB (most of it left by the
 * earlier phases). Before the slice reads (every concurrent plane read assembled the whole series
 * itself), load 1–3: 40 axial planes took 21 s and +1652 MiB.
 *
 *   node dist/bench/volume.js [--side 1024] [--slices 512] [--series 500] [--batches 20] [--batch 8]
 *                             [--only nii,gz,dicom] [--json] [--keep]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { VolumeSampling } from '../app/contract';
import type { ChannelTransform } from '../app/data/batches';
import { trainingLoader } from '../app/data/cache/loader';
import { setVolumeCopies, volumeCopiesDir } from '../app/data/cache/volume-copies';
import { normalisationOf, storedSide } from '../app/data/cache/prepared';
import { writeDicom } from '../app/data/formats/formats.fixtures';
import { makeNifti } from '../app/data/formats/nifti.fixtures';
import { importFolders } from '../app/data/import/import';
import { DEFAULT_SERIES_SLICES, seriesSlices } from '../app/data/volumes/series-slices';
import { volumeEntries, type VolumeRow } from '../app/data/volumes/volume-entries';
import { Rng } from '../app/mae/rng';
import { Workspace } from '../app/workspace';
import { argument, flag, positiveInteger } from './shared/options';

const IMG_SIZE = 224;
const MIB = 2 ** 20;
const AXIAL = [1, 0, 0, 0, 1, 0];
const AXES = ['axial', 'coronal', 'sagittal'] as const;
/** Batches of the series read without its slice cache (each coronal or sagittal plane reads every slice). */
const UNCACHED_BATCHES = 3;
const TRANSFORM: ChannelTransform = {
  inputChannels: 1,
  conversions: { 1: 'keep' },
  bands: [0],
  clip: [null],
  center: [0],
  spread: [500],
};

/** Resident set size now, in MiB; the peak is tracked by sampling. */
let peak = 0;
function rss(): number {
  const now = process.memoryUsage().rss / MIB;
  peak = Math.max(peak, now);
  return now;
}

/** Starts a phase: the peak is reset to now. */
function phase(): { seconds: () => number; startRss: number } {
  globalThis.gc?.();
  peak = 0;
  const startRss = rss();
  const started = performance.now();
  return { seconds: () => (performance.now() - started) / 1000, startRss };
}

/** The transform's fields for 2n + 1 stacked planes of one band each. */
function planeBands(neighbours: number): Pick<ChannelTransform, 'bands' | 'clip' | 'center' | 'spread'> {
  const planes = 2 * neighbours + 1;
  return {
    bands: Array.from({ length: planes }, (_, band) => band),
    clip: Array(planes).fill(null),
    center: Array(planes).fill(0),
    spread: Array(planes).fill(500),
  };
}

/** The phantom's stored value at a voxel: a ball brighter than its surround, with texture. */
function phantom(i: number, j: number, k: number, side: number, slices: number): number {
  const x = (i - side / 2) / side;
  const y = (j - side / 2) / side;
  const z = (k - slices / 2) / slices;
  const ball = x * x + y * y + z * z < 0.16 ? 800 : 0;
  return ball + ((i * 3 + j * 5 + k * 7) & 255) - 1000;
}

/** Slabs of `slabSlices` k-slices of the phantom as int16 little-endian bytes, one slab at a time. */
function* slabs(side: number, slices: number, slabSlices: number): Generator<Buffer> {
  for (let k0 = 0; k0 < slices; k0 += slabSlices) {
    const count = Math.min(slabSlices, slices - k0);
    const values = new Int16Array(side * side * count);
    for (let k = 0; k < count; k++)
      for (let j = 0; j < side; j++)
        for (let i = 0; i < side; i++) values[(k * side + j) * side + i] = phantom(i, j, k0 + k, side, slices);
    yield Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  }
}

/** The NIfTI-1 header (and its 4 extension bytes) of a side² × slices int16 volume of 0.5 mm voxels. */
function niftiHeader(side: number, slices: number): Buffer {
  const one = makeNifti({
    datatype: 4,
    dims: [side, side, 1],
    values: new Int16Array(side * side),
    pixdim: [0.5, 0.5, 0.5],
  });
  const header = Buffer.from(one.buffer, one.byteOffset, 352);
  header.writeInt16LE(slices, 40 + 3 * 2); // dim[3]
  return Buffer.from(header);
}

async function writeVolume(file: string, side: number, slices: number, gzip: boolean): Promise<void> {
  const source = Readable.from(
    (function* () {
      yield niftiHeader(side, slices);
      yield* slabs(side, slices, 16);
    })(),
  );
  if (gzip) await pipeline(source, createGzip({ level: 1 }), fs.createWriteStream(file));
  else await pipeline(source, fs.createWriteStream(file));
}

function writeSeries(folder: string, count: number): void {
  fs.mkdirSync(folder, { recursive: true });
  const side = 256;
  for (let index = 0; index < count; index++) {
    const values = new Int16Array(side * side);
    for (let j = 0; j < side; j++)
      for (let i = 0; i < side; i++) values[j * side + i] = phantom(i, j, index, side, count) + 1000;
    fs.writeFileSync(
      path.join(folder, `img${String(index).padStart(4, '0')}.dcm`),
      writeDicom({
        rows: side,
        columns: side,
        bitsAllocated: 16,
        values,
        series: '1.2.840.99.500',
        patientId: 'BENCH',
        instance: index + 1,
        position: [-64, -64, index * 1.5],
        orientation: AXIAL,
      }),
    );
  }
}

interface Measured {
  seconds: number;
  peakRssMiB: number;
  /** RSS over the baseline when the phase started (what earlier phases left). */
  startRssMiB: number;
  load: number[];
}

function measured(timer: { seconds: () => number; startRss: number }, baseline: number): Measured {
  return {
    seconds: Math.round(timer.seconds() * 100) / 100,
    peakRssMiB: Math.round(peak - baseline),
    startRssMiB: Math.round(timer.startRss - baseline),
    load: os.loadavg().map((value) => Math.round(value * 10) / 10),
  };
}

async function main(): Promise<void> {
  const side = positiveInteger('side', 1024);
  const slices = positiveInteger('slices', 512);
  const seriesCount = positiveInteger('series', 500);
  const batches = positiveInteger('batches', 20);
  const batchSize = positiveInteger('batch', 8);
  const only = new Set(argument('only', 'nii,gz,dicom').split(','));
  const json = flag('json');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-volume-'));
  const workspace = new Workspace(path.join(root, 'workspace'));
  setVolumeCopies(volumeCopiesDir(path.join(root, 'workspace'))); // as the studio does: removed with the root
  globalThis.gc?.();
  const baseline = rss();
  const sampler = setInterval(rss, 20);
  const result: Record<string, unknown> = {
    volume: `${side}×${side}×${slices} int16`,
    voxelMiB: Math.round((side * side * slices * 2) / MIB),
    baselineRssMiB: Math.round(baseline),
    cpus: os.cpus().length,
  };
  const say = (line: string) => {
    if (!json) console.log(line);
  };
  try {
    const files: Record<string, string> = {
      nii: path.join(root, 'nii', 'phantom.nii'),
      gz: path.join(root, 'gz', 'phantom.nii.gz'),
    };
    for (const kind of ['nii', 'gz'] as const) {
      if (!only.has(kind)) continue;
      fs.mkdirSync(path.dirname(files[kind]!), { recursive: true });
      const timer = phase();
      await writeVolume(files[kind]!, side, slices, kind === 'gz');
      const written = measured(timer, baseline);
      const mib = Math.round((fs.statSync(files[kind]!).size / MIB) * 10) / 10;
      say(
        `write .${kind === 'gz' ? 'nii.gz' : 'nii'}: ${mib} MiB in ${written.seconds} s, ` +
          `peak RSS +${written.peakRssMiB} MiB`,
      );
      result[`${kind}Write`] = { ...written, fileMiB: mib };
    }
    if (only.has('dicom')) {
      const timer = phase();
      writeSeries(path.join(root, 'dicom'), seriesCount);
      result.dicomWrite = measured(timer, baseline);
      say(`write DICOM series: ${seriesCount} slices of 256² in ${(result.dicomWrite as Measured).seconds} s`);
    }
    for (const kind of ['nii', 'gz', 'dicom'] as const) {
      if (!only.has(kind)) continue;
      const project = workspace.projects.create(`bench ${kind}`, 'general');
      const timer = phase();
      const imported = await importFolders({
        importId: kind,
        projectId: project.id,
        folders: [path.join(root, kind)],
        images: workspace.images,
        projectDir: workspace.projectDir(project.id),
      });
      const numbers = measured(timer, baseline);
      if (imported.errors.length > 0) throw new Error(`import of ${kind}: ${JSON.stringify(imported.errors)}`);
      const rows = workspace.images.usable(project.id, 'path');
      result[`${kind}Import`] = { ...numbers, slices: rows.length };
      say(
        `import ${kind}: ${rows.length} slices in ${numbers.seconds} s, peak RSS +${numbers.peakRssMiB} MiB, ` +
          `load ${numbers.load.join(' ')}`,
      );
      if (kind === 'gz') continue; // trained on: the .nii and the series
      // The series is trained on with its slice cache and without (every plane reads its slices
      // again; slow across slices, so fewer batches), and with 2.5-D neighbours.
      const passes =
        kind === 'dicom'
          ? [
              { cacheBytes: DEFAULT_SERIES_SLICES.cacheBytes, suffix: '', count: batches },
              { cacheBytes: 0, suffix: 'NoCache', count: Math.min(batches, UNCACHED_BATCHES) },
            ]
          : [{ cacheBytes: DEFAULT_SERIES_SLICES.cacheBytes, suffix: '', count: batches }];
      const samplings: VolumeSampling[] = AXES.map((axis) => ({ axis, neighbours: 0 }));
      if (kind === 'dicom') samplings.push({ axis: 'axial', neighbours: 2 });
      const volumeRows = workspace.images.sources(rows.map((row) => row.id)).map(
        (row): VolumeRow => ({
          meta: row!.meta,
          entry: {
            path: row!.path,
            frame: row!.frame,
            width: row!.width,
            height: row!.height,
            channels: row!.channels,
            bitDepth: row!.bitDepth,
          },
        }),
      );
      for (const { cacheBytes, suffix, count } of passes) {
        for (const sampling of samplings) {
          seriesSlices.clear();
          seriesSlices.maxBytes = cacheBytes;
          const entries = volumeEntries(volumeRows, sampling);
          const transform = { ...TRANSFORM, ...planeBands(sampling.neighbours) };
          const loader = trainingLoader({
            entries,
            imgSize: IMG_SIZE,
            side: storedSide(IMG_SIZE),
            transform,
            normalisation: normalisationOf(transform, 16, [], []),
            memoryBytes: 0,
          });
          const rng = Rng.fromSeed(1, 2);
          const train = phase();
          for (let index = 0; index < count; index++) await loader.next(rng, batchSize);
          await loader.close();
          const trained = measured(train, baseline);
          const rate = Math.round(((count * batchSize) / trained.seconds) * 10) / 10;
          const how = `${sampling.axis}${sampling.neighbours ? `2.5d${sampling.neighbours}` : ''}`;
          result[`${kind}Train${how}${suffix}`] = { ...trained, planes: entries.length, samplesPerSecond: rate };
          const cache =
            kind !== 'dicom' ? '' : cacheBytes > 0 ? `, slice cache ${cacheBytes / MIB} MiB` : ', no slice cache';
          say(
            `train ${kind} ${how}${cache}: ${count}×${batchSize} planes in ${trained.seconds} s (${rate}/s), ` +
              `peak RSS +${trained.peakRssMiB} MiB (+${trained.startRssMiB} at start), ` +
              `load ${trained.load.join(' ')}`,
          );
        }
      }
      seriesSlices.clear();
      seriesSlices.maxBytes = DEFAULT_SERIES_SLICES.cacheBytes;
    }
    const peaks = Object.values(result)
      .filter((value): value is Measured => typeof value === 'object' && value !== null && 'peakRssMiB' in value)
      .map((value) => value.peakRssMiB);
    result.maxDataRssMiB = Math.max(...peaks);
    result.target = 'every peak RSS − baseline under 1024 MiB';
    if (json) console.log(JSON.stringify(result));
    else
      say(
        `largest data RSS: ${result.maxDataRssMiB} MiB ` +
          `${(result.maxDataRssMiB as number) < 1024 ? 'PASS' : 'FAIL'} (target < 1024 MiB)`,
      );
    if ((result.maxDataRssMiB as number) >= 1024) process.exitCode = 1;
  } finally {
    clearInterval(sampler);
    workspace.close();
    if (flag('keep')) console.log(`kept ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
