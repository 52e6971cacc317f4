/**
 * A SatMAE temporal model's weights under the names and layouts of SatMAE's own code (Cong et al.
 * 2022, github.com/sustainlab-group/SatMAE): the whole MAE as `MaskedAutoencoderViT`
 * (models_mae_temporal.py) and the encoder as `VisionTransformer` (models_vit_temporal.py, timm's
 * ViT with a narrower `pos_embed`). Torch layouts: linear weights [out, in], the shared patch
 * embedding a Conv2d weight [D, C, p, p], the head's rows (i, j, c) as the reference's `patchify`;
 * the fixed spatial tables `pos_embed` [1, 1 + L, D − 3w] and `decoder_pos_embed`
 * [1, 1 + L, Dd − 3wd] (w: the width of each of the year, month and hour encodings) are written
 * too, as the reference keeps them in its state dict. The timestamps are no weights: each date's
 * [years since `base_year`, month − 1, hour] is an input beside the frames.
 *
 * The reference hard-codes what is a setting here: 3 dates, w = 128 (D − 384) and wd = 64
 * (Dd − 192). Its classes take these weights unchanged when the run has 3 dates and D = 1024,
 * Dd = 512 (ViT-Large, as SatMAE trained); other runs load into them with those constants set to
 * the config's `frames`, `time_embed_dim` and `decoder_time_embed_dim`.
 */
import { gridSize, type MaeConfig } from './config';
import type { MaeModel } from './model';
import { get2dSincosPosEmbed } from './posEmbed';
import { TIMESTAMP_PARTS, timePartWidth } from './temporal';
import { encoderStateDict, type StateTensor } from './timm';
import { oursToOfficial } from './weights/layouts';

/** The reference's fixed frame count and timestamp widths (encoder, decoder). */
export const SATMAE_TEMPORAL_REFERENCE = { frames: 3, time_embed_dim: 128, decoder_time_embed_dim: 64 } as const;

function requireTemporal(config: MaeConfig): number {
  if (!config.temporal) throw new Error('SatMAE temporal names are for temporal models (mae.temporal)');
  return config.temporal.frames;
}

/** The spatial sin-cos table [1, 1 + L, width − 3w] of one side (cls row zero). */
function spatialTable(config: MaeConfig, width: number): StateTensor {
  const { side, numPatches } = gridSize(config);
  const positionWidth = width - TIMESTAMP_PARTS * timePartWidth(width);
  return { shape: [1, 1 + numPatches, positionWidth], data: get2dSincosPosEmbed(positionWidth, side, true) };
}

/**
 * The encoder in models_vit_temporal.py's `VisionTransformer` names (timm's: `cls_token`,
 * `pos_embed`, `patch_embed.proj`, `blocks.N`, `norm`; `global_pool=False`); no decoder, no mask
 * token. A classifier head is the caller's to add.
 */
export function temporalEncoderStateDict(model: MaeModel): Map<string, StateTensor> {
  requireTemporal(model.config);
  const state = encoderStateDict(model); // the model's own posEmbed is the spatial table already
  state.set('pos_embed', spatialTable(model.config, model.config.embedDim));
  return state;
}

/** The whole MAE (encoder, decoder, mask token, head, fixed tables) in `MaskedAutoencoderViT` names. */
export function temporalFullStateDict(model: MaeModel): Map<string, StateTensor> {
  const { config } = model;
  requireTemporal(config);
  const state = new Map<string, StateTensor>([
    ['pos_embed', spatialTable(config, config.embedDim)],
    ['decoder_pos_embed', spatialTable(config, config.decoderEmbedDim)],
  ]);
  for (const [name, variable] of model.params)
    state.set(name, oursToOfficial(name, variable.shape, variable.dataSync() as Float32Array, config));
  return state;
}

/** Whether SatMAE's own classes take this model's weights with their hard-coded constants. */
export function loadsIntoReferenceUnchanged(config: MaeConfig): boolean {
  const constants = temporalConstants(config);
  return Object.entries(SATMAE_TEMPORAL_REFERENCE).every(
    ([name, value]) => constants[name as keyof typeof constants] === value,
  );
}

/**
 * The values of what the reference hard-codes, for this model: dates per sample and the width of
 * each timestamp part's encoding in the encoder and the decoder (SatMAE: 3, 128, 64).
 */
export function temporalConstants(
  config: MaeConfig,
): Record<'frames' | 'time_embed_dim' | 'decoder_time_embed_dim', number> {
  return {
    frames: requireTemporal(config),
    time_embed_dim: timePartWidth(config.embedDim),
    decoder_time_embed_dim: timePartWidth(config.decoderEmbedDim),
  };
}

/** Keyword arguments of models_mae_temporal.py's `MaskedAutoencoderViT(...)` (the constants apart). */
export function temporalModelArgs(config: MaeConfig): Record<string, number | boolean> {
  requireTemporal(config);
  return {
    img_size: config.imgSize,
    patch_size: config.patchSize,
    in_chans: config.inChans,
    embed_dim: config.embedDim,
    depth: config.depth,
    num_heads: config.numHeads,
    decoder_embed_dim: config.decoderEmbedDim,
    decoder_depth: config.decoderDepth,
    decoder_num_heads: config.decoderNumHeads,
    mlp_ratio: config.mlpRatio,
    norm_pix_loss: config.normPixLoss,
    same_mask: config.temporal!.sameMask,
  };
}

/** Keyword arguments of models_vit_temporal.py's `VisionTransformer(...)` (`numClasses` 0: no head). */
export function temporalEncoderArgs(config: MaeConfig, numClasses: number): Record<string, number | boolean> {
  requireTemporal(config);
  return {
    img_size: config.imgSize,
    patch_size: config.patchSize,
    in_chans: config.inChans,
    embed_dim: config.embedDim,
    depth: config.depth,
    num_heads: config.numHeads,
    mlp_ratio: config.mlpRatio,
    qkv_bias: true,
    num_classes: numClasses,
    global_pool: false,
  };
}
