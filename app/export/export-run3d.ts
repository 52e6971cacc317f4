/**
 * Exports of a 3-D MAE run's encoder (its newest checkpoint): safetensors of
 * `VisionTransformer3d` with a `config.json` a reader rebuilds it from (mae3d.ts), or ONNX with
 * input `volumes` [N, C, D, H, W]; each with a model card (Markdown + JSON) saying what the
 * encoder was trained on, how its input is normalised and what its losses were. TF.js has no
 * 3-D graph here, and is refused with the formats that work.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { StudioError } from '../contract';
import type { Mae3dConfig } from '../mae/volume3d/config3d';
import { disposeMae3d } from '../mae/volume3d/mae3d';
import type { ExportRecord } from '../store/exports';
import type { Pooling } from '../train/probe-model';
import type { Pretrain3dRun } from '../train/run-records';
import { loadMae3dCheckpoint } from '../train/volume3d/trainer3d';
import { VERSION } from '../version';
import type { Workspace } from '../workspace';
import { mae3dEncoderOnnx, mae3dSafetensorsFiles } from './mae3d';
import type { ExportFormat } from './model-card';

/** How a 3-D encoder's input is normalised: what a reader must do to its own volumes. */
export const VOLUME3D_NORMALISATION =
  'each crop [C, D, H, W] is shifted and scaled per channel to mean 0, standard deviation 1 (a constant crop: zeros)';

/** The model card of a 3-D encoder export. */
export interface Volume3dModelCard {
  title: string;
  format: ExportFormat;
  createdAt: string;
  studioVersion: string;
  run: { id: number; status: string; backend: string | null; finishedAt: string | null; step: number };
  model: { architecture: 'mae3d_vit'; config: Mae3dConfig; pooling: Pooling };
  dataset: { project: string; trainVolumes: number; valVolumes: number; resample: string; why: string };
  normalisation: string;
  recipe: Pretrain3dRun['config']['recipe'];
  losses: { lastTrainLoss: number | null; lastValLoss: number | null };
  files: { name: string; bytes: number; sha256: string }[];
  usage: string;
}

function usage3d(format: ExportFormat, config: Mae3dConfig): string {
  const shape = `[N, ${config.inChans}, ${config.volumeSize.join(', ')}]`;
  if (format === 'onnx')
    return [
      'import onnxruntime as ort',
      "session = ort.InferenceSession('model.onnx')",
      `tokens, features = session.run(None, {'volumes': volumes})  # volumes: ${shape} float32, standardised`,
    ].join('\n');
  return [
    'import json, torch',
    'from safetensors.torch import load_file',
    'from mae3d_model import VisionTransformer3d  # app/handoff/torch/mae3d_model.py',
    "model = VisionTransformer3d(**json.load(open('config.json'))['args'])",
    "model.load_state_dict(load_file('model.safetensors'), strict=True)",
    `# input: ${shape} float32, each crop standardised per channel (config.json: normalisation)`,
  ].join('\n');
}

function last(values: number[]): number | null {
  return values.length > 0 ? values[values.length - 1]! : null;
}

function cardMarkdown(card: Volume3dModelCard): string {
  const { model, dataset } = card;
  return [
    `# ${card.title}`,
    '',
    `Run ${card.run.id} at step ${card.run.step} (${card.run.status}), MAE Studio ${card.studioVersion}.`,
    '',
    '## Model',
    `- 3-D ViT: ${model.config.embedDim}-wide, ${model.config.depth} blocks, ${model.config.numHeads} heads`,
    `- input crop ${model.config.volumeSize.join('×')} (slices×rows×columns), ` +
      `patches ${model.config.patchSize.join('×')}, ${model.config.inChans} channel(s)`,
    `- features: ${model.pooling === 'cls' ? 'the cls token' : 'the mean of the patch tokens'}`,
    '',
    '## Data',
    `- project ${dataset.project}: ${dataset.trainVolumes} training and ${dataset.valVolumes} validation volumes`,
    `- ${dataset.why}`,
    `- normalisation: ${card.normalisation}`,
    '',
    '## Losses',
    `- last training loss ${card.losses.lastTrainLoss?.toFixed(4) ?? '—'}, ` +
      `last validation loss ${card.losses.lastValLoss?.toFixed(4) ?? '—'}`,
    '',
    '## Files',
    ...card.files.map((file) => `- ${file.name}: ${file.bytes} bytes, sha256 ${file.sha256}`),
    '',
    '## Usage',
    '```python',
    card.usage,
    '```',
    '',
  ].join('\n');
}

/** The files of a 3-D run's export and its card; nothing is written. */
export async function volume3dExportContents(
  workspace: Workspace,
  run: Pretrain3dRun,
  format: ExportFormat,
  pooling: Pooling,
): Promise<{ contents: Map<string, Uint8Array>; card: Volume3dModelCard }> {
  if (format === 'tfjs')
    throw new StudioError(
      'UNSUPPORTED',
      `run ${run.id} is a 3-D MAE run: its encoder exports as safetensors or onnx; TF.js has no 3-D graph here`,
    );
  const checkpoint = workspace.runs.latestCheckpoint(run.id);
  if (!checkpoint) throw new StudioError('CONFLICT', `run ${run.id} has no checkpoint yet; pretrain it first`);
  const plan = run.config;
  const model = await loadMae3dCheckpoint(checkpoint.path, plan);
  const contents = new Map<string, Uint8Array>();
  try {
    if (format === 'safetensors') {
      for (const [name, bytes] of mae3dSafetensorsFiles(model)) {
        if (name !== 'config.json') contents.set(name, bytes);
        else {
          const config = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
          const extra = { normalisation: VOLUME3D_NORMALISATION, resample: plan.volume3d.resample, pooling };
          contents.set('config.json', Buffer.from(`${JSON.stringify({ ...config, ...extra }, null, 2)}\n`));
        }
      }
    } else contents.set('model.onnx', mae3dEncoderOnnx(model, pooling));
  } finally {
    disposeMae3d(model);
  }
  const files = [...contents].map(([name, bytes]) => ({
    name,
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  }));
  const card: Volume3dModelCard = {
    title: `3-D MAE encoder of run ${run.id} (${format})`,
    format,
    createdAt: new Date().toISOString(),
    studioVersion: VERSION,
    run: { id: run.id, status: run.status, backend: run.backend, finishedAt: run.finishedAt, step: checkpoint.step },
    model: { architecture: 'mae3d_vit', config: plan.volume3d.model, pooling },
    dataset: {
      project: workspace.projects.get(run.projectId).name,
      trainVolumes: plan.data.trainVolumes.length,
      valVolumes: plan.data.valVolumes.length,
      resample: plan.volume3d.resample,
      why: plan.volume3d.why,
    },
    normalisation: VOLUME3D_NORMALISATION,
    recipe: plan.recipe,
    losses: {
      lastTrainLoss: last(workspace.runs.series(run.id, 'train_loss').values),
      lastValLoss: last(workspace.runs.series(run.id, 'val_loss').values),
    },
    files,
    usage: usage3d(format, plan.volume3d.model),
  };
  contents.set('model_card.json', Buffer.from(`${JSON.stringify(card, null, 2)}\n`));
  contents.set('MODEL_CARD.md', Buffer.from(cardMarkdown(card)));
  return { contents, card };
}

/** Writes a 3-D run's export with `write` (all files or none) and records it. */
export async function exportVolume3dRun(
  workspace: Workspace,
  run: Pretrain3dRun,
  format: ExportFormat,
  dir: string,
  pooling: Pooling,
  write: (dir: string, contents: Map<string, Uint8Array>, commit: () => ExportRecord) => Promise<ExportRecord>,
) {
  const { contents, card } = await volume3dExportContents(workspace, run, format, pooling);
  const primary = format === 'onnx' ? 'model.onnx' : 'model.safetensors';
  const record = await write(dir, contents, () => workspace.exports.add(run.id, format, path.join(dir, primary)));
  const files = card.files;
  return { record, format, dir, files, card };
}

/** What the export dialog says of a 3-D run's export before it is written. */
export async function volume3dExportPreview(workspace: Workspace, run: Pretrain3dRun, format: ExportFormat) {
  const { contents } = await volume3dExportContents(workspace, run, format, 'mean');
  const { model } = run.config.volume3d;
  return {
    files: [...contents.keys()],
    contents: [
      format === 'safetensors'
        ? 'Encoder weights under VisionTransformer3d names (app/handoff/torch/mae3d_model.py; ' +
          'no decoder, no mask token)'
        : `Encoder graph: input volumes [N, ${model.inChans}, ${model.volumeSize.join(', ')}] float32 → tokens and ` +
          'pooled features',
      ...(format === 'safetensors' ? ['config.json: the arguments that rebuild the encoder, normalisation'] : []),
      'Model card: volumes, normalisation, recipe, losses',
    ],
    modelCard: new TextDecoder().decode(contents.get('MODEL_CARD.md')),
  };
}
