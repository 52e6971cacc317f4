/**
 * The 3-D MAE's mask preview of one volume: a crop and a mask drawn by a 3-D run's rules for a
 * seed, cut into three orthogonal planes (planes3d.ts). The crop comes from the data stream
 * (`RNG_STREAMS.data`) through `randomCrop3d` with the default crop options (flips,
 * standardisation: `DEFAULT_PRETRAIN3D.crops`), the mask from the mask stream (`RNG_STREAMS.mask`)
 * through `makeMasks3d`: exactly `pretrainMae3d`'s first crop of a one-volume set (tested). A
 * planned run (`volume3d/pretrain3d-run.ts`) first draws which volume to crop, and may resample to
 * isotropic voxels, so its crops are drawn alike but not this very one.
 */
import { StudioError, type MaskStrategy, type VolumeMaskPreview, type VolumePreviewPlane } from '../contract';
import { randomCrop3d, type VolumeCrop } from '../data/volumes/volume-crops';
import { voxelAxesOf } from '../data/volumes/volume-planes';
import type { StoredVolume } from '../data/volumes/stored-volume';
import { Rng, RNG_STREAMS } from '../mae/rng';
import { DEFAULT_MAE3D_CONFIG, gridSize3d, type Mae3dConfig, type Size3d } from '../mae/volume3d/config3d';
import { makeMasks3d } from '../mae/volume3d/masks3d';
import { maskPlanes3d, volumePlanes3d, type Plane3d } from '../mae/volume3d/planes3d';
import { DEFAULT_PRETRAIN3D } from './volume3d-pretrain';

/** What the preview draws. */
export interface Volume3dPreviewOptions {
  cropSize: Size3d;
  patchSize: Size3d;
  strategy: MaskStrategy;
  maskRatio: number;
  seed: number;
  /** The point (slice, row, column) of the crop the planes pass through; default the crop's centre. */
  at?: Size3d;
}

const AXES = ['slices', 'rows', 'columns'] as const;
/** Largest crop previewed: 256³ voxels, 64 MiB of float32 (a 3-D MAE's input is usually 64³ to 128³). */
export const MAX_CROP_VOXELS = 256 ** 3;
const ANATOMICAL = ['axial', 'coronal', 'sagittal'] as const;

/** Throws INVALID_ARGUMENT naming the field when the crop, patch, ratio or point cannot be drawn. */
export function checkPreview3d(volumeSize: Size3d, options: Volume3dPreviewOptions, name: string): void {
  const { cropSize, patchSize, maskRatio, at } = options;
  const fail = (message: string) => {
    throw new StudioError('INVALID_ARGUMENT', message);
  };
  if (cropSize.some((extent, axis) => extent > volumeSize[axis]!)) {
    fail(
      `cropSize ${cropSize.join('×')} is larger than ${name}, which is ${volumeSize.join('×')} ` +
        `(slices×rows×columns): choose a crop of at most ${volumeSize.join('×')}`,
    );
  }
  const voxels = cropSize[0] * cropSize[1] * cropSize[2];
  if (voxels > MAX_CROP_VOXELS) {
    fail(
      `cropSize ${cropSize.join('×')} holds ${voxels.toLocaleString('en-US')} voxels; the preview reads at most ` +
        `${MAX_CROP_VOXELS.toLocaleString('en-US')} (256³): choose a smaller crop`,
    );
  }
  cropSize.forEach((extent, axis) => {
    if (extent % patchSize[axis]! !== 0) {
      fail(
        `patchSize ${patchSize.join('×')} does not divide cropSize ${cropSize.join('×')}: ` +
          `the crop's ${extent} ${AXES[axis]} are not a whole number of ${patchSize[axis]}-voxel patches`,
      );
    }
  });
  const tokens = cropSize.reduce((product, extent, axis) => product * (extent / patchSize[axis]!), 1);
  if (tokens < 2) fail(`cropSize ${cropSize.join('×')} holds one ${patchSize.join('×')} patch: masking needs two`);
  if (!(maskRatio > 0 && maskRatio < 1)) fail(`maskRatio must be in (0, 1), got ${maskRatio}`);
  if (at?.some((value, axis) => value >= cropSize[axis]!)) {
    fail(`at (${at.join(', ')}) is outside the ${cropSize.join('×')} crop (slices×rows×columns)`);
  }
}

/** The crop a 3-D run of `seed` draws first from `volume`: its data stream's first random crop. */
export function previewCrop3d(volume: StoredVolume, cropSize: Size3d, seed: number): VolumeCrop {
  const data = Rng.fromSeed(seed, RNG_STREAMS.data);
  const options = { ...DEFAULT_PRETRAIN3D.crops, size: cropSize, time: volume.time };
  return randomCrop3d(volume.grid, options, data, volume.name);
}

/** The volume's size (slices, rows, columns) and spacing in the same order. */
function cropAxes(volume: StoredVolume): { size: Size3d; spacing: [number, number, number] } {
  const [columns, rows, slices] = volume.grid.size;
  // Headers hold float32 spacings: 0.8 mm, not 0.800000011920929.
  const [si, sj, sk] = volume.grid.spacing.map((value) => Number(value.toPrecision(6)));
  return { size: [slices, rows, columns], spacing: [sk!, sj!, si!] };
}

/** Each crop axis's plane named by the anatomy it shows, when the orientation says. */
function planeNames(orientation: string | null): [string, string, string] {
  const fallback: [string, string, string] = ['slice plane', 'row plane', 'column plane'];
  if (!orientation) return fallback;
  try {
    const normals = voxelAxesOf(orientation, 'all'); // voxel axis (i 0, j 1, k 2) of axial, coronal, sagittal
    // Crop axis 0 runs along k, 1 along j, 2 along i.
    return [2, 1, 0].map((voxelAxis) => ANATOMICAL[normals.indexOf(voxelAxis as 0 | 1 | 2)]!) as [
      string,
      string,
      string,
    ];
  } catch {
    return fallback; // oblique axes: no anatomical plane is a voxel plane
  }
}

/** The 1st and 99th percentiles of `values` (a sample of at most 65 536 of them). */
function displayWindow(values: Float32Array, count: number): [number, number] {
  const stride = Math.max(1, Math.floor(count / 65_536));
  const sample = Float32Array.from({ length: Math.floor(count / stride) }, (_, k) => values[k * stride]!).sort();
  const low = sample[Math.floor(0.01 * (sample.length - 1))] ?? 0;
  const high = sample[Math.ceil(0.99 * (sample.length - 1))] ?? 1;
  return high > low ? [low, high] : [low - 1, low + 1];
}

function describePlane(
  plane: Plane3d<Float32Array>,
  mask: Plane3d<Uint8Array>,
  config: Pick<Mae3dConfig, 'volumeSize' | 'patchSize'>,
  spacing: [number, number, number],
  name: string,
): VolumePreviewPlane {
  const [rowAxis, columnAxis] = plane.axis === 0 ? [1, 2] : plane.axis === 1 ? [0, 2] : [0, 1];
  const masked = mask.values.reduce((sum, value) => sum + value, 0);
  const { values } = plane;
  return {
    axis: plane.axis,
    name,
    index: plane.index,
    count: config.volumeSize[plane.axis]!,
    rows: plane.rows,
    columns: plane.columns,
    spacing: [spacing[rowAxis]!, spacing[columnAxis]!],
    values: Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64'),
    patchRows: config.patchSize[rowAxis]!,
    patchColumns: config.patchSize[columnAxis]!,
    mask: Array.from(mask.values),
    patches: mask.values.length,
    visible: mask.values.length - masked,
    masked,
  };
}

/**
 * The preview of `volume` (see the file comment). `kept` is the crop `previewCrop3d` drew for
 * these options before (a caller may keep it while only `at` changes).
 */
export function previewVolume3d(
  volume: StoredVolume,
  options: Volume3dPreviewOptions,
  kept?: VolumeCrop,
): Omit<VolumeMaskPreview, 'imageId'> {
  const { cropSize, patchSize, strategy, maskRatio, seed } = options;
  const axes = cropAxes(volume);
  checkPreview3d(axes.size, options, volume.name);
  const crop = kept ?? previewCrop3d(volume, cropSize, seed);
  const config: Mae3dConfig = { ...DEFAULT_MAE3D_CONFIG, volumeSize: cropSize, patchSize, inChans: crop.channels };
  const masks = makeMasks3d(strategy, config, 1, maskRatio, Rng.fromSeed(seed, RNG_STREAMS.mask));
  const at = options.at ?? (cropSize.map((extent) => Math.floor(extent / 2)) as unknown as Size3d);
  const planes = volumePlanes3d(crop.values, cropSize, at, 0);
  const maskCuts = maskPlanes3d(config, masks.mask, at);
  const names = planeNames(volume.orientation);
  const voxels = cropSize[0] * cropSize[1] * cropSize[2];
  return {
    name: volume.name,
    volumeSize: [...axes.size],
    spacing: axes.spacing,
    cropSize: [...cropSize],
    patchSize: [...patchSize],
    origin: crop.origin,
    flipped: crop.flipped,
    grid: [...gridSize3d(config)],
    tokens: masks.numPatches,
    visible: masks.numKeep,
    masked: masks.numPatches - masks.numKeep,
    strategy,
    maskRatio,
    seed,
    at: [...at],
    planes: planes.map((plane, axis) => describePlane(plane, maskCuts[axis]!, config, axes.spacing, names[axis]!)) as [
      VolumePreviewPlane,
      VolumePreviewPlane,
      VolumePreviewPlane,
    ],
    window: displayWindow(crop.values, voxels),
  };
}
