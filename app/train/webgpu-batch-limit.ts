/**
 * The largest MAE batch the webgpu backend can take. An adapter caps the size of one storage
 * buffer (`maxBufferSize`, and `maxStorageBufferBindingSize` for one bound to a shader: 128 MiB on
 * many), and every TF.js tensor there is one buffer, so the largest batch is set by the largest
 * tensor of a training step (the attention scores, [B, heads, N, N]) as much as by total memory.
 * Sized from the model's shapes, so it lives above mae/ (runtime/ knows no model).
 */
import { tokenCount, tokenLength, type MaeConfig } from '../mae/config';
import { groupedKeepCount } from '../mae/grouped-bands';
import { keepCount } from '../mae/masking';
import type { WebGpuAdapter } from '../runtime/webgpu';

const FLOAT_BYTES = 4;

/** Bytes of the largest single tensor one image adds to an MAE training step. */
export function largestTensorBytesPerImage(model: MaeConfig, maskRatio: number): number {
  const numPatches = tokenCount(model); // SatMAE: G·L band-group tokens; CA-MAE: C·L channel tokens of p·p values
  const patchLength = tokenLength(model);
  const part = (tokens: number, width: number, heads: number): number =>
    Math.max(
      heads * tokens * tokens, // attention scores and their softmax
      tokens * width * model.mlpRatio, // the MLP's hidden layer
      tokens * 3 * width, // qkv
    );
  const grouped = model.groupedBands;
  const groups = grouped?.groups.length ?? model.temporal?.frames ?? 1;
  // SatMAE keeps int(G·L·(1 − r)) of its G·L tokens (spatialMask: G times the count over L); its
  // temporal model keeps frames × the count over L (the same as over T·L at the usual ratios)
  const encoderTokens =
    1 +
    (grouped
      ? groupedKeepCount(grouped, numPatches / groups, maskRatio)
      : groups * keepCount(numPatches / groups, maskRatio));
  // SatMAE: each group's head predicts its bands for every masked token, [M, c_g·p·p]
  const widestGroup = grouped ? Math.max(...grouped.groups.map((group) => group.length)) : 0;
  const decoderTokens = 1 + numPatches;
  return (
    FLOAT_BYTES *
    Math.max(
      part(encoderTokens, model.embedDim, model.numHeads),
      part(decoderTokens, model.decoderEmbedDim, model.decoderNumHeads),
      // patches, targets, prediction (SatMAE: [L, C·p·p]; its temporal model: [T·L, C·p·p])
      (numPatches / groups) * patchLength * (model.temporal?.frames ?? 1),
      (numPatches + 1 - encoderTokens) * widestGroup * model.patchSize ** 2,
      model.fourierLossWeight ? numPatches * numPatches : 0, // CA-MAE Fourier term: the unshuffle matrix
    )
  );
}

/** The largest batch whose largest tensor fits one buffer of the adapter (at least 0). */
export function largestBatchForAdapter(
  model: MaeConfig,
  maskRatio: number,
  adapter: Pick<WebGpuAdapter, 'maxBufferSize' | 'maxStorageBufferBindingSize'>,
): number {
  const limit = Math.min(adapter.maxBufferSize, adapter.maxStorageBufferBindingSize);
  return Math.floor(limit / largestTensorBytesPerImage(model, maskRatio));
}
