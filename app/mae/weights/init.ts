/**
 * Starting a run from published weights: the official MAE checkpoints (`.pth`, encoder-only
 * `mae_pretrain_*` or `*_full` with the decoder), Hugging Face `ViTMAEForPreTraining`
 * safetensors and timm ViT safetensors. Every tensor is mapped by name, its shape checked,
 * and the outcome reported name by name: nothing is skipped silently.
 *
 * Adaptation rules (documented in docs/ARCHITECTURE.md):
 *  - positions: MAE's position embeddings are fixed 2-D sin-cos tables, so at any image size
 *    they are regenerated exactly rather than interpolated; a file's `pos_embed` is not loaded.
 *  - channels: a patch embedding for C' input channels becomes one for C: for C = 1 the kernels
 *    are summed over C' (a grey image copied into C' channels then embeds exactly as before);
 *    otherwise channel c takes the kernel of channel c mod C', scaled by C'/C so the expected
 *    activation keeps its size (timm's `adapt_input_conv` convention). `decoder_pred` predicts
 *    per channel and starts fresh when C differs.
 *  - a different patch size, width or depth of the encoder is refused: the weights would not
 *    mean anything; the decoder loads when its shapes match and starts fresh otherwise.
 */
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { MaeConfig } from '../config';
import type { MaeModel } from '../model';
import { paramSpecs } from '../params';
import { decodeSafetensors, type NamedTensor } from './safetensors';
import { detectLayout, hfToOfficial, officialShape, officialToOurs, type WeightLayout } from './layouts';
import { openTorchCheckpoint, torchStateDict } from './pth';

/** What loading a file did, parameter by parameter. */
export interface InitReport {
  path: string;
  layout: WeightLayout;
  /** Our parameter names that took the file's values (possibly adapted). */
  loaded: string[];
  /** Our parameters that kept their fresh initialisation, and why. */
  fresh: { name: string; reason: string }[];
  /** The file's tensors we did not use, and why. */
  unused: { name: string; reason: string }[];
  /** Adaptations applied (channel count). */
  adapted: string[];
}

/** A state dict in the official layout with what came of reading it. */
export interface OfficialWeights {
  layout: WeightLayout;
  state: Map<string, NamedTensor>;
  unused: { name: string; reason: string }[];
}

/** Reads a weights file of any supported kind into official names and torch layouts. */
export function readOfficialWeights(path: string): OfficialWeights {
  if (!fs.existsSync(path)) throw new Error(`init weights ${path} do not exist`);
  const head = Buffer.alloc(10);
  const fd = fs.openSync(path, 'r');
  try {
    fs.readSync(fd, head, 0, 10, 0);
  } finally {
    fs.closeSync(fd);
  }
  let tensors: Map<string, NamedTensor>;
  const unused: { name: string; reason: string }[] = [];
  if (head[0] === 0x50 && head[1] === 0x4b) {
    const checkpoint = openTorchCheckpoint(path);
    try {
      const read = torchStateDict(checkpoint, path);
      tensors = read.tensors;
      unused.push(...read.skipped.map((name) => ({ name, reason: 'not a float tensor' })));
    } finally {
      checkpoint.close();
    }
  } else if (head[8] === 0x7b) {
    tensors = decodeSafetensors(new Uint8Array(fs.readFileSync(path))).tensors;
  } else {
    throw new Error(`${path} is neither a PyTorch checkpoint (.pth zip) nor a safetensors file`);
  }
  const layout = detectLayout([...tensors.keys()], path);
  if (layout !== 'hf-vitmae') return { layout, state: tensors, unused };
  const mapped = hfToOfficial(tensors);
  return {
    layout,
    state: mapped.state,
    unused: [...unused, ...mapped.unused.map((name) => ({ name, reason: 'no counterpart in the MAE' }))],
  };
}

/** Channel adaptation of a [D, C', p, p] patch embedding to C channels. */
function adaptPatchEmbed(tensor: NamedTensor, channels: number): Float32Array {
  const [width, sourceChannels, p] = tensor.shape as [number, number, number, number];
  const plane = p * p;
  const out = new Float32Array(width * channels * plane);
  for (let d = 0; d < width; d++) {
    for (let c = 0; c < channels; c++) {
      const target = out.subarray((d * channels + c) * plane, (d * channels + c + 1) * plane);
      if (channels === 1) {
        for (let s = 0; s < sourceChannels; s++) {
          const source = tensor.data.subarray((d * sourceChannels + s) * plane, (d * sourceChannels + s + 1) * plane);
          for (let k = 0; k < plane; k++) target[k]! += source[k]!;
        }
      } else {
        const s = c % sourceChannels;
        const source = tensor.data.subarray((d * sourceChannels + s) * plane, (d * sourceChannels + s + 1) * plane);
        for (let k = 0; k < plane; k++) target[k] = (source[k]! * sourceChannels) / channels;
      }
    }
  }
  return out;
}

/** Checks that the encoder of `state` fits `config`; throws with what the file has. */
function checkEncoder(state: Map<string, NamedTensor>, config: MaeConfig, path: string): void {
  const patch = state.get('patch_embed.proj.weight');
  if (patch?.shape.length !== 4) throw new Error(`${path} has no patch_embed.proj.weight [D, C, p, p]`);
  const [width, , p] = patch.shape as [number, number, number, number];
  const depth = [...state.keys()].filter((name) => /^blocks\.\d+\.attn\.qkv\.weight$/.test(name)).length;
  const mismatches: string[] = [];
  if (p !== config.patchSize) mismatches.push(`patch ${p} (run: ${config.patchSize})`);
  if (width !== config.embedDim) mismatches.push(`width ${width} (run: ${config.embedDim})`);
  if (depth !== config.depth) mismatches.push(`${depth} blocks (run: ${config.depth})`);
  if (mismatches.length) {
    const preset = width === 192 ? 'vit-tiny' : width === 384 ? 'vit-small' : width === 768 ? 'vit-base' : null;
    throw new Error(
      `${path} holds a ViT encoder with ${mismatches.join(', ')}; choose the matching architecture` +
        (preset ? ` (--preset ${preset} --patch ${p}${depth !== 12 ? ` --depth ${depth}` : ''})` : ''),
    );
  }
}

/** What a weights file would give a model of `config`: the report and the values to assign. */
function planLoad(config: MaeConfig, path: string): { report: InitReport; values: Map<string, Float32Array> } {
  const { layout, state, unused } = readOfficialWeights(path);
  checkEncoder(state, config, path);
  const report: InitReport = { path, layout, loaded: [], fresh: [], unused: [...unused], adapted: [] };
  const values = new Map<string, Float32Array>();
  for (const spec of paramSpecs(config)) {
    const { name } = spec;
    const tensor = state.get(name);
    if (!tensor) {
      report.fresh.push({ name, reason: 'not in the file' });
      continue;
    }
    if (name === 'patch_embed.proj.weight' && tensor.shape[1] !== config.inChans) {
      const adapted = {
        shape: [config.embedDim, config.inChans, config.patchSize, config.patchSize],
        data: adaptPatchEmbed(tensor, config.inChans),
      };
      values.set(name, officialToOurs(name, adapted, config));
      report.adapted.push(
        `patch_embed.proj.weight: ${tensor.shape[1]} → ${config.inChans} ` +
          `channels (${config.inChans === 1 ? 'summed' : 'repeated and rescaled'})`,
      );
    } else {
      const expected = officialShape(name, spec.shape, config);
      if (JSON.stringify(expected) !== JSON.stringify(tensor.shape)) {
        report.fresh.push({
          name,
          reason: `shape ${JSON.stringify(tensor.shape)} in the file, the run needs ${JSON.stringify(expected)}`,
        });
        continue;
      }
      values.set(name, officialToOurs(name, tensor, config));
    }
    report.loaded.push(name);
  }
  for (const name of state.keys()) {
    if (values.has(name) || report.fresh.some((f) => f.name === name)) continue;
    const reason =
      name === 'pos_embed' || name === 'decoder_pos_embed'
        ? `fixed sin-cos positions are regenerated for ${config.imgSize} px`
        : 'no parameter of this name in the MAE';
    report.unused.push({ name, reason });
  }
  return { report, values };
}

/** Reads `path` and reports what loading it into a model of `config` would do (no tensors made). */
export function checkInitWeights(config: MaeConfig, path: string): InitReport {
  return planLoad(config, path).report;
}

/**
 * Loads `path` into `model` (in place) and reports what happened. The encoder must match the
 * model's patch size, width and depth; see the file comment for the adaptation rules.
 */
export function loadInitWeights(model: MaeModel, path: string): InitReport {
  const { report, values } = planLoad(model.config, path);
  for (const [name, data] of values) {
    const variable = model.params.get(name)!;
    tf.tidy(() => variable.assign(tf.tensor(data, variable.shape)));
  }
  return report;
}

/** One line per kind of outcome, for logs and the CLI. */
export function describeInit(report: InitReport): string[] {
  const list = (items: { name: string; reason: string }[]): string =>
    items.map((i) => `${i.name} (${i.reason})`).join('; ');
  return [
    `init from ${report.path} (${report.layout} layout): ${report.loaded.length} tensors loaded`,
    ...report.adapted.map((a) => `  adapted: ${a}`),
    report.fresh.length ? `  kept fresh: ${list(report.fresh)}` : '',
    report.unused.length ? `  not used: ${list(report.unused)}` : '',
  ].filter(Boolean);
}
