/**
 * Exports of SatMAE (grouped-band) runs under the names of SatMAE's own code
 * (github.com/sustainlab-group/SatMAE): safetensors of the encoder for
 * `GroupChannelsVisionTransformer` (models_vit_group_channels.py), or with `--full` the whole MAE
 * for `MaskedAutoencoderGroupChannelViT` (models_mae_group_channels.py), each loading with
 * `load_state_dict(strict=True)`, beside a `config.json` with the constructor's arguments and the
 * project's normalisation. ONNX and TF.js take the shared encoder graph (graph.ts), which embeds
 * each band group on its own.
 */
import { StudioError } from '../contract';
import type { MaeConfig } from '../mae/config';
import { tokenCount } from '../mae/config';
import { satmaeEncoderArgs, satmaeEncoderStateDict, satmaeFullStateDict, satmaeModelArgs } from '../mae/satmae-state';
import { encodeSafetensors } from '../mae/weights/safetensors';
import type { LoadedRun, Pooling } from '../train/probe-model';
import type { ExportFormat } from './model-card';

/** Where the reference classes live, for the usage and config.json. */
const SATMAE_SOURCE = 'github.com/sustainlab-group/SatMAE';

/** A keyword argument as Python source. */
function pythonValue(value: unknown): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

function pythonArgs(args: Record<string, unknown>): string {
  return Object.entries(args)
    .map(([key, value]) => `${key}=${pythonValue(value)}`)
    .join(', ');
}

/**
 * Refuses what SatMAE's classes cannot express: a classifier fine-tuned on mean-pooled tokens
 * (`GroupChannelsVisionTransformer` feeds its head the cls token, or with `global_pool` the
 * patch mean through a new `fc_norm` these weights lack).
 */
function checkSafetensors(loaded: LoadedRun, runId: number, pooling: Pooling): void {
  if (loaded.head && pooling === 'mean') {
    throw new StudioError(
      'UNSUPPORTED',
      `run ${runId} is a SatMAE classifier on mean-pooled tokens; SatMAE's GroupChannelsVisionTransformer ` +
        'feeds its head the cls token (or, with global_pool, the patch mean through an fc_norm these weights ' +
        'do not have), so its safetensors export would give other logits. Export it as ONNX or TF.js',
    );
  }
}

/** `model.safetensors` and `config.json` of a SatMAE run: its encoder, or with `full` the whole MAE. */
export function satmaeSafetensorsFiles(
  loaded: LoadedRun,
  runId: number,
  pooling: Pooling,
  full: boolean,
): Map<string, Uint8Array> {
  const { config } = loaded.model;
  const data = loaded.plan.data;
  const normalisation = {
    mean: data.mean,
    std: data.std,
    pixel_scaling: data.scaling,
    ...(data.transform && { transform: data.transform }),
  };
  const files = new Map<string, Uint8Array>();
  const source = `MAE Studio run ${runId} step ${loaded.step}`;
  if (full) {
    files.set('model.safetensors', encodeSafetensors(satmaeFullStateDict(loaded.model), { format: 'pt', source }));
    const description = {
      architecture: 'MaskedAutoencoderGroupChannelViT',
      source: `${SATMAE_SOURCE} models_mae_group_channels.py`,
      args: satmaeModelArgs(config),
      norm_layer_eps: 1e-6,
      ...normalisation,
    };
    files.set('config.json', Buffer.from(JSON.stringify(description, null, 2) + '\n'));
    return files;
  }
  checkSafetensors(loaded, runId, pooling);
  const state = satmaeEncoderStateDict(loaded.model);
  const classes = loaded.head?.classes ?? null;
  if (loaded.head) {
    const [width, count] = loaded.head.weight.shape;
    const stored = loaded.head.weight.dataSync(); // [D, K] → torch Linear [K, D]
    const weight = new Float32Array(width * count);
    for (let d = 0; d < width; d++) for (let k = 0; k < count; k++) weight[k * width + d] = stored[d * count + k]!;
    state.set('head.weight', { shape: [count, width], data: weight });
    state.set('head.bias', { shape: [count], data: loaded.head.bias.dataSync() as Float32Array });
  }
  files.set('model.safetensors', encodeSafetensors(state, { format: 'pt', source }));
  const description = {
    architecture: 'GroupChannelsVisionTransformer',
    source: `${SATMAE_SOURCE} models_vit_group_channels.py`,
    args: { ...satmaeEncoderArgs(config, classes?.length ?? 0), qkv_bias: true },
    norm_layer_eps: 1e-6,
    pooling,
    ...(classes && { label_names: classes }),
    ...normalisation,
  };
  files.set('config.json', Buffer.from(JSON.stringify(description, null, 2) + '\n'));
  return files;
}

/** How to load a SatMAE run's export, for the model card. */
export function satmaeUsage(format: ExportFormat, loaded: LoadedRun, pooling: Pooling, full: boolean): string {
  const { config } = loaded.model;
  const shape = `[N, ${config.inChans}, ${config.imgSize}, ${config.imgSize}]`;
  const classes = loaded.head?.classes.length ?? 0;
  const imports = ['from functools import partial', 'import torch', 'from safetensors.torch import load_file'];
  if (full) {
    return [
      ...imports,
      `from models_mae_group_channels import MaskedAutoencoderGroupChannelViT  # ${SATMAE_SOURCE}`,
      `model = MaskedAutoencoderGroupChannelViT(${pythonArgs(satmaeModelArgs(config))}, ` +
        'norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))',
      "model.load_state_dict(load_file('model.safetensors'), strict=True)",
      `# input: ${shape} float32, normalised as config.json says`,
    ].join('\n');
  }
  if (format === 'safetensors') {
    return [
      ...imports,
      `from models_vit_group_channels import GroupChannelsVisionTransformer  # ${SATMAE_SOURCE}`,
      `model = GroupChannelsVisionTransformer(${pythonArgs(satmaeEncoderArgs(config, classes))}, ` +
        'qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))',
      "model.load_state_dict(load_file('model.safetensors'), strict=True)",
      `# input: ${shape} float32, normalised as config.json says; model.forward_features gives the cls token`,
      ...(pooling === 'mean' && classes === 0
        ? ["# the studio's mean pooling averages the G·L patch tokens after model.norm (not fc_norm)"]
        : []),
    ].join('\n');
  }
  return satmaeGraphUsage(format, config, classes);
}

function satmaeGraphUsage(format: ExportFormat, config: MaeConfig, classes: number): string {
  const shape = `[N, ${config.inChans}, ${config.imgSize}, ${config.imgSize}]`;
  if (format === 'onnx') {
    return [
      'import onnxruntime as ort',
      "session = ort.InferenceSession('model.onnx')",
      `outputs = session.run(None, {'pixels': images})  # images: ${shape} float32, normalised`,
      `# outputs: tokens [N, ${1 + tokenCount(config)}, ${config.embedDim}] (cls, then G·L group tokens, ` +
        `group-major), features [N, ${config.embedDim}]${classes ? `, logits [N, ${classes}]` : ''}`,
    ].join('\n');
  }
  return [
    "const model = await tf.loadGraphModel('file://path/to/model.json'); // or an http(s) URL in a browser",
    `const [features${classes ? ', logits' : ''}] = model.execute({ pixels }, ` +
      `['features'${classes ? ", 'logits'" : ''}]); // pixels: ${shape} float32, normalised`,
  ].join('\n');
}
