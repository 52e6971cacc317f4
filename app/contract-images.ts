/**
 * The part of the contract about managing projects and looking at images: what deleting a
 * project removes, and windows of an image's real values for the viewer. Merged into
 * `contract.ts` (which re-exports it). No Node, Electron or DOM here: the renderer imports it too.
 */
import { z } from 'zod';
import type { DisplayWindow, ImageMeta } from './contract-data';

/** What deleting a project removes (the user's image files are never touched). */
export interface ProjectRemoval {
  projectId: number;
  /** Rows of the images table: imported images, failed files and duplicates. */
  images: number;
  runs: number;
  checkpoints: number;
  exports: number;
  /** Runs of the project training now; deleting is refused while there are any. */
  training: number[];
  /** Bytes of the project's folder (thumbnails, checkpoints, exports written there). */
  bytes: number;
}

/**
 * The project's decoded training cache: training images prepared once (channel plan applied, at
 * the run's size plus the crop margin) so later runs read them instead of decoding every file.
 */
export interface TrainingCacheUsage {
  projectId: number;
  /** Bytes on disk, every channel plan and model size together, volume copies included. */
  bytes: number;
  /** Complete shard files and the samples they hold. */
  shards: number;
  samples: number;
  /**
   * Uncompressed copies of the project's `.nii.gz` files (kept in the workspace's cache, shared
   * with any other project importing the same file, which keeps them when this one is cleared).
   */
  volumeCopies: number;
  volumeCopyBytes: number;
}

/**
 * A window of one sample's real values, for the viewer: every `step`-th pixel of the region
 * (1 = native resolution), interleaved `[y][x][band]`, in the sample's own units (for DICOM,
 * modality units after Rescale Slope/Intercept: Hounsfield units for CT).
 */
export interface ImageWindow {
  imageId: number;
  /** Which sample of the file this is, and how many the file has (frames, pages, planes). */
  frame: number;
  frames: number;
  /** The id of the image row of this frame (the grid's tile), when imported. */
  frameImageId: number | null;
  /** Size of the whole sample, in pixels. */
  imageWidth: number;
  imageHeight: number;
  /** The region asked for, clamped to the sample, in native pixels. */
  x: number;
  y: number;
  regionWidth: number;
  regionHeight: number;
  step: number;
  /** Size of the returned grid: ceil(region / step). */
  width: number;
  height: number;
  bands: number;
  sampleType: NonNullable<ImageMeta['sampleType']>;
  /** The values as little-endian bytes of `sampleType`, base64. */
  values: string;
  /** What the values measure: 'HU' for CT; null when the file does not say. */
  unit: string | null;
  modality: string | null;
  bandNames: (string | null)[];
  /** The file's own display windows (DICOM VOI), if any. */
  windows: DisplayWindow[];
  nodata: number | null;
}

export const ImageWindowQuery = z.strictObject({
  /** Which sample of the image's file (its frame, page or plane); default the image's own. */
  frame: z.number().int().min(0).max(1_000_000).optional(),
  x: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31)
    .default(0),
  y: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31)
    .default(0),
  /** Region size in native pixels; default to the sample's edge. */
  width: z
    .number()
    .int()
    .min(1)
    .max(2 ** 31)
    .optional(),
  height: z
    .number()
    .int()
    .min(1)
    .max(2 ** 31)
    .optional(),
  /** Keep every step-th pixel of each row and column (1 = native resolution). */
  step: z.number().int().min(1).max(4096).default(1),
});
export type ImageWindowQuery = z.input<typeof ImageWindowQuery>;
