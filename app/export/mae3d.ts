/**
 * Exports of a 3-D MAE's encoder (app/mae/volume3d): safetensors of `VisionTransformer3d`
 * (app/handoff/torch/mae3d_model.py) with a `config.json` whose `args` rebuild it, loading with
 * `load_state_dict(strict=True)`; and ONNX through the shared encoder graph (graph.ts), whose
 * input is then `volumes` [N, C, D, H, W].
 */
import { VERSION } from '../version';
import { mae3dEncoderConfigJson, mae3dEncoderStateDict } from '../mae/volume3d/mae3d-state';
import { type Mae3dModel, tokenView } from '../mae/volume3d/mae3d';
import { encodeSafetensors } from '../mae/weights/safetensors';
import type { Pooling } from '../train/probe-model';
import { encoderToOnnx } from './onnx';
import { encoderGraphSpec } from './spec';

/** `model.safetensors` and `config.json` of a 3-D encoder, by file name. */
export function mae3dSafetensorsFiles(model: Mae3dModel): Map<string, Uint8Array> {
  const config = {
    ...mae3dEncoderConfigJson(model.config),
    source: 'app/handoff/torch/mae3d_model.py: VisionTransformer3d(**args)',
    producer: `mae-studio ${VERSION}`,
  };
  return new Map([
    ['model.safetensors', encodeSafetensors(mae3dEncoderStateDict(model), { format: 'pt' })],
    ['config.json', new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`)],
  ]);
}

/**
 * The encoder as ONNX: input `volumes` [N, C, D, H, W] (batch dynamic), outputs `tokens`
 * [N, 1 + L, D] and `features` [N, D] (`pooling`: the cls token or the mean of the patch tokens).
 */
export function mae3dEncoderOnnx(model: Mae3dModel, pooling: Pooling): Uint8Array {
  const { volumeSize, patchSize, inChans } = model.config;
  const spec = {
    ...encoderGraphSpec(tokenView(model), pooling),
    volume: { size: volumeSize, patch: patchSize, channels: inChans },
  };
  return encoderToOnnx(spec, `3-D MAE encoder, volumes ${volumeSize.join('×')} of ${patchSize.join('×')} patches`);
}
