/**
 * The 3-D MAE as a run (issue 20.5): what a user chooses for a pretraining run on a project's
 * volumes (NIfTI files, DICOM series), what the dialog offers before it, and what a 3-D run's
 * summary says. A 3-D run is a `pretrain` run like any other (history, progress, pause, resume,
 * probe, export); only its recipe differs. No Node, Electron or DOM here.
 */
import { z } from 'zod';
import { RESAMPLE_CHOICES, type RunSummary, type Size3dTuple } from './contract-runs';
import { BACKEND_CHOICES, MASK_STRATEGIES } from './contract-training';
import { Id, method, returns } from './contract-method';

/** Encoders a 3-D run may use (the 2-D studio's ViT sizes). */
export const VOLUME_ENCODERS = ['vit-tiny', 'vit-small', 'vit-base'] as const;

const Side = z.number().int().min(1).max(1024);
const Triple = z.tuple([Side, Side, Side]);
const Count = z.number().int().positive().max(1_000_000_000);

/** What the user may choose for a 3-D run; unset fields take the engine's defaults. */
export const Volume3dRecipeSchema = z.strictObject({
  /** Crop (slices, rows, columns) in voxels of the volume as trained (after resampling). */
  crop: Triple.optional(),
  /** Cuboid patch (slices, rows, columns); each crop side must be a multiple of it. */
  patch: Triple.optional(),
  /** Resample volumes to isotropic voxels (the finest spacing) before cropping. */
  resample: z.enum(RESAMPLE_CHOICES).optional(),
  preset: z.enum(VOLUME_ENCODERS).optional(),
  /** Encoder blocks (fewer than the preset's for a quick run). */
  depth: z.number().int().min(1).max(48).optional(),
  /** Decoder width × blocks, e.g. `128x2`. */
  decoder: z
    .string()
    .regex(/^\d+x\d+$/, 'decoder must look like 128x2 (width x blocks)')
    .optional(),
  maskRatio: z.number().gt(0).lt(1).optional(),
  /** Which cuboid patches are hidden: random (the paper's), block (cuboids) or filtered noise. */
  maskStrategy: z.enum(MASK_STRATEGIES).optional(),
  normPixLoss: z.boolean().optional(),
  batchSize: z.number().int().min(1).max(4096).optional(),
  steps: Count.optional(),
  epochs: Count.optional(),
  warmupSteps: z.number().int().min(0).max(1_000_000_000).optional(),
  blr: z.number().positive().max(1).optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31)
    .optional(),
  backend: z.enum(BACKEND_CHOICES).optional(),
  /** Share of volumes (by subject, else volume) held out for the validation loss when curation set no split. */
  valFraction: z.number().min(0).max(0.9).optional(),
});
/** What the user may choose for a 3-D run. */
export type Volume3dRecipe = z.input<typeof Volume3dRecipeSchema>;

/** The patch and resampling suggested from the volumes' voxel spacing, and why. */
export interface Volume3dSuggestion {
  crop: Size3dTuple;
  patch: Size3dTuple;
  resample: (typeof RESAMPLE_CHOICES)[number];
  /** Median slice spacing over median in-plane spacing (1 = isotropic). */
  anisotropy: number;
  /** One sentence: what was suggested and why. */
  reason: string;
}

/** What the new-run dialog offers for a 3-D run on a project. */
export interface Volume3dDefaults {
  /** Whether this project can train a 3-D MAE; when not, `reason` says why in one sentence. */
  available: boolean;
  reason: string | null;
  /** Volumes that can be cropped, and how they split. */
  volumes: number;
  trainVolumes: number;
  valVolumes: number;
  /** The smallest volume (slices, rows, columns): no crop may exceed it. */
  smallest: Size3dTuple | null;
  /** Median voxel spacing in mm (slices, rows, columns). */
  spacing: Size3dTuple | null;
  suggestion: Volume3dSuggestion | null;
  /** The recipe the dialog starts from (the suggestion's crop and patch). */
  recipe: Required<Omit<Volume3dRecipe, 'steps' | 'valFraction' | 'warmupSteps'>>;
}

/** The 3-D run's methods, part of the `training` service. */
export const volumeRunServices = {
  /** Whether the project can train a 3-D MAE, with the suggested crop, patch and resampling. */
  volumeDefaults: method(z.tuple([Id]), returns<Volume3dDefaults>()),
  /** Plans a 3-D MAE run on the project's volumes and starts its training process. */
  startVolume: method(z.tuple([Id, Volume3dRecipeSchema]), returns<RunSummary>()),
} as const;
