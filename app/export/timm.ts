/**
 * The timm side of the safetensors export: the encoder's state dict under timm
 * `VisionTransformer` names and layouts (app/mae/timm.ts; no `mask_token` or `decoder_*`, which
 * would make timm take the file for DINOv2), the head for classifiers, and a `config.json` in the
 * Hugging Face hub layout timm reads (`architecture`, `model_args`, `pretrained_cfg`).
 */
import type { MaeConfig } from '../mae/config';
import { encoderStateDict } from '../mae/timm';
import type { MaeModel } from '../mae/model';
import type { NamedTensor } from '../mae/weights/safetensors';
import type { ClassifierHead, Pooling } from '../train/probe-model';
import type { DatasetPlan } from '../train/dataset-plan';

/** timm's registered ViT whose defaults match the encoder width (the rest goes in model_args). */
export function timmArchitecture(config: MaeConfig): string {
  const size =
    ({ 192: 'tiny', 384: 'small', 768: 'base', 1024: 'large' } as Record<number, string>)[config.embedDim] ?? 'base';
  return `vit_${size}_patch16_224`;
}

/** Keyword arguments that make `timm.create_model(architecture, **model_args)` this encoder. */
export function timmModelArgs(config: MaeConfig, pooling: Pooling, numClasses: number): Record<string, unknown> {
  return {
    img_size: config.imgSize,
    patch_size: config.patchSize,
    in_chans: config.inChans,
    embed_dim: config.embedDim,
    depth: config.depth,
    num_heads: config.numHeads,
    mlp_ratio: config.mlpRatio,
    qkv_bias: true,
    class_token: true,
    // 'token' pools the cls token; 'avg' with fc_norm=False keeps the final norm before pooling, as the studio does.
    global_pool: pooling === 'cls' ? 'token' : 'avg',
    fc_norm: false,
    num_classes: numClasses,
  };
}

/** Encoder (and head) tensors in timm layout, in a stable order. */
export function timmStateDict(model: MaeModel, head: ClassifierHead | null): Map<string, NamedTensor> {
  const state = new Map<string, NamedTensor>(encoderStateDict(model));
  if (head) {
    const [width, classes] = head.weight.shape;
    const stored = head.weight.dataSync(); // [D, K] → torch Linear [K, D]
    const weight = new Float32Array(width * classes);
    for (let d = 0; d < width; d++) for (let k = 0; k < classes; k++) weight[k * width + d] = stored[d * classes + k]!;
    state.set('head.weight', { shape: [classes, width], data: weight });
    state.set('head.bias', { shape: [classes], data: head.bias.dataSync() as Float32Array });
  }
  return state;
}

/** `config.json` for timm / the Hugging Face hub. */
export function timmConfig(config: MaeConfig, pooling: Pooling, data: DatasetPlan, classes: string[] | null) {
  const numClasses = classes?.length ?? 0;
  return {
    architecture: timmArchitecture(config),
    num_classes: numClasses,
    num_features: config.embedDim,
    global_pool: pooling === 'cls' ? 'token' : 'avg',
    ...(classes && { label_names: classes }),
    model_args: timmModelArgs(config, pooling, numClasses),
    pretrained_cfg: {
      input_size: [config.inChans, config.imgSize, config.imgSize],
      mean: data.mean,
      std: data.std,
      // The studio scales stored values to [0, 1] by the bit depth, then normalises per channel.
      pixel_scaling: data.scaling,
      interpolation: 'bilinear',
      crop_pct: 1.0,
      num_classes: numClasses,
      first_conv: 'patch_embed.proj',
      classifier: 'head',
    },
  };
}
