/**
 * The weight layouts we exchange with PyTorch, each mapped explicitly to the official
 * `models_mae.py` state dict (torch shapes: linear weights [out, in], patch embedding
 * [D, C, p, p], `decoder_pred` rows ordered (i, j, c) as the reference `patchify`), and that
 * one layout mapped to ours (app/mae/params.ts: linear weights [in, out], patch values ordered
 * (c, i, j)). Every other layout goes through the official one, so there is a single place
 * where our layout meets torch's.
 */
import type { MaeConfig } from '../config';
import type { NamedTensor } from './safetensors';

/**
 * Which layout a state dict is in: `official` (models_mae.py with the decoder: the `*_full`
 * and visualize checkpoints), `timm` (ViT encoder names, shared by timm models and the
 * released encoder-only `mae_pretrain_*` files), `hf-vitmae` (Hugging Face ViTMAE).
 */
export type WeightLayout = 'official' | 'hf-vitmae' | 'timm';

/** Guesses the layout from the names; throws listing a few names when none fits. */
export function detectLayout(names: readonly string[], path: string): WeightLayout {
  const has = (pattern: RegExp): boolean => names.some((name) => pattern.test(name));
  if (has(/^(vit\.)?embeddings\.patch_embeddings\.projection\.weight$/)) return 'hf-vitmae';
  if (has(/^blocks\.0\.attn\.qkv\.weight$/) && has(/^patch_embed\.proj\.weight$/)) {
    return has(/^decoder_/) || names.includes('mask_token') ? 'official' : 'timm';
  }
  throw new Error(
    `${path}: the tensor names fit no known layout ` +
      `(official MAE, HF ViTMAE, timm ViT); first names: ${names.slice(0, 6).join(', ')}`,
  );
}

/** Hugging Face ViTMAE sub-layer names → the official block's. */
const HF_BLOCK_NAMES: [string, string][] = [
  ['layernorm_before', 'norm1'],
  ['attention.output.dense', 'attn.proj'],
  ['layernorm_after', 'norm2'],
  ['intermediate.dense', 'mlp.fc1'],
  ['output.dense', 'mlp.fc2'],
];

/**
 * HF `ViTMAEForPreTraining` / `ViTMAEModel` → official names. q, k and v are concatenated
 * (rows q; k; v) into `attn.qkv`. Returns the renamed tensors and the HF names left unused.
 */
export function hfToOfficial(tensors: Map<string, NamedTensor>): { state: Map<string, NamedTensor>; unused: string[] } {
  const state = new Map<string, NamedTensor>();
  const used = new Set<string>();
  const take = (name: string): NamedTensor | undefined => {
    const value = tensors.get(name) ?? tensors.get(`vit.${name}`);
    if (value) used.add(tensors.has(name) ? name : `vit.${name}`);
    return value;
  };
  const put = (target: string, source: string): void => {
    const value = take(source) ?? tensors.get(source);
    if (value) {
      used.add(source);
      state.set(target, value);
    }
  };
  put('cls_token', 'embeddings.cls_token');
  put('pos_embed', 'embeddings.position_embeddings');
  put('patch_embed.proj.weight', 'embeddings.patch_embeddings.projection.weight');
  put('patch_embed.proj.bias', 'embeddings.patch_embeddings.projection.bias');
  put('norm.weight', 'layernorm.weight');
  put('norm.bias', 'layernorm.bias');
  const mapBlocks = (sourcePrefix: string, targetPrefix: string): void => {
    for (let i = 0; ; i++) {
      const source = `${sourcePrefix}.${i}`;
      const q = take(`${source}.attention.attention.query.weight`);
      if (!q) break;
      const parts = ['query', 'key', 'value'].map(
        (p) =>
          [
            take(`${source}.attention.attention.${p}.weight`)!,
            take(`${source}.attention.attention.${p}.bias`),
          ] as const,
      );
      if (parts.some(([w, b]) => !w || !b))
        throw new Error(`${source}: query/key/value weights or biases are incomplete`);
      state.set(`${targetPrefix}.${i}.attn.qkv.weight`, concatRows(parts.map(([w]) => w)));
      state.set(`${targetPrefix}.${i}.attn.qkv.bias`, concatRows(parts.map(([, b]) => b!)));
      for (const [hf, official] of HF_BLOCK_NAMES) {
        for (const kind of ['weight', 'bias'])
          put(`${targetPrefix}.${i}.${official}.${kind}`, `${source}.${hf}.${kind}`);
      }
    }
  };
  mapBlocks('encoder.layer', 'blocks');
  mapBlocks('decoder.decoder_layers', 'decoder_blocks');
  put('mask_token', 'decoder.mask_token');
  put('decoder_pos_embed', 'decoder.decoder_pos_embed');
  for (const name of ['decoder_embed', 'decoder_norm', 'decoder_pred']) {
    for (const kind of ['weight', 'bias']) put(`${name}.${kind}`, `decoder.${name}.${kind}`);
  }
  return { state, unused: [...tensors.keys()].filter((name) => !used.has(name)) };
}

function concatRows(parts: NamedTensor[]): NamedTensor {
  const rows = parts.reduce((sum, part) => sum + part.shape[0]!, 0);
  const data = new Float32Array(parts.reduce((sum, part) => sum + part.data.length, 0));
  let at = 0;
  for (const part of parts) {
    data.set(part.data, at);
    at += part.data.length;
  }
  return { shape: [rows, ...parts[0]!.shape.slice(1)], data };
}

/** [rows, columns] row-major → its transpose. */
export function transpose2d(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c]!;
  return out;
}

/**
 * Index map between the two orders of one patch's values: `ours[k] = official[map[k]]`, where
 * ours is (c, i, j) and the reference `patchify` is (i, j, c).
 */
export function patchOrderToOfficial(patchSize: number, channels: number): Int32Array {
  const map = new Int32Array(patchSize * patchSize * channels);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < patchSize; i++) {
      for (let j = 0; j < patchSize; j++) map[(c * patchSize + i) * patchSize + j] = (i * patchSize + j) * channels + c;
    }
  }
  return map;
}

/** Reorders the rows of a [rows, width] matrix: row k of the result is row `order[k]` of `values`. */
export function gatherRowsOf(values: Float32Array, width: number, order: Int32Array): Float32Array {
  const out = new Float32Array(order.length * width);
  order.forEach((source, k) => out.set(values.subarray(source * width, (source + 1) * width), k * width));
  return out;
}

/** Torch shape the official layout has for each of our parameters. */
export function officialShape(name: string, ourShape: readonly number[], config: MaeConfig): number[] {
  if (name === 'patch_embed.proj.weight') return [config.embedDim, config.inChans, config.patchSize, config.patchSize];
  if (name.endsWith('.weight') && ourShape.length === 2) return [ourShape[1]!, ourShape[0]!];
  return [...ourShape];
}

/** One official tensor → our layout (shapes already checked against `officialShape`). */
export function officialToOurs(name: string, tensor: NamedTensor, config: MaeConfig): Float32Array {
  const { patchSize: p, inChans } = config;
  // [D, C*p*p] → [C*p*p, D]
  if (name === 'patch_embed.proj.weight') return transpose2d(tensor.data, config.embedDim, inChans * p * p);
  if (name === 'decoder_pred.weight') {
    const width = tensor.shape[1]!;
    // rows (i,j,c) → (c,i,j), then [Dd, p*p*C]
    return transpose2d(gatherRowsOf(tensor.data, width, patchOrderToOfficial(p, inChans)), p * p * inChans, width);
  }
  if (name === 'decoder_pred.bias') return gatherRowsOf(tensor.data, 1, patchOrderToOfficial(p, inChans));
  if (name.endsWith('.weight') && tensor.shape.length === 2)
    return transpose2d(tensor.data, tensor.shape[0]!, tensor.shape[1]!);
  return tensor.data;
}

/** One of our tensors → the official layout (the inverse of `officialToOurs`). */
export function oursToOfficial(
  name: string,
  shape: readonly number[],
  data: Float32Array,
  config: MaeConfig,
): NamedTensor {
  const { patchSize: p, inChans } = config;
  const torchShape = officialShape(name, shape, config);
  if (name === 'patch_embed.proj.weight')
    return { shape: torchShape, data: transpose2d(data, inChans * p * p, config.embedDim) };
  if (name === 'decoder_pred.weight' || name === 'decoder_pred.bias') {
    const width = name.endsWith('weight') ? shape[0]! : 1;
    const rows = name.endsWith('weight') ? transpose2d(data, width, p * p * inChans) : data; // [p*p*C (c,i,j), Dd]
    const toOurs = patchOrderToOfficial(p, inChans);
    const inverse = new Int32Array(toOurs.length);
    toOurs.forEach((official, ours) => {
      inverse[official] = ours;
    });
    return { shape: torchShape, data: gatherRowsOf(rows, width, inverse) };
  }
  if (name.endsWith('.weight') && shape.length === 2)
    return { shape: torchShape, data: transpose2d(data, shape[0]!, shape[1]!) };
  return { shape: torchShape, data: data.slice() };
}
