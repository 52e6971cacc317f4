/**
 * `pretrain --3d`: the 3-D MAE on a project's volumes (NIfTI files, DICOM series), started through
 * the `training` service like the dialog's "3-D MAE (volumes)": cuboid patches (`--patch3d 4x16x16`),
 * random crops (`--crop3d 32x64x64`), volumes as stored or resampled (`--resample isotropic`).
 * Unset, crop, patch and resampling are the ones suggested from the voxel spacing, and the
 * suggestion's reason is printed.
 */
import {
  BACKEND_CHOICES,
  MASK_STRATEGIES,
  RESAMPLE_CHOICES,
  VOLUME_ENCODERS,
  type Size3dTuple,
  type Volume3dRecipe,
} from '../contract';
import { createOutput, positiveInt, required, UsageError } from './args';
import { withClient } from './client';
import { printingHost, untilEnd } from './run-output';

/** `32x64x64` → [32, 64, 64]; a clear error naming the flag otherwise. */
export function parseSize3d(flag: string, value: string | undefined): Size3dTuple | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)x(\d+)x(\d+)$/.exec(value.trim());
  if (!match)
    throw new UsageError(
      `pretrain: --${flag} must be three whole numbers slices x rows x columns, e.g. 4x16x16, ` +
        `got ${JSON.stringify(value)}`,
    );
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

function oneOf<T extends string>(flag: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value))
    throw new UsageError(`pretrain: --${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

function decimal(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed))
    throw new UsageError(`pretrain: --${flag} must be a number, got ${JSON.stringify(value)}`);
  return parsed;
}

/** Runs `pretrain --3d` with the flags `pretrain` parsed. */
export async function pretrain3d(values: Record<string, string | boolean | undefined>): Promise<void> {
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const out = createOutput(values.json === true);
  const workspace = required('pretrain', values, 'workspace');
  const projectId = positiveInt('pretrain', 'project', required('pretrain', values, 'project'))!;
  for (const flag of ['img', 'patch', 'accum', 'init', 'recipe', 'lr-rule'])
    if (values[flag] !== undefined)
      throw new UsageError(`pretrain: --${flag} is a 2-D flag; a 3-D run takes --crop3d, --patch3d and --resample`);
  const normPix = text('norm-pix');
  if (normPix !== undefined && normPix !== 'on' && normPix !== 'off')
    throw new UsageError(`pretrain: --norm-pix must be on or off, got ${JSON.stringify(normPix)}`);
  const recipe: Volume3dRecipe = {
    crop: parseSize3d('crop3d', text('crop3d')),
    patch: parseSize3d('patch3d', text('patch3d')),
    resample: oneOf('resample', text('resample'), RESAMPLE_CHOICES),
    preset: oneOf('preset', text('preset'), VOLUME_ENCODERS),
    depth: positiveInt('pretrain', 'depth', text('depth')),
    decoder: text('decoder'),
    maskRatio: decimal('mask-ratio', text('mask-ratio')),
    maskStrategy: oneOf('mask', text('mask'), MASK_STRATEGIES),
    normPixLoss: normPix === undefined ? undefined : normPix === 'on',
    batchSize: positiveInt('pretrain', 'batch', text('batch')),
    steps: positiveInt('pretrain', 'steps', text('steps')),
    epochs: positiveInt('pretrain', 'epochs', text('epochs')),
    warmupSteps: text('warmup') === undefined ? undefined : Number(text('warmup')),
    blr: decimal('blr', text('blr')),
    seed: text('seed') === undefined ? undefined : Number(text('seed')),
    backend: oneOf('backend', text('backend'), BACKEND_CHOICES),
    valFraction: decimal('val-fraction', text('val-fraction')),
  };
  for (const key of Object.keys(recipe) as (keyof Volume3dRecipe)[]) if (recipe[key] === undefined) delete recipe[key];
  await withClient(workspace, printingHost(out), async (session) => {
    const { client } = session;
    const defaults = await client.training.volumeDefaults(projectId);
    if (!defaults.available) throw new UsageError(`pretrain --3d: ${defaults.reason}`);
    out.progress(
      `${defaults.volumes} volumes: ${defaults.trainVolumes} for training, ${defaults.valVolumes} held out` +
        ' (split by subject, else by volume)',
      true,
    );
    const run = await client.training.startVolume(projectId, recipe);
    const volume3d = run.recipe?.volume3d;
    if (volume3d)
      out.progress(
        `3-D MAE: crops ${volume3d.crop.join('×')}, patches ${volume3d.patch.join('×')}` +
          `${volume3d.resample === 'isotropic' ? ', resampled to isotropic voxels' : ''}. ${volume3d.why}`,
        true,
      );
    out.progress(`Run ${run.id} planned; starting the training process…`, true);
    await untilEnd(session, run.id, out, workspace);
  });
}
