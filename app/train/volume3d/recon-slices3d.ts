/**
 * A 3-D run's reconstruction as slices: the three orthogonal planes through the centre of one
 * fixed crop (`planes3d.ts`), one row per plane — the stored slice, then the planes across slices
 * along rows and along columns — and columns input | masked input | reconstruction, as the 2-D
 * grid's columns, so the run dashboard shows it in the same place. Planes across slices are drawn
 * at the voxels' aspect (thick slices as tall rows). The PNG is written where the 2-D grids are
 * (`run-files.ts`), so `runs.reconstruction` serves it unchanged.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { MaskSet } from '../../mae/masking';
import type { Size3d } from '../../mae/volume3d/config3d';
import { reconstructVolumes3d, type Mae3dModel } from '../../mae/volume3d/mae3d';
import { maskPlanes3d, volumePlanes3d, type Plane3d } from '../../mae/volume3d/planes3d';
import { writeGridPng } from '../run-files';

/** Each plane is enlarged by a whole factor until its longer side reaches this many pixels. */
const MIN_CELL = 128;
const GAP = 4;
const BACKGROUND = 24;
/** Masked patches in the masked column: a dark blue-grey, apart from any grey of the image. */
const MASKED_RGB = [52, 60, 84] as const;

/** One plane drawn: grey values in 0..255 (or null where masked), at its display size. */
interface Cell {
  width: number;
  height: number;
  grey: Float32Array;
  masked: Uint8Array | null;
}

/** Display scale of each crop axis: a whole factor, voxels of thicker spacing drawn longer. */
function axisScales(size: Size3d, spacing: Size3d): [number, number, number] {
  const finest = Math.min(...spacing);
  const base = Math.max(1, Math.ceil(MIN_CELL / Math.max(...size)));
  return spacing.map((value) => Math.max(1, Math.round((base * value) / finest))) as [number, number, number];
}

/** The in-plane axes (rows, columns) of a plane across `axis`, as planes3d.ts cuts them. */
function inPlane(axis: 0 | 1 | 2): [number, number] {
  return axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
}

/** A plane enlarged by the scales of its axes, its values windowed to 0..255 by `low`..`high`. */
function drawPlane(
  plane: Plane3d<Float32Array>,
  scales: [number, number, number],
  window: [number, number],
  mask: Plane3d<Uint8Array> | null,
  patch: Size3d,
): Cell {
  const [rowAxis, columnAxis] = inPlane(plane.axis);
  const rowScale = scales[rowAxis]!;
  const columnScale = scales[columnAxis]!;
  const width = plane.columns * columnScale;
  const height = plane.rows * rowScale;
  const grey = new Float32Array(width * height);
  const masked = mask ? new Uint8Array(width * height) : null;
  const span = Math.max(1e-12, window[1] - window[0]);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / rowScale);
    for (let x = 0; x < width; x++) {
      const column = Math.floor(x / columnScale);
      const value = plane.values[row * plane.columns + column]!;
      grey[y * width + x] = Math.min(255, Math.max(0, ((value - window[0]) / span) * 255));
      if (mask && masked) {
        const patchRow = Math.floor(row / patch[rowAxis]!);
        const patchColumn = Math.floor(column / patch[columnAxis]!);
        masked[y * width + x] = mask.values[patchRow * mask.columns + patchColumn]!;
      }
    }
  }
  return { width, height, grey, masked };
}

/** The 1st and 99th percentiles of the input: one window for input and reconstruction alike. */
function windowOf(values: Float32Array): [number, number] {
  const sorted = Float32Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))]!;
  return [at(0.01), at(0.99)];
}

/** The picture as RGB: rows are planes, columns input | masked | reconstruction. */
export function reconstructionSlices(
  input: Float32Array,
  reconstruction: Float32Array,
  mask: Uint8Array,
  config: Pick<Mae3dModel['config'], 'volumeSize' | 'patchSize'>,
  spacing: Size3d,
): { pixels: Uint8Array; width: number; height: number } {
  const size = config.volumeSize;
  const at = size.map((side) => Math.floor(side / 2)) as unknown as Size3d;
  const scales = axisScales(size, spacing);
  const window = windowOf(input);
  const inputs = volumePlanes3d(input, size, at);
  const outputs = volumePlanes3d(reconstruction, size, at);
  const masks = maskPlanes3d(config, mask, at);
  const rows = inputs.map((plane, axis) => [
    drawPlane(plane, scales, window, null, config.patchSize),
    drawPlane(plane, scales, window, masks[axis]!, config.patchSize),
    drawPlane(outputs[axis]!, scales, window, null, config.patchSize),
  ]);
  const cellWidth = Math.max(...rows.flat().map((cell) => cell.width));
  const rowHeights = rows.map((row) => row[0]!.height);
  const width = 3 * cellWidth + 4 * GAP;
  const height = rowHeights.reduce((sum, h) => sum + h, 0) + 4 * GAP;
  const pixels = new Uint8Array(width * height * 3).fill(BACKGROUND);
  let top = GAP;
  rows.forEach((row, r) => {
    row.forEach((cell, c) => {
      const left = GAP + c * (cellWidth + GAP) + Math.floor((cellWidth - cell.width) / 2);
      for (let y = 0; y < cell.height; y++) {
        for (let x = 0; x < cell.width; x++) {
          const out = ((top + y) * width + left + x) * 3;
          const k = y * cell.width + x;
          const rgb = cell.masked?.[k] ? MASKED_RGB : null;
          const grey = Math.round(cell.grey[k]!);
          pixels[out] = rgb ? rgb[0] : grey;
          pixels[out + 1] = rgb ? rgb[1] : grey;
          pixels[out + 2] = rgb ? rgb[2] : grey;
        }
      }
    });
    top += rowHeights[r]! + GAP;
  });
  return { pixels, width, height };
}

/**
 * Reconstructs the first crop of `volumes` [1+, C, D, H, W] under `masks` and writes its slices
 * as the run's reconstruction of `step` in `dir`; returns the file.
 */
export async function writeReconstructionSlices(
  model: Mae3dModel,
  volumes: tf.Tensor,
  masks: MaskSet,
  spacing: Size3d,
  dir: string,
  step: number,
): Promise<string> {
  const recon = reconstructVolumes3d(model, volumes, masks);
  const voxels = model.config.volumeSize.reduce((product, side) => product * side, 1);
  // Channel 0 of the first crop (CT and MR have one).
  const input = ((await volumes.data()) as Float32Array).slice(0, voxels);
  const output = ((await recon.data()) as Float32Array).slice(0, voxels);
  recon.dispose();
  const { pixels, width, height } = reconstructionSlices(
    input,
    output,
    masks.mask.subarray(0, masks.numPatches),
    model.config,
    spacing,
  );
  return writeGridPng(pixels, { width, height }, dir, step);
}
