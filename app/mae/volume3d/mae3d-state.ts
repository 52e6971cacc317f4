/**
 * The 3-D MAE's weights as PyTorch state dicts, for app/handoff/torch/mae3d_model.py (`Mae3d`,
 * and its encoder `VisionTransformer3d`), and the config a reader rebuilds the encoder from.
 * Layouts: linear weights transposed to torch's [out, in]; the patch embedding as a Conv3d
 * weight [D, C, pd, ph, pw] (our rows are ordered (c, k, i, j), so the transpose reshaped is
 * exactly that); `decoder_pred` rows in the same (c, k, i, j) order, which mae3d_model.py's
 * `patchify` also uses; `pos_embed` and `decoder_pos_embed` [1, 1 + L, width].
 */
import type { StateTensor } from '../timm';
import type { Mae3dConfig } from './config3d';
import type { Mae3dModel } from './mae3d';

/** [rows, columns] row-major → its transpose. */
function transpose2d(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c]!;
  return out;
}

/** Every parameter and both position tables under `Mae3d`'s names (reads the weights synchronously). */
export function mae3dFullStateDict(model: Mae3dModel): Map<string, StateTensor> {
  const { inChans, embedDim, patchSize } = model.config;
  const state = new Map<string, StateTensor>();
  for (const [name, variable] of model.params) {
    const values = variable.dataSync() as Float32Array;
    if (name === 'patch_embed.proj.weight') {
      const rows = variable.shape[0]!; // C*pd*ph*pw
      state.set(name, { shape: [embedDim, inChans, ...patchSize], data: transpose2d(values, rows, embedDim) });
    } else if (name.endsWith('.weight') && variable.rank === 2) {
      const [inDim, outDim] = variable.shape as [number, number];
      state.set(name, { shape: [outDim, inDim], data: transpose2d(values, inDim, outDim) });
    } else {
      state.set(name, { shape: [...variable.shape], data: values.slice() });
    }
  }
  state.set('pos_embed', { shape: [1, ...model.posEmbed.shape], data: model.posEmbed.dataSync() as Float32Array });
  state.set('decoder_pos_embed', {
    shape: [1, ...model.decoderPosEmbed.shape],
    data: model.decoderPosEmbed.dataSync() as Float32Array,
  });
  return state;
}

/** The encoder alone (no decoder, no mask token) under `VisionTransformer3d`'s names. */
export function mae3dEncoderStateDict(model: Mae3dModel): Map<string, StateTensor> {
  const full = mae3dFullStateDict(model);
  for (const name of [...full.keys()]) if (name.startsWith('decoder_') || name === 'mask_token') full.delete(name);
  return full;
}

/** Keyword arguments of `VisionTransformer3d` (the encoder) for a config. */
export function mae3dEncoderArgs(config: Mae3dConfig): Record<string, number | number[]> {
  return {
    volume_size: [...config.volumeSize],
    patch_size: [...config.patchSize],
    in_chans: config.inChans,
    embed_dim: config.embedDim,
    depth: config.depth,
    num_heads: config.numHeads,
    mlp_ratio: config.mlpRatio,
  };
}

/** Keyword arguments of `Mae3d` (encoder and decoder) for a config. */
export function mae3dModelArgs(config: Mae3dConfig): Record<string, number | number[] | boolean> {
  return {
    ...mae3dEncoderArgs(config),
    decoder_embed_dim: config.decoderEmbedDim,
    decoder_depth: config.decoderDepth,
    decoder_num_heads: config.decoderNumHeads,
    norm_pix_loss: config.normPixLoss,
  };
}

/**
 * The `config.json` written beside an exported 3-D encoder: `args` rebuild it
 * (`VisionTransformer3d(**args)` in mae3d_model.py), the rest says what a reader must know to
 * feed it (input layout, patch order, positions, which token is the feature).
 */
export function mae3dEncoderConfigJson(config: Mae3dConfig): Record<string, unknown> {
  return {
    architecture: 'mae3d_vit',
    args: mae3dEncoderArgs(config),
    input_layout: 'N, C, D, H, W (slices, rows, columns)',
    patch_order: 'tokens row-major over (slice, row, column); patch values (channel, slice, row, column)',
    pos_embed: '3-D sin-cos, fixed: channels [column | row | slice | zero tail], 2*floor(D/6) each',
    global_pool: 'token',
    num_features: config.embedDim,
  };
}
