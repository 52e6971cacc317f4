/**
 * `handoff`: a pretraining run leaves the studio as a self-contained torchrun job — the
 * recipe, the data manifest with the project's normalisation, the current weights and AdamW
 * moments in the official `models_mae.py` layout, and our PyTorch training script — so it can
 * continue on a cluster (PyTorch DDP) and come back with `adopt` (adopt.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StudioError } from '../contract';
import { gridSize, type MaeConfig } from '../mae/config';
import { get2dSincosPosEmbed } from '../mae/posEmbed';
import { oursToOfficial } from '../mae/weights/layouts';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../mae/weights/safetensors';
import type { TrainConfig } from '../train/config';
import { domainRecipeSummary, type DomainRecipeConfig } from '../train/recipes/domain-recipes';
import type { PretrainPlan } from '../train/pretrain-plan';
import { isVolume3dRun, typedRun } from '../train/run-records';
import type { CheckpointMeta } from '../train/trainer-checkpoint';
import { Workspace } from '../workspace';

/** The job description the training script reads (`handoff.json`). */
export interface HandoffJob {
  format: 'mae-studio-handoff';
  version: 1;
  run: { id: number; projectId: number; workspace: string };
  /** Optimizer steps the studio had done; the job continues from here. */
  startStep: number;
  totalSteps: number;
  recipe: TrainConfig;
  /** The architecture in the script's terms (app/handoff/torch/mae_model.py). */
  model: {
    img: number;
    patch: number;
    chans: number;
    dim: number;
    depth: number;
    heads: number;
    dec_dim: number;
    dec_depth: number;
    dec_heads: number;
    mlp: number;
    norm_pix: boolean;
  };
  data: PretrainPlan['data'];
  createdAt: string;
}

/** The PyTorch files of the job, beside the built CLI or in the source tree. */
export function torchScriptsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'torch'), path.resolve(here, '../../app/handoff/torch')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'train_mae.py')));
  if (!found)
    throw new StudioError('INTERNAL', `the hand-off training script is missing (looked in ${candidates.join(', ')})`);
  return found;
}

const SCRIPTS = ['train_mae.py', 'mae_model.py', 'tensor_files.py'];
/** Image formats the job's Python reader decodes. */
const HANDOFF_FORMATS = new Set(['png', 'jpeg', 'webp', 'tiff']);

/** The script's model description from ours. */
export function scriptModel(config: MaeConfig): HandoffJob['model'] {
  return {
    img: config.imgSize,
    patch: config.patchSize,
    chans: config.inChans,
    dim: config.embedDim,
    depth: config.depth,
    heads: config.numHeads,
    dec_dim: config.decoderEmbedDim,
    dec_depth: config.decoderDepth,
    dec_heads: config.decoderNumHeads,
    mlp: config.mlpRatio,
    norm_pix: config.normPixLoss,
  };
}

/**
 * Our checkpoint tensors (`model.*`, `optimizer.m.*`, `optimizer.v.*`) in the official layout, with the fixed position
 * tables.
 */
export function officialCheckpointTensors(
  tensors: Map<string, NamedTensor>,
  config: MaeConfig,
): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  const { side, numPatches } = gridSize(config);
  out.set('pos_embed', {
    shape: [1, 1 + numPatches, config.embedDim],
    data: get2dSincosPosEmbed(config.embedDim, side, true),
  });
  out.set('decoder_pos_embed', {
    shape: [1, 1 + numPatches, config.decoderEmbedDim],
    data: get2dSincosPosEmbed(config.decoderEmbedDim, side, true),
  });
  for (const [prefix, target] of [
    ['model.', ''],
    ['optimizer.m.', 'optimizer.m.'],
    ['optimizer.v.', 'optimizer.v.'],
  ] as const) {
    for (const [name, tensor] of tensors) {
      if (!name.startsWith(prefix)) continue;
      const parameter = name.slice(prefix.length);
      out.set(`${target}${parameter}`, oursToOfficial(parameter, tensor.shape, tensor.data, config));
    }
  }
  return out;
}

/**
 * Why the torchrun job cannot continue a run of this domain recipe, or null when it can: the
 * paper's MAE and the Deblurring MAE (the job blurs each batch with `mae_model.gaussian_blur`,
 * the blur the parity test holds to the studio's). Every other recipe changes the model or its
 * targets in ways `mae_model.py` does not implement; the reason names what is missing.
 */
export function handoffRefusal(recipe: DomainRecipeConfig | undefined): string | null {
  if (!recipe || recipe.name === 'mae' || recipe.name === 'deblur') return null;
  const label = domainRecipeSummary(recipe).label;
  const why: Record<Exclude<DomainRecipeConfig['name'], 'mae' | 'deblur'>, string> = {
    fgmae:
      'its decoder regresses HOG and spectral-index targets through heads of its own (decoder_pred_hog, ' +
      "decoder_pred_indices), which the job's models_mae.py MAE neither computes nor has",
    camae:
      'its tokens are one per channel and patch (a 1-channel patch embedding, the images self-standardised, a ' +
      "channel embedding in the decoder, the Fourier term); the job's models_mae.py MAE embeds all channels of " +
      "a patch as one token. To continue in PyTorch, `export --full` writes it under Recursion's maes_microscopy " +
      'names (see the README)',
    satmae:
      "its band groups need SatMAE's MaskedAutoencoderGroupChannelViT, which the job does not train " +
      "(export --format safetensors --full writes the whole model under its names, for SatMAE's own training code)",
    hpm:
      "its mask is mined by a loss-predicting head and an averaged teacher, which the job's models_mae.py MAE " +
      "has neither of (its encoder exports as any MAE's)",
    'satmae-temporal':
      "its samples are several dates of one place, each with a timestamp encoding, which the job's " +
      'models_mae.py MAE (one image per sample) does not read (export --format safetensors --full writes the ' +
      "whole model under the names of SatMAE's models_mae_temporal.py, for SatMAE's own training code)",
  };
  return `${label} run: the torchrun job trains the paper's MAE and the Deblurring MAE only; ${why[recipe.name]}`;
}

/** Writes the job for `runId` into `outDir` (which must be empty or absent). */
export async function writeHandoff(
  workspaceDir: string,
  runId: number,
  outDir: string,
): Promise<{ dir: string; step: number; images: number }> {
  const workspace = new Workspace(workspaceDir);
  try {
    const run = typedRun(workspace.runs.get(runId));
    if (run.kind !== 'pretrain')
      throw new StudioError(
        'INVALID_ARGUMENT',
        `run ${runId} is a ${run.kind} run; only pretraining runs can be handed off`,
      );
    if (isVolume3dRun(run))
      throw new StudioError(
        'UNSUPPORTED',
        `run ${runId} is a 3-D MAE run; only 2-D runs are handed off to PyTorch yet`,
      );
    const plan = run.config;
    const refusal = handoffRefusal(plan.recipe.domainRecipe);
    if (refusal) throw new StudioError('INVALID_ARGUMENT', `run ${runId} is a ${refusal}`);
    if (plan.recipe.maskStrategy !== 'random') {
      throw new StudioError(
        'INVALID_ARGUMENT',
        `run ${runId} masks with "${plan.recipe.maskStrategy}"; ` +
          `the torchrun job implements the paper's random masking only`,
      );
    }
    const checkpoint = workspace.runs.latestCheckpoint(runId);
    if (!checkpoint)
      throw new StudioError(
        'CONFLICT',
        `run ${runId} has no checkpoint yet: train at least until its first checkpoint`,
      );
    if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0)
      throw new StudioError('INVALID_ARGUMENT', `${outDir} is not empty; choose a new folder`);
    const entries = (ids: number[], split: 'train' | 'val') =>
      workspace.images.sources(ids).map((source, index) => {
        const id = ids[index]!;
        if (!source)
          throw new StudioError(
            'NOT_FOUND',
            `image ${id} of run ${runId} was removed from the project; start a new run`,
          );
        const { label, channels, bitDepth, format, frame, meta } = source;
        return {
          id,
          split,
          path: source.path,
          label,
          channels,
          bitDepth,
          format,
          frame,
          huge: meta?.huge === true,
          nodata: meta?.nodata ?? null,
        };
      });
    const all = [...entries(plan.data.trainImageIds, 'train'), ...entries(plan.data.valImageIds, 'val')];
    // The job's reader (train_mae.py) reads whole PNG, JPEG, WebP and single-image TIFF files.
    const unreadable = all.filter((image) => !HANDOFF_FORMATS.has(image.format ?? '') || image.frame > 0 || image.huge);
    if (unreadable.length) {
      const first = unreadable[0]!;
      const why = first.huge
        ? 'a slide larger than memory'
        : first.frame > 0
          ? `frame ${first.frame + 1} of a multi-frame file`
          : `${first.format ?? 'unknown'} format`;
      throw new StudioError(
        'UNSUPPORTED',
        `${unreadable.length} of run ${runId}'s ${all.length} images cannot be read by the torchrun job (PNG, ` +
          `JPEG, WebP and single-image TIFF only); first: ${first.path} (${why}). Continue this run in the studio`,
      );
    }
    const images = all.map(({ format: _format, frame: _frame, huge: _huge, ...image }) => image);
    const { tensors, metadata } = await readSafetensors(checkpoint.path);
    const meta = JSON.parse(metadata.studio ?? '{}') as CheckpointMeta;

    fs.mkdirSync(outDir, { recursive: true });
    await writeSafetensors(
      path.join(outDir, 'weights.safetensors'),
      officialCheckpointTensors(tensors, plan.recipe.model),
      {
        step: String(meta.step),
        optimizerStep: String(meta.optimizerStep),
        source: `MAE Studio run ${runId}`,
      },
    );
    fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify({ images }, null, 1));
    const job: HandoffJob = {
      format: 'mae-studio-handoff',
      version: 1,
      run: { id: runId, projectId: run.projectId, workspace: path.resolve(workspaceDir) },
      startStep: meta.step,
      totalSteps: plan.recipe.totalSteps,
      recipe: plan.recipe,
      model: scriptModel(plan.recipe.model),
      data: plan.data,
      createdAt: new Date().toISOString(),
    };
    fs.writeFileSync(path.join(outDir, 'handoff.json'), JSON.stringify(job, null, 2));
    const scripts = torchScriptsDir();
    for (const file of SCRIPTS) fs.copyFileSync(path.join(scripts, file), path.join(outDir, file));
    fs.writeFileSync(path.join(outDir, 'README.md'), readme(job, images.length));
    return { dir: outDir, step: meta.step, images: images.length };
  } finally {
    workspace.close();
  }
}

/** The job README's line for a Deblurring MAE run (empty otherwise). */
function deblurNote(job: HandoffJob): string {
  const recipe = job.recipe.domainRecipe;
  if (recipe?.name !== 'deblur') return '';
  return (
    `\nDeblurring MAE: the encoder sees each batch blurred by a Gaussian of σ ${recipe.blurSigma} px ` +
    '(scipy reflect edges); the loss compares with the sharp batch.'
  );
}

function readme(job: HandoffJob, images: number): string {
  const m = job.model;
  return `# MAE Studio hand-off: run ${job.run.id}

Continues MAE pretraining run ${job.run.id} from step ${job.startStep} of ${job.totalSteps} with PyTorch
DDP: ViT ${m.dim}d × ${m.depth} blocks, patch ${m.patch}, ${m.img} px, ${m.chans} channel${m.chans === 1 ? '' : 's'},
decoder ${m.dec_dim}d × ${m.dec_depth}; batch ${job.recipe.batchSize} per process, mask ratio ${job.recipe.maskRatio},
blr ${job.recipe.blr} (lr rule: ${job.recipe.lrRule ?? 'linear'}).${deblurNote(job)}
${images} images are listed in \`manifest.json\` with their labels and split; pixels are scaled by
bit depth and normalised with the project's per-channel mean and std (\`handoff.json\`).

Needs Python 3 with PyTorch ≥ 1.12 and NumPy (tifffile for TIFF images, Pillow for JPEG/WebP).

    # one machine, N processes (GPUs, or CPU with the gloo backend)
    torchrun --nproc_per_node N train_mae.py
    # several machines: on each, with its --node_rank
    torchrun --nnodes M --nproc_per_node N --node_rank R --rdzv_backend c10d --rdzv_endpoint HOST:29500 train_mae.py

Options: \`--steps S\` (stop after S steps), \`--map-root /old/prefix=/new/prefix\` when the images
live elsewhere on the cluster, \`--checkpoint-every K\`. The learning rate scales with the effective
batch (batch × processes), as in the paper.

Output: \`out/checkpoint-<step>.safetensors\` (official models_mae.py names, AdamW moments) and
\`out/metrics.jsonl\`. Bring the result back with:

    mae-studio adopt --workspace ${job.run.workspace} --project ${job.run.projectId} <this folder>
`;
}
