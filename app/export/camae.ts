/**
 * Exports of CA-MAE (channel-agnostic) runs under Recursion's names (recursionpharma/maes_microscopy;
 * the PyTorch mirror is app/mae/camae_reference.py, which the parity tests load these files into
 * with strict=True).
 *
 * - Encoder (safetensors): the state dict of `channel_agnostic_vit(timm VisionTransformer)`:
 *   `patch_embed.proj.weight` [D, 1, p, p] (one projection for every channel), `cls_token`,
 *   `pos_embed` [1, 1 + C·L, D] (the sin-cos table repeated per channel, as trained), `blocks.*`,
 *   `norm.*`, and `head.*` for a fine-tuned classifier.
 * - Whole model (`--full`): `encoder.vit_backbone.*` (their `MAEEncoder`), `decoder.*` (their
 *   `MAEDecoder`: `mask_token`, `blocks.*`, `norm.*`, `pos_embeddings`, plus their
 *   `CAMAEDecoder`'s `placeholder` and `modality_tokens.c`), and `decoder_embed.*`,
 *   `decoder_pred.*`. Which tensors have no counterpart: `CAMAE_UNMAPPED`.
 */
import type { MaeModel } from '../mae/model';
import { encodeSafetensors, type NamedTensor } from '../mae/weights/safetensors';
import { gridSize } from '../mae/config';
import type { ClassifierHead, LoadedRun, Pooling } from '../train/probe-model';
import type { GraphBuilder, Value } from './graph';

/**
 * What the whole-model export cannot name after Recursion's code, and why (the model card and
 * README say the same).
 */
export const CAMAE_UNMAPPED = [
  "decoder_embed.weight, decoder_embed.bias: the encoder-decoder projection; Recursion's README asks " +
    "for one but their code does not name it (no stitched MAE is published): models_mae.py's name",
  'decoder_pred.weight, decoder_pred.bias: the p·p pixel head per channel token, unnamed there too',
  'decoder.placeholder, decoder.modality_tokens.*: CAMAEDecoder names inside an MAEDecoder — the studio ' +
    "adds the channel tokens to the positions as CAMAEDecoder does, then runs MAEDecoder's one block stack " +
    "and final norm instead of CAMAEDecoder's cross-attention and per-channel stacks (so neither of their " +
    'decoder classes loads `decoder.*` strictly)',
] as const;

/** Torch layout of a linear weight stored [in, out]: [out, in]. */
function torchLinear(values: Float32Array, inDim: number, outDim: number): NamedTensor {
  const out = new Float32Array(values.length);
  for (let r = 0; r < inDim; r++) for (let c = 0; c < outDim; c++) out[c * inDim + r] = values[r * outDim + c]!;
  return { shape: [outDim, inDim], data: out };
}

/** One studio parameter in torch layout (the patch embedding as a 1-channel Conv2d). */
function torchTensor(model: MaeModel, name: string): NamedTensor {
  const variable = model.params.get(name);
  if (!variable) throw new Error(`CA-MAE export: parameter ${name} is missing`);
  const values = variable.dataSync() as Float32Array;
  const { patchSize: p, embedDim } = model.config;
  if (name === 'patch_embed.proj.weight')
    return { ...torchLinear(values, p * p, embedDim), shape: [embedDim, 1, p, p] };
  if (name.endsWith('.weight') && variable.rank === 2) {
    const [inDim, outDim] = variable.shape as [number, number];
    return torchLinear(values, inDim, outDim);
  }
  return { shape: [...variable.shape], data: values.slice() };
}

/** The encoder as `channel_agnostic_vit(VisionTransformer)`'s state dict (and a classifier head). */
export function camaeEncoderStateDict(model: MaeModel, head: ClassifierHead | null = null): Map<string, NamedTensor> {
  const state = new Map<string, NamedTensor>();
  for (const name of model.params.keys()) {
    if (name.startsWith('decoder_') || name === 'mask_token') continue;
    state.set(name, torchTensor(model, name));
  }
  state.set('pos_embed', { shape: [1, ...model.posEmbed.shape], data: model.posEmbed.dataSync() as Float32Array });
  if (head) {
    const [width, classes] = head.weight.shape;
    state.set('head.weight', torchLinear(head.weight.dataSync() as Float32Array, width, classes));
    state.set('head.bias', { shape: [classes], data: head.bias.dataSync() as Float32Array });
  }
  return state;
}

/** The whole CA-MAE under Recursion's module names (see the file comment and `CAMAE_UNMAPPED`). */
export function camaeFullStateDict(model: MaeModel): Map<string, NamedTensor> {
  const state = new Map<string, NamedTensor>();
  for (const [name, tensor] of camaeEncoderStateDict(model)) state.set(`encoder.vit_backbone.${name}`, tensor);
  const width = model.config.decoderEmbedDim;
  for (const name of model.params.keys()) {
    if (name === 'decoder_channel_embed') {
      const table = model.params.get(name)!.dataSync() as Float32Array; // [C, Dd]
      for (let c = 0; c < model.config.inChans; c++)
        state.set(`decoder.modality_tokens.${c}`, {
          shape: [1, 1, width],
          data: table.slice(c * width, (c + 1) * width),
        });
    } else if (name === 'mask_token') {
      state.set('decoder.mask_token', torchTensor(model, name));
    } else if (name.startsWith('decoder_blocks.')) {
      state.set(`decoder.blocks.${name.slice('decoder_blocks.'.length)}`, torchTensor(model, name));
    } else if (name.startsWith('decoder_norm.')) {
      state.set(`decoder.norm.${name.slice('decoder_norm.'.length)}`, torchTensor(model, name));
    } else if (name.startsWith('decoder_embed.') || name.startsWith('decoder_pred.')) {
      state.set(name, torchTensor(model, name));
    }
  }
  state.set('decoder.pos_embeddings', {
    shape: [1, ...model.decoderPosEmbed.shape],
    data: model.decoderPosEmbed.dataSync() as Float32Array,
  });
  state.set('decoder.placeholder', { shape: [1, 1, width], data: new Float32Array(width) });
  return state;
}

/**
 * The graph's channel tokens: pixels [N, C, H, W] self-standardised per image and channel
 * (biased variance, eps 1e-5, as InstanceNorm2d) and cut into [N, C·L, p·p], channel-major.
 */
export function channelTokensGraph(g: GraphBuilder, pixels: Value, model: { config: MaeModel['config'] }): Value {
  const { inChans: channels, patchSize: p } = model.config;
  const { side, numPatches } = gridSize(model.config);
  const centred = g.sub(pixels, g.reduceMean(pixels, [2, 3], true));
  const variance = g.reduceMean(g.mul(centred, centred), [2, 3], true);
  const standard = g.mul(
    centred,
    g.rsqrt(g.add(variance, g.constant('const.standardise_eps', [], Float32Array.of(1e-5)))),
  );
  const grid = g.reshape(standard, [-1, channels, side, p, side, p]); // [N, C, h, p, w, p]
  return g.reshape(g.transpose(grid, [0, 1, 2, 4, 3, 5]), [-1, channels * numPatches, p * p]); // [N, C*L, p*p]
}

/** How to load the encoder or the whole model in Python (the model card's usage). */
export function camaeUsage(model: MaeModel, full: boolean, classes: number, pooling: Pooling): string {
  const { inChans, imgSize, patchSize, embedDim, depth, numHeads, mlpRatio } = model.config;
  const args =
    `img_size=${imgSize}, patch_size=${patchSize}, in_chans=1, embed_dim=${embedDim}, depth=${depth}, ` +
    `num_heads=${numHeads}, mlp_ratio=${mlpRatio}, qkv_bias=True, num_classes=${classes}, ` +
    `global_pool='${pooling === 'cls' ? 'token' : 'avg'}', fc_norm=False`;
  const lines = [
    'import torch, timm',
    'from safetensors.torch import load_file',
    'from vit import channel_agnostic_vit  # github.com/recursionpharma/maes_microscopy (timm ViT blocks as trained)',
    `vit = channel_agnostic_vit(timm.models.VisionTransformer(${args}), max_in_chans=${inChans})`,
  ];
  if (full) {
    lines.push(
      '# whole model: mae_modules.MAEEncoder / MAEDecoder names; MAE Studio camae_reference.CaMae loads it strict',
      "state = load_file('model.safetensors')",
      "vit.load_state_dict({k[len('encoder.vit_backbone.'):]: v for k, v in state.items()" +
        " if k.startswith('encoder.vit_backbone.')}, strict=True)",
    );
  } else {
    lines.push("vit.load_state_dict(load_file('model.safetensors'), strict=True)");
  }
  lines.push(
    `# input: [N, C ≤ ${inChans}, ${imgSize}, ${imgSize}] float32, each image self-standardised per channel first:`,
    '# torch.nn.functional.instance_norm(x, eps=1e-5)',
  );
  return lines.join('\n');
}

/**
 * The safetensors export of a CA-MAE run: `model.safetensors` (encoder, or the whole model with
 * `full`) and a `config.json` that names the reference classes, the input standardisation and,
 * for the whole model, the tensors without a Recursion name.
 */
export function camaeSafetensorsFiles(loaded: LoadedRun, full: boolean, pooling: Pooling): Map<string, Uint8Array> {
  const { model, plan, run, step } = loaded;
  const { inChans, imgSize, patchSize, embedDim, depth, numHeads, mlpRatio } = model.config;
  const state = full ? camaeFullStateDict(model) : camaeEncoderStateDict(model, loaded.head);
  const source = `MAE Studio run ${run.id} step ${step}`;
  const config = {
    architecture: full ? 'CA-MAE (mae_modules.MAEEncoder + MAEDecoder with modality tokens)' : 'channel_agnostic_vit',
    reference: 'github.com/recursionpharma/maes_microscopy',
    vit: {
      img_size: imgSize,
      patch_size: patchSize,
      embed_dim: embedDim,
      depth,
      num_heads: numHeads,
      mlp_ratio: mlpRatio,
    },
    max_in_chans: inChans,
    ...(full && {
      decoder: {
        embed_dim: model.config.decoderEmbedDim,
        depth: model.config.decoderDepth,
        num_heads: model.config.decoderNumHeads,
        fourier_loss_weight: model.config.fourierLossWeight ?? 0,
        norm_pix_loss: model.config.normPixLoss,
      },
      unmapped: CAMAE_UNMAPPED,
    }),
    global_pool: pooling === 'cls' ? 'token' : 'avg',
    ...(loaded.head && { label_names: loaded.head.classes }),
    self_standardise: 'per image and channel: instance_norm(eps=1e-5), inside the model when trained',
    mean: plan.data.mean,
    std: plan.data.std,
  };
  return new Map<string, Uint8Array>([
    ['model.safetensors', encodeSafetensors(state, { format: 'pt', source })],
    ['config.json', Buffer.from(`${JSON.stringify(config, null, 2)}\n`)],
  ]);
}
