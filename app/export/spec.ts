/** The export graph's inputs taken from a loaded model (weights read synchronously). */
import type { MaeModel } from '../mae/model';
import type { ClassifierHead, Pooling } from '../train/probe-model';
import type { EncoderGraphSpec, GraphWeight } from './graph';

/** Encoder weights (no decoder, no mask token) and positions of `model`, plus the head if any. */
export function encoderGraphSpec(
  model: MaeModel,
  pooling: Pooling,
  head: ClassifierHead | null = null,
): EncoderGraphSpec {
  const params = new Map<string, GraphWeight>();
  for (const [name, variable] of model.params) {
    if (name.startsWith('decoder_') || name === 'mask_token') continue;
    params.set(name, { shape: [...variable.shape], data: variable.dataSync() as Float32Array });
  }
  return {
    config: model.config,
    params,
    posEmbed: model.posEmbed.dataSync() as Float32Array,
    pooling,
    ...(head && {
      head: {
        weight: { shape: [...head.weight.shape], data: head.weight.dataSync() as Float32Array },
        bias: { shape: [...head.bias.shape], data: head.bias.dataSync() as Float32Array },
      },
    }),
  };
}
