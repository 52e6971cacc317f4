/**
 * The exported encoder as a dataflow graph, written once against a small format-neutral
 * builder and emitted as ONNX (onnx.ts) or a TF.js graph model (tfjs.ts). It computes what
 * `forwardEncoder` computes with every patch visible, step for step:
 *
 *   pixels [N, C, H, W] → patchify → patch embed → + pos → [cls; x] → blocks → norm
 *     (SatMAE's grouped bands: one patch embedding per band group, G·L tokens, + position and group;
 *     CA-MAE: each channel self-standardised and embedded on its own, C·L tokens)
 *     → tokens [N, 1 + L, D] → features [N, D] (cls token or mean of patch tokens)
 *     → logits [N, K] (fine-tuned classifiers only)
 *
 * Only the batch dimension is dynamic. Every op is one that onnxruntime and TF.js both run.
 */
import type { MaeConfig } from '../mae/config';
import { gridSize, tokenCount } from '../mae/config';
import { channelTokensGraph } from './camae';
import type { Pooling } from '../train/probe-model';

/** A tensor in a graph under construction, by name. */
export type Value = string;

/** The primitive ops both emitters implement. Shapes use −1 for "the rest" (the batch). */
export interface GraphBuilder {
  input(name: string, shape: (number | null)[]): Value;
  /** A float32 constant (weights); shape [] for a scalar. */
  constant(name: string, shape: number[], data: Float32Array): Value;
  matMul(a: Value, b: Value): Value;
  add(a: Value, b: Value): Value;
  sub(a: Value, b: Value): Value;
  mul(a: Value, b: Value): Value;
  reshape(x: Value, shape: number[]): Value;
  transpose(x: Value, perm: number[]): Value;
  /** Softmax over the last axis. */
  softmax(x: Value): Value;
  erf(x: Value): Value;
  /** 1 / sqrt(x). */
  rsqrt(x: Value): Value;
  reduceMean(x: Value, axes: number[], keepDims: boolean): Value;
  concat(values: Value[], axis: number): Value;
  /** x[begin : begin + size] along every axis (size −1: to the end); static bounds. */
  slice(x: Value, begin: number[], size: number[]): Value;
  /** `token` [1, 1, D] repeated to [N, 1, D], N being the batch of `like`. */
  repeatForBatch(token: Value, like: Value): Value;
  output(name: string, x: Value): void;
}

/** A weight in the studio's layout (linear weights [in, out]). */
export interface GraphWeight {
  shape: number[];
  data: Float32Array;
}

/** What the graph is built from. */
export interface EncoderGraphSpec {
  config: MaeConfig;
  /** Encoder parameters by reference name (app/mae/params.ts layouts). */
  params: Map<string, GraphWeight>;
  /** Fixed position table [1 + L, D] (row 0: the cls row). */
  posEmbed: Float32Array;
  pooling: Pooling;
  /** Adds `logits` when given: head [D, K] and bias [K]. */
  head?: { weight: GraphWeight; bias: GraphWeight };
  /**
   * A 3-D MAE's encoder (app/mae/volume3d): the input is `volumes` [N, C, D, H, W], cut into
   * cuboid patches as `patchify3d` cuts them, and `config` is the model's token view (1×1
   * patches of C·pd·ph·pw channels, `tokenView`), from which on the graph is the same.
   */
  volume?: { size: readonly [number, number, number]; patch: readonly [number, number, number]; channels: number };
}

const LAYER_NORM_EPS = 1e-6; // as torch LayerNorm(eps=1e-6) in timm's ViT and app/mae/ops

/** Emits the encoder (and classifier head) into `g`: input `pixels`, outputs `tokens`, `features`[, `logits`]. */
export function buildEncoderGraph(g: GraphBuilder, spec: EncoderGraphSpec): void {
  const { config } = spec;
  const { inChans: channels, patchSize: p, embedDim: width, depth, numHeads } = config;
  const numPatches = spec.volume ? volumeTokenCount(spec.volume) : gridSize(config).numPatches;
  // 1 + L, 1 + G·L with grouped bands (SatMAE) or 1 + C·L (CA-MAE)
  const tokens = spec.volume ? 1 + numPatches : 1 + tokenCount(config);
  const weight = (name: string): Value => {
    const value = spec.params.get(name);
    if (!value) throw new Error(`export: encoder parameter ${name} is missing`);
    return g.constant(name, value.shape, value.data);
  };
  const scalar = (name: string, value: number): Value => g.constant(name, [], Float32Array.of(value));
  const half = scalar('const.half', 0.5);
  const one = scalar('const.one', 1);
  const invSqrt2 = scalar('const.inv_sqrt2', Math.SQRT1_2);
  const eps = scalar('const.eps', LAYER_NORM_EPS);

  const linear = (x: Value, prefix: string, rows: number, inDim: number, outDim: number): Value => {
    const flat = g.reshape(x, [-1, inDim]); // [N*rows, in]
    const y = g.add(g.matMul(flat, weight(`${prefix}.weight`)), weight(`${prefix}.bias`)); // [N*rows, out]
    return g.reshape(y, [-1, rows, outDim]); // [N, rows, out]
  };
  const layerNorm = (x: Value, prefix: string): Value => {
    const centred = g.sub(x, g.reduceMean(x, [-1], true));
    const variance = g.reduceMean(g.mul(centred, centred), [-1], true); // biased, as torch
    return g.add(
      g.mul(g.mul(centred, g.rsqrt(g.add(variance, eps))), weight(`${prefix}.weight`)),
      weight(`${prefix}.bias`),
    );
  };
  const gelu = (x: Value): Value => g.mul(g.mul(x, half), g.add(one, g.erf(g.mul(x, invSqrt2)))); // exact erf form
  const headDim = width / numHeads;
  const splitHeads = (x: Value, perm: number[]): Value =>
    g.transpose(g.reshape(x, [-1, tokens, numHeads, headDim]), perm);
  const attention = (x: Value, prefix: string): Value => {
    // qkv's columns are (3, heads, headDim) as timm: q, k and v are its three column blocks.
    const qkv = spec.params.get(`${prefix}.qkv.weight`)!;
    const qkvBias = spec.params.get(`${prefix}.qkv.bias`)!;
    const part = (index: number, letter: string): Value => {
      const columns = new Float32Array(width * width);
      for (let r = 0; r < width; r++)
        columns.set(qkv.data.subarray(r * 3 * width + index * width, r * 3 * width + (index + 1) * width), r * width);
      const w = g.constant(`${prefix}.${letter}.weight`, [width, width], columns);
      const b = g.constant(`${prefix}.${letter}.bias`, [width], qkvBias.data.slice(index * width, (index + 1) * width));
      return g.add(g.matMul(g.reshape(x, [-1, width]), w), b); // [N*T, D]
    };
    // [N, h, T, hd]
    const q = splitHeads(g.mul(part(0, 'q'), scalar(`${prefix}.scale`, 1 / Math.sqrt(headDim))), [0, 2, 1, 3]);
    const kTransposed = splitHeads(part(1, 'k'), [0, 2, 3, 1]); // [N, h, hd, T]
    const v = splitHeads(part(2, 'v'), [0, 2, 1, 3]); // [N, h, T, hd]
    const weights = g.softmax(g.matMul(q, kTransposed)); // [N, h, T, T]
    const merged = g.reshape(g.transpose(g.matMul(weights, v), [0, 2, 1, 3]), [-1, tokens, width]); // [N, T, D]
    return linear(merged, `${prefix}.proj`, tokens, width, width);
  };

  let x: Value;
  if (config.channelAgnostic) {
    // CA-MAE: one token per channel and patch through the shared p·p embedding
    const pixels = g.input('pixels', [null, channels, config.imgSize, config.imgSize]);
    const channelTokens = channelTokensGraph(g, pixels, spec); // [N, C*L, p*p], self-standardised
    x = linear(channelTokens, 'patch_embed.proj', tokens - 1, p * p, width); // [N, C*L, D]
  } else {
    const patches = spec.volume ? volumePatches(g, spec.volume) : imagePatches(g, config, numPatches); // [N, L, P]
    x = config.groupedBands
      ? groupedPatchEmbed(g, config.groupedBands.groups, patches, p * p, (columns, group, index) =>
          linear(columns, `patch_embed.${index}.proj`, numPatches, group.length * p * p, width),
        ) // [N, G*L, D]
      : linear(patches, 'patch_embed.proj', numPatches, channels * p * p, width); // [N, L, D]
  }
  x = g.add(x, g.constant('pos_embed.patches', [tokens - 1, width], spec.posEmbed.slice(width))); // [N, T, D]
  const clsRow = spec.params.get('cls_token')!.data.map((value, d) => value + spec.posEmbed[d]!); // cls + pos[0] (zero)
  const cls = g.repeatForBatch(g.constant('cls_token.with_pos', [1, 1, width], clsRow), x); // [N, 1, D]
  x = g.concat([cls, x], 1); // [N, 1+L, D]
  for (let i = 0; i < depth; i++) {
    const prefix = `blocks.${i}`;
    x = g.add(x, attention(layerNorm(x, `${prefix}.norm1`), `${prefix}.attn`));
    const hidden = gelu(
      linear(layerNorm(x, `${prefix}.norm2`), `${prefix}.mlp.fc1`, tokens, width, config.mlpRatio * width),
    );
    x = g.add(x, linear(hidden, `${prefix}.mlp.fc2`, tokens, config.mlpRatio * width, width));
  }
  const normed = layerNorm(x, 'norm'); // [N, 1+L, D]
  g.output('tokens', normed);
  const features =
    spec.pooling === 'cls'
      ? g.reshape(g.slice(normed, [0, 0, 0], [-1, 1, -1]), [-1, width]) // [N, D]
      : g.reduceMean(g.slice(normed, [0, 1, 0], [-1, -1, -1]), [1], false); // [N, D]
  g.output('features', features);
  if (spec.head) {
    const headWeight = g.constant('head.weight', spec.head.weight.shape, spec.head.weight.data);
    g.output(
      'logits',
      g.add(g.matMul(features, headWeight), g.constant('head.bias', spec.head.bias.shape, spec.head.bias.data)),
    ); // [N, K]
  }
}

/** The input `pixels` [N, C, H, W] → patches [N, L, C·p·p], values (c, i, j). */
function imagePatches(g: GraphBuilder, config: MaeConfig, numPatches: number): Value {
  const { inChans: channels, imgSize, patchSize: p } = config;
  const { side } = gridSize(config);
  const pixels = g.input('pixels', [null, channels, imgSize, imgSize]);
  const grid = g.reshape(pixels, [-1, channels, side, p, side, p]); // [N, C, h, p, w, p]
  return g.reshape(g.transpose(grid, [0, 2, 4, 1, 3, 5]), [-1, numPatches, channels * p * p]); // [N, L, C*p*p]
}

function volumeTokenCount(volume: NonNullable<EncoderGraphSpec['volume']>): number {
  return volume.size.reduce((count, size, axis) => count * (size / volume.patch[axis]!), 1);
}

/**
 * A 3-D MAE's input `volumes` [N, C, D, H, W] → patches [N, L, C·pd·ph·pw], tokens row-major over
 * (slice, row, column) and values (c, k, i, j), as `patchify3d` (every intermediate rank ≤ 6).
 */
function volumePatches(g: GraphBuilder, volume: NonNullable<EncoderGraphSpec['volume']>): Value {
  const [depth, height, width] = volume.size;
  const [pd, ph, pw] = volume.patch;
  const { channels } = volume;
  const [slices, rows, columns] = [depth / pd, height / ph, width / pw];
  const input = g.input('volumes', [null, channels, depth, height, width]);
  const plane = g.transpose(g.reshape(input, [-1, rows, ph, columns, pw]), [0, 1, 3, 2, 4]); // [N*C*D, h, w, ph, pw]
  const split = g.reshape(plane, [-1, channels, slices, pd, rows * columns, ph * pw]);
  const grouped = g.transpose(split, [0, 2, 4, 1, 3, 5]); // [N, d, h*w, C, pd, ph*pw]
  return g.reshape(grouped, [-1, slices * rows * columns, channels * pd * ph * pw]);
}

/**
 * SatMAE's grouped-band tokens: each group's band columns of `patches` [N, L, C·p·p] (layout
 * (c, i, j), `area` = p·p values per band) through its own embedding, groups concatenated along
 * the tokens → [N, G·L, D].
 */
function groupedPatchEmbed(
  g: GraphBuilder,
  groups: readonly (readonly number[])[],
  patches: Value,
  area: number,
  embed: (columns: Value, group: readonly number[], index: number) => Value,
): Value {
  const embedded = groups.map((group, index) => {
    const bands = group.map((band) => g.slice(patches, [0, 0, band * area], [-1, -1, area])); // c_g × [N, L, p*p]
    return embed(bands.length === 1 ? bands[0]! : g.concat(bands, 2), group, index); // [N, L, D]
  });
  return embedded.length === 1 ? embedded[0]! : g.concat(embedded, 1);
}
