/**
 * Exports of SatMAE temporal runs under the names of SatMAE's own code
 * (github.com/sustainlab-group/SatMAE): safetensors of the encoder for models_vit_temporal.py's
 * `VisionTransformer`, or with `--full` the whole MAE for models_mae_temporal.py's
 * `MaskedAutoencoderViT`, each loading with `load_state_dict(strict=True)`, beside a `config.json`
 * with the constructor's arguments, how the timestamps are counted and the project's
 * normalisation (app/mae/satmae-temporal-state.ts says when SatMAE's classes, which hard-code 3
 * dates and 128-wide date encodings, take the weights unchanged).
 *
 * ONNX and TF.js are refused: the shared encoder graph (graph.ts) has one input of pixels and no
 * sine or cosine op, and the date encodings are sin-cos of each sample's timestamps.
 */
import { StudioError } from '../contract';
import {
  loadsIntoReferenceUnchanged,
  temporalEncoderArgs,
  temporalEncoderStateDict,
  temporalFullStateDict,
  temporalConstants,
  temporalModelArgs,
} from '../mae/satmae-temporal-state';
import { encodeSafetensors } from '../mae/weights/safetensors';
import type { LoadedRun, Pooling } from '../train/probe-model';
import type { DomainRecipeConfig } from '../train/recipes/domain-recipes';
import type { ExportFormat } from './model-card';

const SATMAE_SOURCE = 'github.com/sustainlab-group/SatMAE';

/** Throws UNSUPPORTED for a graph format (ONNX, TF.js) of a temporal run, saying why. */
export function refuseTemporalGraph(runId: number, format: ExportFormat): void {
  if (format === 'safetensors') return;
  throw new StudioError(
    'UNSUPPORTED',
    `run ${runId} is a SatMAE (temporal) run: its encoder adds sin-cos encodings of each date's timestamp, ` +
      `which the ${format === 'onnx' ? 'ONNX' : 'TF.js'} encoder graph (pixels only, no sine or cosine) ` +
      'cannot express yet; export it as safetensors (SatMAE names, loads in PyTorch)',
  );
}

/** How the timestamps beside the frames are counted, for config.json. */
function timestampsNote(recipe: Extract<DomainRecipeConfig, { name: 'satmae-temporal' }>) {
  return {
    timestamps: '[N, T, 3] per date: [year - base_year, month - 1, hour], float32',
    base_year: recipe.baseYear,
    frames_input: '[N, T, C, H, W] float32: T dates of one place, oldest first, each normalised',
  };
}

/** `model.safetensors` and `config.json` of a temporal run: its encoder, or with `full` the whole MAE. */
export function temporalSafetensorsFiles(
  loaded: LoadedRun,
  runId: number,
  pooling: Pooling,
  full: boolean,
): Map<string, Uint8Array> {
  const { config } = loaded.model;
  const recipe = loaded.plan.recipe.domainRecipe;
  if (recipe?.name !== 'satmae-temporal') throw new Error(`run ${runId} is not a SatMAE temporal run`);
  const data = loaded.plan.data;
  const common = {
    ...timestampsNote(recipe),
    // what SatMAE's code hard-codes (3 dates, 128 and 64), at this run's values
    constants: temporalConstants(config),
    loads_into_satmae_unchanged: loadsIntoReferenceUnchanged(config),
    norm_layer_eps: 1e-6,
    mean: data.mean,
    std: data.std,
    pixel_scaling: data.scaling,
    ...(data.transform && { transform: data.transform }),
  };
  const source = `MAE Studio run ${runId} step ${loaded.step}`;
  const state = full ? temporalFullStateDict(loaded.model) : temporalEncoderStateDict(loaded.model);
  const description = full
    ? {
        architecture: 'MaskedAutoencoderViT',
        source: `${SATMAE_SOURCE} models_mae_temporal.py`,
        args: temporalModelArgs(config),
        ...common,
      }
    : {
        architecture: 'VisionTransformer',
        source: `${SATMAE_SOURCE} models_vit_temporal.py`,
        args: temporalEncoderArgs(config, 0),
        pooling,
        ...common,
      };
  return new Map([
    ['model.safetensors', encodeSafetensors(state, { format: 'pt', source })],
    ['config.json', Buffer.from(JSON.stringify(description, null, 2) + '\n')],
  ]);
}

/** A keyword argument list as Python source. */
function pythonArgs(args: Record<string, number | boolean>): string {
  return Object.entries(args)
    .map(([key, value]) => `${key}=${typeof value === 'boolean' ? (value ? 'True' : 'False') : value}`)
    .join(', ');
}

/** How to load a temporal run's export, for the model card. */
export function temporalUsage(loaded: LoadedRun, pooling: Pooling, full: boolean): string {
  const { config } = loaded.model;
  const { frames, time_embed_dim: width, decoder_time_embed_dim: decoderWidth } = temporalConstants(config);
  const baseYear =
    loaded.plan.recipe.domainRecipe?.name === 'satmae-temporal' ? loaded.plan.recipe.domainRecipe.baseYear : 0;
  const shape = `[N, ${frames}, ${config.inChans}, ${config.imgSize}, ${config.imgSize}]`;
  const norm = 'norm_layer=partial(torch.nn.LayerNorm, eps=1e-6)';
  const lines = [
    'from functools import partial',
    'import torch',
    'from safetensors.torch import load_file',
    ...(loadsIntoReferenceUnchanged(config)
      ? []
      : [
          `# SatMAE's code hard-codes 3 dates and date encodings 128 (pos_embed D - 384) and 64 wide; this run has ` +
            `${frames} dates, ${width} and ${decoderWidth}: change those constants first (config.json: constants)`,
        ]),
    full
      ? `from models_mae_temporal import MaskedAutoencoderViT  # ${SATMAE_SOURCE}`
      : `from models_vit_temporal import VisionTransformer  # ${SATMAE_SOURCE}`,
    full
      ? `model = MaskedAutoencoderViT(${pythonArgs(temporalModelArgs(config))}, ${norm})`
      : `model = VisionTransformer(${pythonArgs(temporalEncoderArgs(config, 0))}, ${norm})`,
    "model.load_state_dict(load_file('model.safetensors'), strict=True)",
    `# input: frames ${shape} float32 (dates oldest first, normalised as config.json says) and timestamps ` +
      `[N, ${frames}, 3] = [year - ${baseYear}, month - 1, hour]`,
  ];
  if (!full)
    lines.push(
      pooling === 'mean'
        ? "# model.forward_features gives the cls token; the studio's mean pooling averages the T·L patch tokens " +
            'after model.norm'
        : '# model.forward_features(frames, timestamps) gives the cls token after model.norm',
    );
  return lines.join('\n');
}
