/**
 * A probe of a 3-D MAE run on per-volume labels (each volume's folder label, or the one set by
 * hand, as planned): every labelled volume of the run's training split fits the probe, every one
 * of its validation split scores it — the split is by subject, so no patient is on both sides.
 * A volume's features are its centre crop through the encoder, pooled (`volume3d-probe.ts`). The
 * report is the 2-D probe's: accuracy with a Wilson 95 % interval and n per encoder, the same probe
 * on the seeded random initialisation the run started from and on the raw voxels (the centre crop
 * box-averaged to at most 8 per axis), and the gains with paired bootstrap intervals.
 */
import { StudioError, type ProbeReport } from '../../contract';
import { centreCrop3d } from '../../data/volumes/volume-crops';
import { isotropicGrid } from '../../data/volumes/volume-resample';
import { VolumeShelf, type VolumeRef } from '../../data/volumes/volume-set';
import type { VoxelGrid } from '../../data/volumes/volume-planes';
import { readEntry } from '../../data/batches';
import { createMae3d, disposeMae3d, type Mae3dModel } from '../../mae/volume3d/mae3d';
import type { Workspace } from '../../workspace';
import { DEFAULT_BOOTSTRAP, pairedBootstrap } from '../intervals';
import { classificationScores } from '../probe-metrics';
import type { ProbeConfig } from '../probe-plan';
import { probePredictor } from '../probe-predictor';
import { probeWarnings } from '../probe-warnings';
import type { Pretrain3dRun } from '../run-records';
import { volumeFeatures3d, type LabelledVolume } from '../volume3d-probe';
import { loadMae3dCheckpoint } from './trainer3d';

/** Raw-voxel baseline: the centre crop box-averaged to at most this many cells per axis. */
const RAW_SIDE = 8;

/** The centre crop [C, D, H, W] box-averaged to at most RAW_SIDE cells per axis, channel-major. */
export function rawVoxelFeatures(values: Float32Array, channels: number, size: readonly number[]): Float32Array {
  const cells = size.map((side) => Math.min(RAW_SIDE, side));
  const [cd, ch, cw] = cells as [number, number, number];
  const [depth, height, width] = size as [number, number, number];
  const sums = new Float64Array(channels * cd * ch * cw);
  const counts = new Float64Array(sums.length);
  let at = 0;
  for (let c = 0; c < channels; c++)
    for (let z = 0; z < depth; z++)
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const cell =
            ((c * cd + Math.floor((z * cd) / depth)) * ch + Math.floor((y * ch) / height)) * cw +
            Math.floor((x * cw) / width);
          sums[cell]! += values[at++]!;
          counts[cell]! += 1;
        }
  return Float32Array.from(sums, (sum, cell) => sum / Math.max(1, counts[cell]!));
}

/** Opens each volume's grid as the run cropped it (resampled when it was). */
async function openGrids(
  volumes: readonly VolumeRef[],
  run: Pretrain3dRun,
): Promise<{ grids: VoxelGrid[]; shelf: VolumeShelf }> {
  const shelf = new VolumeShelf(
    volumes,
    (slice, volume) => readEntry({ path: slice.path, frame: slice.frame, channels: volume.channels, bitDepth: 16 }),
    volumes.length,
  );
  const grids: VoxelGrid[] = [];
  for (let index = 0; index < volumes.length; index++) {
    const grid = await shelf.grid(index);
    grids.push(run.config.volume3d.resample === 'isotropic' ? isotropicGrid(grid) : grid);
  }
  return { grids, shelf };
}

/** Probes a 3-D run as `options` say; the report of the 2-D probe, counted in volumes. */
export async function probeVolume3dRun(
  workspace: Workspace,
  run: Pretrain3dRun,
  options: ProbeConfig,
  log: (line: string) => void,
): Promise<ProbeReport> {
  const started = Date.now();
  const checkpoint = workspace.runs.latestCheckpoint(run.id);
  if (!checkpoint) throw new StudioError('CONFLICT', `run ${run.id} has no checkpoint yet; pretrain it first`);
  const plan = run.config;
  const labelled = (volumes: VolumeRef[]) => volumes.filter((volume) => volume.label !== null);
  const train = labelled(plan.data.trainVolumes);
  const val = labelled(plan.data.valVolumes);
  const classes = [...new Set([...train, ...val].map((volume) => volume.label!))].sort();
  const unlabelled = plan.data.trainVolumes.length + plan.data.valVolumes.length - train.length - val.length;
  if (classes.length < 2)
    throw new StudioError(
      'INVALID_ARGUMENT',
      `a probe needs volumes of at least 2 labels; run ${run.id}'s volumes have ${classes.length} ` +
        '(a volume is labelled by its folder: put each class in its own folder)',
    );
  if (train.length === 0 || val.length === 0)
    throw new StudioError(
      'INVALID_ARGUMENT',
      `a probe needs labelled volumes on both sides of run ${run.id}'s split; it has ${train.length} ` +
        `training and ${val.length} validation volumes with a label`,
    );
  const { model: config } = plan.volume3d;
  const trainLabels = train.map((volume) => classes.indexOf(volume.label!));
  const valLabels = val.map((volume) => classes.indexOf(volume.label!));
  log(
    `probe: ${options.method} on ${options.pooling}-pooled features of the 3-D encoder's last block, ` +
      `${train.length} train / ${val.length} val volumes, ${classes.length} classes`,
  );
  let pretrained: Mae3dModel | undefined;
  let random: Mae3dModel | undefined;
  const opened = await openGrids([...train, ...val], run);
  try {
    pretrained = await loadMae3dCheckpoint(checkpoint.path, plan);
    random = createMae3d(config, plan.recipe.seed);
    const items: LabelledVolume[] = [...train, ...val].map((volume, index) => ({
      grid: opened.grids[index]!,
      label: index < train.length ? trainLabels[index]! : valLabels[index - train.length]!,
      name: volume.name,
    }));
    const split = <T>(rows: T[]) => ({ train: rows.slice(0, train.length), val: rows.slice(train.length) });
    const width = config.embedDim;
    const rows = (features: Float32Array, columns: number) => ({
      train: features.subarray(0, train.length * columns),
      val: features.subarray(train.length * columns),
    });
    const encoded = [pretrained, random].map((model) => rows(volumeFeatures3d(model, items, options.pooling), width));
    const raw = split(
      items.map((item) => {
        const crop = centreCrop3d(item.grid, { size: config.volumeSize }, item.name);
        return rawVoxelFeatures(crop.values, crop.channels, config.volumeSize);
      }),
    );
    const rawWidth = raw.train[0]!.length;
    const stack = (list: Float32Array[]) => {
      const out = new Float32Array(list.length * rawWidth);
      list.forEach((row, n) => out.set(row, n * rawWidth));
      return out;
    };
    const predict = probePredictor(options, classes.length);
    const predicted = {
      pretrained: predict(encoded[0]!.train, trainLabels, encoded[0]!.val, width),
      randomInit: predict(encoded[1]!.train, trainLabels, encoded[1]!.val, width),
      rawPixels: predict(stack(raw.train), trainLabels, stack(raw.val), rawWidth),
    };
    const right = (labels: number[]) => labels.map((label, i) => label === valLabels[i]);
    const bootstrap = { ...DEFAULT_BOOTSTRAP, seed: plan.recipe.seed };
    const gain = {
      randomInit: pairedBootstrap(right(predicted.pretrained), right(predicted.randomInit), bootstrap),
      rawPixels: pairedBootstrap(right(predicted.pretrained), right(predicted.rawPixels), bootstrap),
    };
    const k = options.method === 'knn' ? Math.min(options.k, trainLabels.length) : null;
    return {
      method: options.method,
      pooling: options.pooling,
      k,
      labelsPerClass: null,
      classes,
      trainImages: train.length,
      valImages: val.length,
      step: checkpoint.step,
      pretrained: classificationScores(valLabels, predicted.pretrained, classes),
      randomInit: classificationScores(valLabels, predicted.randomInit, classes),
      rawPixels: classificationScores(valLabels, predicted.rawPixels, classes),
      rawPixelSide: RAW_SIDE,
      rawPixelAxes: 3,
      gain,
      warnings: [
        ...probeWarnings({ classes, trainLabels, valLabels, method: options.method, k, gain }),
        'Counts are volumes, not images: each volume is one sample (its centre crop).',
      ],
      skipped: unlabelled > 0 ? [{ reason: 'volumes without a label', count: unlabelled }] : [],
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    if (pretrained) disposeMae3d(pretrained);
    if (random) disposeMae3d(random);
    opened.shelf.close();
  }
}
