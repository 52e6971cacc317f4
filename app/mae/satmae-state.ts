/**
 * A grouped-band (SatMAE) model's weights under the names and layouts of SatMAE's own code
 * (Cong et al. 2022, github.com/sustainlab-group/SatMAE): the whole MAE as
 * `MaskedAutoencoderGroupChannelViT` (models_mae_group_channels.py) and the encoder as
 * `GroupChannelsVisionTransformer` (models_vit_group_channels.py). Torch layouts: linear weights
 * [out, in], each group's patch embedding a Conv2d weight [D, c_g, p, p], each head's rows in
 * (band of the group, i, j) order as the reference's `view(N, L, c_g, p²)`; the fixed tables
 * `pos_embed` [1, 1 + L, D − Dg], `channel_embed` [1, G, Dg] and the decoder's (one more group row,
 * for its cls token) are written too, as the reference keeps them in its state dict.
 */
import type { MaeConfig } from './config';
import { gridSize } from './config';
import { groupEmbedWidth } from './grouped-bands';
import type { MaeModel } from './model';
import { get1dSincosEmbed, get2dSincosPosEmbed } from './posEmbed';
import type { StateTensor } from './timm';

/** [rows, columns] row-major → its transpose. */
function transpose2d(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c]!;
  return out;
}

/** The fixed position and group tables of one side (encoder `''` or decoder `decoder_`) of width `width`. */
function fixedTables(config: MaeConfig, width: number, prefix: '' | 'decoder_'): [string, StateTensor][] {
  const { side, numPatches } = gridSize(config);
  const groupWidth = groupEmbedWidth(width);
  const groups = config.groupedBands!.groups.length + (prefix === 'decoder_' ? 1 : 0); // + the decoder's cls row
  return [
    [
      `${prefix}pos_embed`,
      { shape: [1, 1 + numPatches, width - groupWidth], data: get2dSincosPosEmbed(width - groupWidth, side, true) },
    ],
    [`${prefix}channel_embed`, { shape: [1, groups, groupWidth], data: get1dSincosEmbed(groupWidth, groups) }],
  ];
}

/** One of our parameters in torch layout. */
function torchTensor(name: string, shape: readonly number[], values: Float32Array, config: MaeConfig): StateTensor {
  const patchEmbed = /^patch_embed\.(\d+)\.proj\.weight$/.exec(name);
  if (patchEmbed) {
    // stored [c_g*p*p, D], rows (band of the group, i, j): the transpose is the Conv2d weight [D, c_g, p, p]
    const bands = config.groupedBands!.groups[Number(patchEmbed[1])]!.length;
    const p = config.patchSize;
    return { shape: [config.embedDim, bands, p, p], data: transpose2d(values, bands * p * p, config.embedDim) };
  }
  if (name.endsWith('.weight') && shape.length === 2)
    return { shape: [shape[1]!, shape[0]!], data: transpose2d(values, shape[0]!, shape[1]!) };
  return { shape: [...shape], data: values.slice() };
}

function requireGrouped(config: MaeConfig): void {
  if (!config.groupedBands) throw new Error('SatMAE names are for grouped-band models (mae.groupedBands)');
}

/**
 * The whole MAE (encoder, decoder, mask token, per-group heads and the fixed tables) in
 * `MaskedAutoencoderGroupChannelViT` names, for `load_state_dict(strict=True)`. Feature heads
 * are not part of SatMAE and are left out.
 */
export function satmaeFullStateDict(model: MaeModel): Map<string, StateTensor> {
  const { config } = model;
  requireGrouped(config);
  const state = new Map<string, StateTensor>([
    ...fixedTables(config, config.embedDim, ''),
    ...fixedTables(config, config.decoderEmbedDim, 'decoder_'),
  ]);
  for (const [name, variable] of model.params) {
    if (name.startsWith('decoder_pred_')) continue; // a feature head
    state.set(name, torchTensor(name, variable.shape, variable.dataSync() as Float32Array, config));
  }
  return state;
}

/**
 * The encoder in `GroupChannelsVisionTransformer` names (`global_pool=False`: the final `norm`
 * is kept): patch embeddings, cls token, blocks, norm, the fixed tables and the zero
 * `channel_cls_embed`; no decoder, no mask token. A classifier head is added by the caller.
 */
export function satmaeEncoderStateDict(model: MaeModel): Map<string, StateTensor> {
  const { config } = model;
  requireGrouped(config);
  const state = new Map<string, StateTensor>(fixedTables(config, config.embedDim, ''));
  const groupWidth = groupEmbedWidth(config.embedDim);
  state.set('channel_cls_embed', { shape: [1, 1, groupWidth], data: new Float32Array(groupWidth) });
  for (const [name, variable] of model.params) {
    if (name.startsWith('decoder_') || name === 'mask_token') continue;
    state.set(name, torchTensor(name, variable.shape, variable.dataSync() as Float32Array, config));
  }
  return state;
}

/** Keyword arguments of `MaskedAutoencoderGroupChannelViT(...)` for this model. */
export function satmaeModelArgs(config: MaeConfig): Record<string, number | boolean | number[][]> {
  requireGrouped(config);
  return {
    img_size: config.imgSize,
    patch_size: config.patchSize,
    in_chans: config.inChans,
    spatial_mask: config.groupedBands!.spatialMask,
    channel_groups: config.groupedBands!.groups,
    channel_embed: groupEmbedWidth(config.embedDim),
    embed_dim: config.embedDim,
    depth: config.depth,
    num_heads: config.numHeads,
    decoder_channel_embed: groupEmbedWidth(config.decoderEmbedDim),
    decoder_embed_dim: config.decoderEmbedDim,
    decoder_depth: config.decoderDepth,
    decoder_num_heads: config.decoderNumHeads,
    mlp_ratio: config.mlpRatio,
    norm_pix_loss: config.normPixLoss,
  };
}

/** Keyword arguments of `GroupChannelsVisionTransformer(...)` (with `numClasses` head outputs; 0: none). */
export function satmaeEncoderArgs(
  config: MaeConfig,
  numClasses: number,
): Record<string, number | boolean | number[][]> {
  requireGrouped(config);
  return {
    img_size: config.imgSize,
    patch_size: config.patchSize,
    in_chans: config.inChans,
    channel_groups: config.groupedBands!.groups,
    channel_embed: groupEmbedWidth(config.embedDim),
    embed_dim: config.embedDim,
    depth: config.depth,
    num_heads: config.numHeads,
    mlp_ratio: config.mlpRatio,
    num_classes: numClasses,
    global_pool: false,
  };
}
