/**
 * Exports a run's encoder — or, for a fine-tuning run, its classifier — in one format, with a
 * model card beside it, and records the export. Files are written to a fresh temporary name
 * and renamed into place; an existing file of the same name is never overwritten, and a failed
 * export (a full disk) removes what it wrote.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { StudioError } from '../contract';
import { encodeSafetensors, readSafetensors, writeFileAtomic } from '../mae/weights/safetensors';
import { officialCheckpointTensors, scriptModel } from '../handoff/handoff';
import { loadRunModel, type LoadedRun, type Pooling } from '../train/probe-model';
import { isVolume3dRun, typedRun } from '../train/run-records';
import { exportVolume3dRun, type Volume3dModelCard } from './export-run3d';
import type { Workspace } from '../workspace';
import { buildModelCard, EXPORT_FORMATS, type ExportFormat, type ModelCard } from './model-card';
import { modelCardMarkdown } from './model-card-markdown';
import { tokenCount } from '../mae/config';
import { camaeSafetensorsFiles, camaeUsage } from './camae';
import { encoderToOnnx } from './onnx';
import { satmaeSafetensorsFiles, satmaeUsage } from './satmae';
import { refuseTemporalGraph, temporalSafetensorsFiles, temporalUsage } from './satmae-temporal';
import type { ExportRecord } from '../store/exports';
import { encoderGraphSpec } from './spec';
import { encoderToTfjs } from './tfjs';
import { timmArchitecture, timmConfig, timmModelArgs, timmStateDict } from './timm';

/** What an export wrote. */
export interface ExportResult {
  record: ExportRecord;
  format: ExportFormat;
  dir: string;
  files: { name: string; bytes: number; sha256: string }[];
  /** A 3-D MAE run's card says what its volumes were (export-run3d.ts). */
  card: ModelCard | Volume3dModelCard;
}

/** Options of an export. */
export interface ExportOptions {
  /** Features of an encoder export: cls token or mean of the patch tokens (classifiers keep theirs). */
  pooling?: Pooling;
  /**
   * safetensors only: the whole MAE of a pretraining run (encoder, decoder, mask token) in the
   * official `models_mae.py` names, for `MaskedAutoencoderViT.load_state_dict(strict=True)`
   * (SatMAE runs: `MaskedAutoencoderGroupChannelViT`'s names, satmae.ts).
   */
  full?: boolean;
}

/** Files a format writes besides the card (to check for clashes before writing anything). */
export const FORMAT_FILES: Record<ExportFormat, string[]> = {
  safetensors: ['model.safetensors', 'config.json'],
  onnx: ['model.onnx'],
  tfjs: ['model.json', 'weights.bin'],
};
const CARD_FILES = ['MODEL_CARD.md', 'model_card.json'];

function usage(format: ExportFormat, loaded: LoadedRun, pooling: Pooling, full = false): string {
  const { config } = loaded.model;
  if (config.temporal) return temporalUsage(loaded, pooling, full);
  if (config.groupedBands) return satmaeUsage(format, loaded, pooling, full);
  if (config.channelAgnostic && format === 'safetensors')
    return camaeUsage(loaded.model, full, loaded.head?.classes.length ?? 0, pooling);
  if (full) {
    const args = Object.entries(officialModelArgs(loaded))
      .map(([key, value]) => `${key}=${typeof value === 'boolean' ? (value ? 'True' : 'False') : value}`)
      .join(', ');
    return [
      'from functools import partial',
      'import torch',
      'from safetensors.torch import load_file',
      'from models_mae import MaskedAutoencoderViT  # github.com/facebookresearch/mae',
      `model = MaskedAutoencoderViT(${args}, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))`,
      ...featureHeadLoad(config),
      `# input: [N, ${config.inChans}, ${config.imgSize}, ${config.imgSize}] float32, normalised as config.json says`,
    ].join('\n');
  }
  const classes = loaded.head?.classes.length ?? 0;
  const shape = `[N, ${config.inChans}, ${config.imgSize}, ${config.imgSize}]`;
  switch (format) {
    case 'safetensors': {
      const args = Object.entries(timmModelArgs(config, pooling, classes))
        .map(([key, value]) => `${key}=${pythonValue(value)}`)
        .join(', ');
      return [
        'import timm',
        'from safetensors.torch import load_file',
        `model = timm.create_model('${timmArchitecture(config)}', pretrained=False, ${args})`,
        "model.load_state_dict(load_file('model.safetensors'), strict=True)",
        `# input: ${shape} float32, normalised as config.json's pretrained_cfg says`,
      ].join('\n');
    }
    case 'onnx':
      return [
        'import onnxruntime as ort',
        "session = ort.InferenceSession('model.onnx')",
        `outputs = session.run(None, {'pixels': images})  # images: ${shape} float32, normalised`,
        `# outputs: tokens [N, ${1 + tokenCount(config)}, ${config.embedDim}], ` +
          `features [N, ${config.embedDim}]${classes ? `, logits [N, ${classes}]` : ''}`,
      ].join('\n');
    case 'tfjs':
      return [
        "const model = await tf.loadGraphModel('file://path/to/model.json'); // or an http(s) URL in a browser",
        `const [features${classes ? ', logits' : ''}] = model.execute({ pixels }, ` +
          `['features'${classes ? ", 'logits'" : ''}]); // pixels: ${shape} float32, normalised`,
      ].join('\n');
  }
}

/**
 * The load line of a whole-MAE export: strict for the MAE and the Deblurring MAE (the same
 * parameters); FG-MAE's feature heads (`decoder_pred_<target>`) have no models_mae.py name (FGMAE's
 * own models_mae.py has one `decoder_pred` per model, in other HOG and index layouts).
 */
function featureHeadLoad(config: LoadedRun['model']['config']): string[] {
  const heads = (config.featureHeads ?? []).map((head) => `decoder_pred_${head.name}.weight/.bias`);
  if (heads.length === 0) return ["model.load_state_dict(load_file('model.safetensors'), strict=True)"];
  return [
    "missing, unexpected = model.load_state_dict(load_file('model.safetensors'), strict=False)",
    `# FG-MAE: unexpected = its feature heads ${heads.join(', ')} (no models_mae.py name)` +
      (config.pixelHead === false ? '; missing = decoder_pred (no pixel target)' : ''),
  ];
}

/** The run's model card; a whole-MAE export says so in its title. */
/** A model argument as Python source: strings quoted, booleans True or False. */
function pythonValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}

function exportCard(
  workspace: Workspace,
  loaded: LoadedRun,
  format: ExportFormat | null,
  pooling: Pooling,
  full: boolean,
): ModelCard {
  const card = buildModelCard(
    workspace,
    loaded.run,
    loaded.pretrainRun,
    loaded.step,
    format,
    pooling,
    loaded.head?.classes ?? null,
  );
  return full
    ? { ...card, title: card.title.replace('MAE encoder', 'whole MAE: encoder, decoder and mask token') }
    : card;
}

/** `MaskedAutoencoderViT(...)` keyword arguments of the run's model. */
function officialModelArgs(loaded: LoadedRun): Record<string, number | boolean> {
  const m = scriptModel(loaded.model.config);
  return {
    img_size: m.img,
    patch_size: m.patch,
    in_chans: m.chans,
    embed_dim: m.dim,
    depth: m.depth,
    num_heads: m.heads,
    decoder_embed_dim: m.dec_dim,
    decoder_depth: m.dec_depth,
    decoder_num_heads: m.dec_heads,
    mlp_ratio: m.mlp,
    norm_pix_loss: m.norm_pix,
  };
}

/** The model card an export of `runId` would write (for the UI's preview); nothing is written. */
export async function previewModelCard(
  workspace: Workspace,
  runId: number,
  format: ExportFormat | null = null,
  options: ExportOptions = {},
): Promise<ModelCard> {
  const loaded = await loadRunModel(workspace, runId);
  try {
    const pooling = loaded.pooling ?? options.pooling ?? 'mean';
    const full = options.full === true && format === 'safetensors' && loaded.run.kind === 'pretrain';
    return {
      ...exportCard(workspace, loaded, format, pooling, full),
      usage: format ? usage(format, loaded, pooling, full) : '',
    };
  } finally {
    loaded.dispose();
  }
}

/**
 * Writes every file of an export into `dir` (created if needed), each atomically, then runs
 * `commit` (recording the export). When a write or `commit` fails (a full disk, say) the files
 * already written and a folder created here are removed, so a failed export leaves nothing
 * behind, and the error names the file that could not be written.
 */
async function writeAllOrNothing<T>(dir: string, contents: Map<string, Uint8Array>, commit: () => T): Promise<T> {
  const created = fs.mkdirSync(dir, { recursive: true }); // the first folder made, if any
  const written: string[] = [];
  try {
    for (const [name, bytes] of contents) {
      const file = path.join(dir, name);
      await writeFileAtomic(file, bytes);
      written.push(file);
    }
    return commit();
  } catch (error) {
    for (const file of written) fs.rmSync(file, { force: true });
    if (created) removeEmptyFolders(dir, path.dirname(created));
    throw error;
  }
}

/** Removes `dir` and its parents up to (not including) `stop`, while they are empty. */
function removeEmptyFolders(dir: string, stop: string): void {
  for (let folder = dir; folder !== stop && folder.startsWith(stop); folder = path.dirname(folder)) {
    try {
      fs.rmdirSync(folder);
    } catch {
      return; // not empty (someone else's files) or gone: stop here
    }
  }
}

/** Exports `runId` as `format` into `outDir` (created if needed). */
export async function exportRun(
  workspace: Workspace,
  runId: number,
  format: ExportFormat,
  outDir: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `export format must be one of ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(format)}`,
    );
  }
  const planned = typedRun(workspace.runs.get(runId));
  if (
    planned.kind === 'pretrain' &&
    !isVolume3dRun(planned) &&
    planned.config.recipe.domainRecipe?.name === 'satmae-temporal'
  )
    refuseTemporalGraph(runId, format); // safetensors under SatMAE's names only (satmae-temporal.ts)
  const dir = path.resolve(outDir);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory())
    throw new StudioError('INVALID_ARGUMENT', `${dir} is a file, not a folder`);
  const clashes = [...FORMAT_FILES[format], ...CARD_FILES].filter((name) => fs.existsSync(path.join(dir, name)));
  if (clashes.length)
    throw new StudioError(
      'CONFLICT',
      `${dir} already holds ${clashes.join(', ')}; choose an empty folder or remove them`,
    );
  if (options.full && format !== 'safetensors')
    throw new StudioError('INVALID_ARGUMENT', `--full exports safetensors only, not ${format}`);
  if (isVolume3dRun(planned)) {
    if (options.full)
      throw new StudioError('UNSUPPORTED', `run ${runId} is a 3-D MAE run: its encoder is exported, not the whole MAE`);
    return exportVolume3dRun(workspace, planned, format, dir, options.pooling ?? 'mean', writeAllOrNothing);
  }
  const loaded = await loadRunModel(workspace, runId);
  try {
    if (options.full && loaded.run.kind !== 'pretrain') {
      throw new StudioError(
        'INVALID_ARGUMENT',
        `run ${runId} is a ${loaded.run.kind} run; the whole MAE (with its decoder) is exported from pretraining runs`,
      );
    }
    const pooling = loaded.pooling ?? options.pooling ?? 'mean';
    const contents = new Map<string, Uint8Array>();
    const classes = loaded.head?.classes ?? null;
    if (loaded.model.config.temporal) {
      // SatMAE temporal: the encoder or whole MAE under SatMAE's own names (satmae-temporal.ts)
      for (const [name, bytes] of temporalSafetensorsFiles(loaded, runId, pooling, options.full === true))
        contents.set(name, bytes);
    } else if (loaded.model.config.groupedBands && format === 'safetensors') {
      // SatMAE: the encoder or whole MAE under SatMAE's own names (satmae.ts)
      for (const [name, bytes] of satmaeSafetensorsFiles(loaded, runId, pooling, options.full === true))
        contents.set(name, bytes);
    } else if (loaded.model.config.channelAgnostic && format === 'safetensors') {
      // CA-MAE: Recursion's channel-agnostic ViT (and MAE modules) names, app/export/camae.ts
      for (const [name, bytes] of camaeSafetensorsFiles(loaded, options.full === true, pooling))
        contents.set(name, bytes);
    } else if (options.full) {
      // The checkpoint the model was loaded from, minus the optimizer moments, in models_mae.py names.
      const { tensors } = await readSafetensors(loaded.checkpointPath);
      const official = officialCheckpointTensors(tensors, loaded.model.config);
      for (const name of [...official.keys()]) if (name.startsWith('optimizer.')) official.delete(name);
      contents.set(
        'model.safetensors',
        encodeSafetensors(official, { format: 'pt', source: `MAE Studio run ${runId} step ${loaded.step}` }),
      );
      const data = loaded.plan.data;
      contents.set(
        'config.json',
        Buffer.from(
          JSON.stringify(
            {
              architecture: 'MaskedAutoencoderViT',
              args: officialModelArgs(loaded),
              norm_layer_eps: 1e-6,
              mean: data.mean,
              std: data.std,
              ...(data.transform && { transform: data.transform }),
            },
            null,
            2,
          ) + '\n',
        ),
      );
    } else if (format === 'safetensors') {
      const state = timmStateDict(loaded.model, loaded.head);
      contents.set('model.safetensors', encodeSafetensors(state, { format: 'pt' }));
      contents.set(
        'config.json',
        Buffer.from(
          JSON.stringify(timmConfig(loaded.model.config, pooling, loaded.plan.data, classes), null, 2) + '\n',
        ),
      );
    } else {
      const spec = encoderGraphSpec(loaded.model, pooling, loaded.head);
      if (format === 'onnx') {
        contents.set(
          'model.onnx',
          encoderToOnnx(
            spec,
            `MAE Studio ${loaded.head ? 'classifier' : 'encoder'} of run ${runId}; ` +
              `input pixels [N, C, H, W] float32, normalised (see MODEL_CARD.md)`,
          ),
        );
      } else {
        const model = encoderToTfjs(spec);
        contents.set('model.json', Buffer.from(JSON.stringify(model.modelJson)));
        contents.set('weights.bin', model.weights);
      }
    }
    const files = [...contents].map(([name, bytes]) => ({
      name,
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    }));
    const card: ModelCard = {
      ...exportCard(workspace, loaded, format, pooling, options.full === true),
      files,
      usage: usage(format, loaded, pooling, options.full),
    };
    contents.set('model_card.json', Buffer.from(JSON.stringify(card, null, 2) + '\n'));
    contents.set('MODEL_CARD.md', Buffer.from(modelCardMarkdown(card)));
    const record = await writeAllOrNothing(dir, contents, () =>
      workspace.exports.add(runId, format, path.join(dir, FORMAT_FILES[format][0]!)),
    );
    return { record, format, dir, files, card };
  } finally {
    loaded.dispose();
  }
}
