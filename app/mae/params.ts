/**
 * Parameters of the MAE under the reference names (`models_mae.py`, timm `VisionTransformer`),
 * their seeded initialisation and their weight-decay group.
 *
 * Layout: every linear weight `*.weight` is stored [in, out] (the transpose of torch's
 * [out, in]) because the forward pass computes x·W. The patch embedding
 * `patch_embed.proj.weight` is [C·p·p, D] with the input index ordered (c, i, j) — channel,
 * row in patch, column in patch — so its transpose reshaped to [D, C, p, p] is exactly the
 * timm/PyTorch Conv2d weight.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MaeConfig } from './config';
import { RNG_STREAMS, Rng } from './rng';

/** How a parameter starts (as the reference `initialize_weights`). */
export type ParamInit = 'xavier' | 'zeros' | 'ones' | 'normal02';

/** Name, shape and initialiser of one trainable parameter. */
export interface ParamSpec {
  name: string;
  shape: number[];
  init: ParamInit;
}

function linearSpecs(prefix: string, inDim: number, outDim: number): ParamSpec[] {
  return [
    { name: `${prefix}.weight`, shape: [inDim, outDim], init: 'xavier' },
    { name: `${prefix}.bias`, shape: [outDim], init: 'zeros' },
  ];
}

function normSpecs(prefix: string, width: number): ParamSpec[] {
  return [
    { name: `${prefix}.weight`, shape: [width], init: 'ones' },
    { name: `${prefix}.bias`, shape: [width], init: 'zeros' },
  ];
}

function blockSpecs(prefix: string, width: number, mlpRatio: number): ParamSpec[] {
  return [
    ...normSpecs(`${prefix}.norm1`, width),
    ...linearSpecs(`${prefix}.attn.qkv`, width, 3 * width),
    ...linearSpecs(`${prefix}.attn.proj`, width, width),
    ...normSpecs(`${prefix}.norm2`, width),
    ...linearSpecs(`${prefix}.mlp.fc1`, width, mlpRatio * width),
    ...linearSpecs(`${prefix}.mlp.fc2`, mlpRatio * width, width),
  ];
}

/** All trainable parameters in a fixed order (the order seeded initialisation draws in). */
export function paramSpecs(config: MaeConfig): ParamSpec[] {
  const { patchSize: p, embedDim, decoderEmbedDim, mlpRatio } = config;
  const inChans = config.channelAgnostic ? 1 : config.inChans; // CA-MAE: one p·p embedding shared by every channel
  return [
    ...(config.groupedBands
      ? config.groupedBands.groups.flatMap((group, g) =>
          linearSpecs(`patch_embed.${g}.proj`, group.length * p * p, embedDim),
        ) // SatMAE: one per band group
      : linearSpecs('patch_embed.proj', inChans * p * p, embedDim)),
    { name: 'cls_token', shape: [1, 1, embedDim], init: 'normal02' },
    ...Array.from({ length: config.depth }, (_, i) => blockSpecs(`blocks.${i}`, embedDim, mlpRatio)).flat(),
    ...normSpecs('norm', embedDim),
    ...linearSpecs('decoder_embed', embedDim, decoderEmbedDim),
    { name: 'mask_token', shape: [1, 1, decoderEmbedDim], init: 'normal02' },
    ...Array.from({ length: config.decoderDepth }, (_, i) =>
      blockSpecs(`decoder_blocks.${i}`, decoderEmbedDim, mlpRatio),
    ).flat(),
    ...normSpecs('decoder_norm', decoderEmbedDim),
    ...(config.groupedBands
      ? config.groupedBands.groups.flatMap((group, g) =>
          linearSpecs(`decoder_pred.${g}`, decoderEmbedDim, group.length * p * p),
        ) // SatMAE: one head per band group
      : config.pixelHead === false
        ? []
        : linearSpecs('decoder_pred', decoderEmbedDim, p * p * inChans)),
    ...(config.featureHeads ?? []).flatMap((head) =>
      linearSpecs(featureHeadName(head.name), decoderEmbedDim, head.width),
    ),
    ...(config.channelAgnostic
      ? [{ name: 'decoder_channel_embed', shape: [config.inChans, decoderEmbedDim], init: 'normal02' as const }]
      : []),
    // HPM's loss predictor, last so every other parameter starts as in the plain MAE of the same seed
    ...(config.lossPredictorWeight === undefined ? [] : lossPredictorSpecs(config)),
  ];
}

/**
 * HPM's loss predictor under the reference's names: a second stack of decoder blocks, its norm,
 * and a head to C·p·p values whose mean is the patch's predicted loss.
 */
function lossPredictorSpecs(config: MaeConfig): ParamSpec[] {
  const { decoderEmbedDim, mlpRatio, patchSize, inChans } = config;
  return [
    ...Array.from({ length: config.decoderDepth }, (_, i) =>
      blockSpecs(`decoder_blocks_losspred.${i}`, decoderEmbedDim, mlpRatio),
    ).flat(),
    ...normSpecs('decoder_norm_losspred', decoderEmbedDim),
    ...linearSpecs('decoder_pred_losspred', decoderEmbedDim, patchSize * patchSize * inChans),
  ];
}

/** The parameter prefix of a feature head: `decoder_pred_hog` (a decoder part: never exported). */
export function featureHeadName(name: string): string {
  return `decoder_pred_${name}`;
}

/** Initial values of one parameter, drawn from `rng`. */
export function initialValues(spec: ParamSpec, rng: Rng): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  switch (spec.init) {
    case 'zeros':
      break;
    case 'ones':
      values.fill(1);
      break;
    case 'normal02':
      for (let i = 0; i < size; i++) values[i] = 0.02 * rng.normal();
      break; // torch.nn.init.normal_(std=.02)
    case 'xavier': {
      // symmetric in fan-in/out: [in,out] vs torch [out,in] is moot
      const [fanIn, fanOut] = spec.shape as [number, number];
      const bound = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) values[i] = rng.uniformIn(-bound, bound);
      break;
    }
  }
  return values;
}

/** Fresh trainable variables, deterministic for a given `seed`. */
export function initParams(config: MaeConfig, seed: number): Map<string, tf.Variable> {
  const rng = Rng.fromSeed(seed, RNG_STREAMS.init);
  const params = new Map<string, tf.Variable>();
  for (const spec of paramSpecs(config)) {
    // No variable name: TF.js names are global, and tests or a resume may hold two models at once.
    // The variable shares the initial tensor's data; the tensor itself is ours to dispose, or the
    // data would outlive the model.
    const initial = tf.tensor(initialValues(spec, rng), spec.shape);
    params.set(spec.name, tf.variable(initial, true));
    initial.dispose();
  }
  return params;
}

/**
 * Whether AdamW decays this parameter. Biases, LayerNorm weights, the cls and mask tokens
 * and position embeddings are excluded (timm's `no_weight_decay` convention).
 */
export function usesWeightDecay(name: string): boolean {
  if (name.endsWith('.bias')) return false;
  if (/(^|\.)(decoder_)?norm(\d*|_losspred)\.weight$/.test(name)) return false;
  return !['cls_token', 'mask_token', 'pos_embed', 'decoder_pos_embed', 'decoder_channel_embed'].includes(name);
}

/** Total number of trainable scalars. */
export function countParams(config: MaeConfig): number {
  return paramSpecs(config).reduce((total, spec) => total + spec.shape.reduce((a, b) => a * b, 1), 0);
}
