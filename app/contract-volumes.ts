/**
 * The volumes part of the contract: the 3-D MAE's mask preview. For one volume of a project (a
 * NIfTI volume or a DICOM series) it gives three orthogonal planes of a crop drawn for a seed by
 * the 3-D run's crop rules, standardised as training standardises it, and which of the cuboid patches
 * those planes cross are masked. `contract.ts` merges the service into the one API.
 */
import { z } from 'zod';
import { Id, method, returns } from './contract-method';
import { MASK_STRATEGIES, type MaskStrategy } from './contract-training';

/** Three sizes (slices, rows, columns) of a crop or a patch, in voxels. */
const Size3d = z.tuple([
  z.number().int().min(1).max(512),
  z.number().int().min(1).max(512),
  z.number().int().min(1).max(512),
]);

const VolumeMaskPreviewQuery = z.strictObject({
  /** Any slice of the volume (the grid's tile is its middle slice). */
  imageId: Id,
  /** The crop the model takes (its `volumeSize`), slices × rows × columns. */
  cropSize: Size3d.default([64, 64, 64]),
  /** The cuboid patch: 16×16×16 cubes, or e.g. 4×16×16 for thick slices. */
  patchSize: Size3d.default([16, 16, 16]),
  strategy: z.enum(MASK_STRATEGIES).default('random'),
  maskRatio: z.number().finite().default(0.75),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0),
  /** The point (slice, row, column) in the crop the three planes pass through; default its centre. */
  at: Size3d.optional(),
});
export type VolumeMaskPreviewQuery = z.input<typeof VolumeMaskPreviewQuery>;

/** One of the three planes through the crop, and its masked patches. */
export interface VolumePreviewPlane {
  /** The crop axis the plane cuts across: 0 slices, 1 rows, 2 columns. */
  axis: 0 | 1 | 2;
  /** Anatomical name from the volume's orientation (`axial`, `coronal`, `sagittal`), else the axis. */
  name: string;
  /** Where along `axis` it cuts (a voxel of the crop), and how many positions the axis has. */
  index: number;
  count: number;
  /** Voxels down and across: for axis 0 rows × columns, else slices (first at the top) × rows or columns. */
  rows: number;
  columns: number;
  /** Millimetres between rows and between columns (the voxel spacing: the plane's true aspect). */
  spacing: [number, number];
  /** The standardised values, rows × columns float32, little-endian, base64. */
  values: string;
  /** Voxels a patch spans down and across this plane. */
  patchRows: number;
  patchColumns: number;
  /** Whether each patch the plane crosses is masked (1) or seen (0), row-major at patch resolution. */
  mask: number[];
  /** Patches the plane crosses, and how many of them are seen and masked. */
  patches: number;
  visible: number;
  masked: number;
}

/** The 3-D MAE's view of one volume for a seed: a crop and mask drawn by a 3-D run's rules. */
export interface VolumeMaskPreview {
  imageId: number;
  /** The file or series shown. */
  name: string;
  /** The volume's size (slices, rows, columns) and voxel spacing (mm, same order). */
  volumeSize: [number, number, number];
  spacing: [number, number, number];
  cropSize: [number, number, number];
  patchSize: [number, number, number];
  /** Where the crop starts in the volume (slice, row as shown, column) and which axes it mirrors. */
  origin: [number, number, number];
  flipped: [boolean, boolean, boolean];
  /** Patches along each axis, and in all (the tokens); how many the encoder sees and how many are masked. */
  grid: [number, number, number];
  tokens: number;
  visible: number;
  masked: number;
  strategy: MaskStrategy;
  maskRatio: number;
  seed: number;
  /** The point the planes pass through (slice, row, column of the crop). */
  at: [number, number, number];
  /** The three planes, across slices, rows and columns. */
  planes: [VolumePreviewPlane, VolumePreviewPlane, VolumePreviewPlane];
  /** A display window for every plane: the crop's 1st and 99th percentiles. */
  window: [number, number];
}

/** The 3-D mask preview. */
export const volumeServices = {
  volumes: {
    /**
     * Three orthogonal planes of a volume's crop as a 3-D run of this seed draws it (standardised), with the masked
     * cuboid patches they cross.
     */
    previewMask: method(z.tuple([VolumeMaskPreviewQuery]), returns<VolumeMaskPreview>()),
  },
} as const;
