/**
 * The features a probe run computed, kept beside the run (`runs/<id>/probe-features.safetensors`)
 * so the probe can be re-fitted on new labels in seconds, without an encoder pass. One file per
 * probe run: for the block it probed and its pooling, the pooled features of each probed image
 * (train rows, then val rows) from the pretrained encoder, the random-init encoder and the raw
 * pixels, with the image ids and the labels they had. Anything that can hand back features per
 * (run, block, pooling, image id) can stand in for this file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../contract';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../mae/weights/safetensors';
import type { Pooling } from './probe-model';
import { runFolder } from './run-files';

/** Features of one probe run's images, row-major, one row per image id. */
export interface ProbeFeatures {
  pretrainRunId: number;
  block: number;
  pooling: Pooling;
  /** Class names at probe time; `labels` index them. */
  classes: string[];
  train: { imageIds: number[]; labels: number[] };
  val: { imageIds: number[]; labels: number[] };
  /** Width of an encoder feature (embedDim) and of a raw-pixel feature. */
  width: number;
  rawWidth: number;
  /** [train + val rows, width] each: train rows first. */
  pretrained: Float32Array;
  randomInit: Float32Array;
  rawPixels: Float32Array;
}

const FILE_NAME = 'probe-features.safetensors';

/** Where a probe run's features are kept. */
export function probeFeaturesPath(projectDir: string, probeRunId: number): string {
  return path.join(runFolder(projectDir, probeRunId), FILE_NAME);
}

/** Concatenates train and val rows of one feature set. */
export function stackRows(train: Float32Array, val: Float32Array): Float32Array {
  const rows = new Float32Array(train.length + val.length);
  rows.set(train);
  rows.set(val, train.length);
  return rows;
}

/** Writes a probe run's features atomically. */
export async function writeProbeFeatures(file: string, features: ProbeFeatures): Promise<void> {
  const rows = features.train.imageIds.length + features.val.imageIds.length;
  const tensors = new Map<string, NamedTensor>([
    ['pretrained', { shape: [rows, features.width], data: features.pretrained }],
    ['random_init', { shape: [rows, features.width], data: features.randomInit }],
    ['raw_pixels', { shape: [rows, features.rawWidth], data: features.rawPixels }],
  ]);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const { pretrained: _p, randomInit: _r, rawPixels: _x, ...described } = features;
  await writeSafetensors(file, tensors, { probeFeatures: JSON.stringify(described) });
}

/** Reads a probe run's features; NOT_FOUND naming the run when it kept none (probes run before the cache existed). */
export async function readProbeFeatures(file: string, probeRunId: number): Promise<ProbeFeatures> {
  if (!fs.existsSync(file)) {
    throw new StudioError(
      'NOT_FOUND',
      `probe run ${probeRunId} kept no features to re-fit on ` +
        `(it ran before features were cached, or was stopped): run the probe again`,
    );
  }
  const content = await readSafetensors(file);
  const described = JSON.parse(content.metadata.probeFeatures ?? 'null') as Omit<
    ProbeFeatures,
    'pretrained' | 'randomInit' | 'rawPixels'
  > | null;
  const tensor = (name: string) => content.tensors.get(name)?.data;
  const [pretrained, randomInit, rawPixels] = [tensor('pretrained'), tensor('random_init'), tensor('raw_pixels')];
  if (!described || !pretrained || !randomInit || !rawPixels)
    throw new StudioError('INTERNAL', `${file} is not a probe feature file`);
  return { ...described, pretrained, randomInit, rawPixels };
}
