/**
 * The encoder's weights in timm `VisionTransformer` layout (what app/export writes to
 * safetensors): linear weights transposed to torch's [out, in], the patch embedding as a
 * Conv2d weight [D, C, p, p], `pos_embed` as [1, 1 + L, D]; no decoder or mask token.
 */
import type { MaeModel } from './model';

/** One tensor of a state dict: row-major float32 values and their shape. */
export interface StateTensor {
  shape: number[];
  data: Float32Array;
}

/** [rows, columns] row-major → its transpose. */
function transpose2d(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c]!;
  return out;
}

/** Encoder state dict with timm names and layouts (reads the weights synchronously). */
export function encoderStateDict(model: MaeModel): Map<string, StateTensor> {
  const { patchSize: p, inChans, embedDim } = model.config;
  const state = new Map<string, StateTensor>();
  for (const [name, variable] of model.params) {
    if (name.startsWith('decoder_') || name === 'mask_token') continue;
    const values = variable.dataSync() as Float32Array;
    if (name === 'patch_embed.proj.weight') {
      // stored [C*p*p, D] with rows ordered (c, i, j): the transpose is [D, C, p, p] row-major
      state.set(name, { shape: [embedDim, inChans, p, p], data: transpose2d(values, inChans * p * p, embedDim) });
    } else if (name.endsWith('.weight') && variable.rank === 2) {
      const [inDim, outDim] = variable.shape as [number, number];
      state.set(name, { shape: [outDim, inDim], data: transpose2d(values, inDim, outDim) });
    } else {
      state.set(name, { shape: [...variable.shape], data: values.slice() });
    }
  }
  state.set('pos_embed', { shape: [1, ...model.posEmbed.shape], data: model.posEmbed.dataSync() as Float32Array });
  return state;
}
