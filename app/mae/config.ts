/**
 * Architecture of a Masked Autoencoder ViT (He et al. 2021) and its named presets.
 * Preset names spell their hyperparameters, as in the reference `models_mae.py`
 * (`mae_vit_base_patch16_dec512d8b`): encoder size, patch, decoder width `d` and depth `b`.
 */

/** Everything that fixes the shapes of an MAE. */
export interface MaeConfig {
  /** Square input side in pixels; must be divisible by `patchSize`. */
  imgSize: number;
  /** Side of a square patch in pixels. */
  patchSize: number;
  /** Image channels (any C ≥ 1: grey, RGB, multispectral...). */
  inChans: number;
  /** Encoder token width D. */
  embedDim: number;
  /** Encoder transformer blocks. */
  depth: number;
  /** Encoder attention heads; must divide `embedDim`. */
  numHeads: number;
  /** Decoder token width. */
  decoderEmbedDim: number;
  /** Decoder transformer blocks. */
  decoderDepth: number;
  /** Decoder attention heads; must divide `decoderEmbedDim`. */
  decoderNumHeads: number;
  /** Hidden width of each MLP as a multiple of the token width. */
  mlpRatio: number;
  /** Regress patches normalised by their own mean and variance (the paper's better target). */
  normPixLoss: boolean;
  /**
   * Whether the decoder predicts the patch's pixels (`decoder_pred`, C·p·p values). Absent: true.
   * A feature-target recipe (FG-MAE) may predict features only.
   */
  pixelHead?: boolean;
  /**
   * Further linear heads after the decoder norm, one per feature target (`decoder_pred_<name>`,
   * `width` values per patch), in the order their losses are summed. Absent: none.
   */
  featureHeads?: FeatureHead[];
  /**
   * Channel-agnostic tokens (CA-MAE, Kraus et al. 2024; see channel-agnostic.ts): every channel
   * is tokenised on its own by one shared p·p patch embedding, so the encoder takes any channel
   * count; images are self-standardised per channel inside the model. Absent: false.
   */
  channelAgnostic?: boolean;
  /** CA-MAE: weight of the Fourier-magnitude L1 term added to the MSE (their 0.01). Absent: 0. */
  fourierLossWeight?: number;
  /**
   * Grouped-band tokens (SatMAE, Cong et al. 2022): one token per band group and patch, each
   * group with its own patch embedding and prediction head (see grouped-bands.ts). Absent: one
   * token per patch over all channels, as the reference MAE.
   */
  groupedBands?: GroupedBands;
  /**
   * Hard Patches Mining (Wang et al. 2023; see hard-patches.ts): a loss-predictor branch beside
   * the pixel decoder, its relative (ranking) loss times this weight added to the MSE (the
   * reference adds it with weight 1). Absent: no loss predictor.
   */
  lossPredictorWeight?: number;
  /**
   * SatMAE's temporal tokens (Cong et al. 2022; see temporal.ts): a sample is `frames` images of
   * one place, stacked as channels (T·C, `inChans` each), T·L tokens with a timestamp encoding.
   * Absent: one image per sample.
   */
  temporal?: TemporalFrames;
}

/** SatMAE temporal: dates per sample, and whether a patch is masked at every date at once. */
export interface TemporalFrames {
  /** Images of one place per sample (T ≥ 2). */
  frames: number;
  /** Mask a patch in every frame together (the reference's `same_mask`) instead of per frame. */
  sameMask: boolean;
}

/** SatMAE's band groups: model channel indices per group, and whether a patch is masked in every group at once. */
export interface GroupedBands {
  /** Model channels of each group, e.g. [[1, 2, 3, 7], [4, 5, 6, 8], [11, 12]]; channels in no group are not seen. */
  groups: number[][];
  /** Mask a patch in all groups together (SatMAE's `spatial_mask`) instead of independently per group. */
  spatialMask: boolean;
}

/** A decoder head that regresses a per-patch feature (FG-MAE: HOG, spectral indices). */
export interface FeatureHead {
  /** Lower-case word: the parameter is `decoder_pred_<name>`. */
  name: string;
  /** Values per patch. */
  width: number;
}

/** The reference defaults (`MaskedAutoencoderViT.__init__` with the paper's decoder). */
export const DEFAULT_MAE_CONFIG: MaeConfig = {
  imgSize: 224, // ImageNet recipe
  patchSize: 16, // ViT-*/16
  inChans: 3, // RGB; set from the dataset
  embedDim: 192, // ViT-Tiny: the size that trains on a laptop
  depth: 12, // ViT-Tiny
  numHeads: 3, // ViT-Tiny: 64-wide heads
  decoderEmbedDim: 512, // paper: 512-d decoder
  decoderDepth: 8, // paper: 8 blocks; 1 block still gives a good linear probe (Table 1a)
  decoderNumHeads: 16, // paper decoder
  mlpRatio: 4, // ViT standard
  normPixLoss: true, // paper Table 1c: normalised pixels improve representations
};

/** Encoder sizes (Dosovitskiy et al.; Touvron et al. for Tiny/Small). */
export const ENCODER_SIZES = {
  'vit-tiny': { embedDim: 192, depth: 12, numHeads: 3 },
  'vit-small': { embedDim: 384, depth: 12, numHeads: 6 },
  'vit-base': { embedDim: 768, depth: 12, numHeads: 12 },
} as const;

/** Decoder options: the paper's 512×8 and a light 128×2 for small data and slow backends. */
export const DECODER_SIZES = {
  '512x8': { decoderEmbedDim: 512, decoderDepth: 8, decoderNumHeads: 16 },
  '128x2': { decoderEmbedDim: 128, decoderDepth: 2, decoderNumHeads: 4 }, // ~1/20 of the decoder FLOPs
} as const;

function preset(
  encoder: keyof typeof ENCODER_SIZES,
  patchSize: number,
  decoder: keyof typeof DECODER_SIZES,
): (overrides?: Partial<MaeConfig>) => MaeConfig {
  return (overrides = {}) =>
    validateMaeConfig({
      ...DEFAULT_MAE_CONFIG,
      ...ENCODER_SIZES[encoder],
      patchSize,
      ...DECODER_SIZES[decoder],
      ...overrides,
    });
}

/** Named presets: encoder, patch, decoder width `d` × blocks `b`. Each accepts overrides. */
export const MAE_PRESETS = {
  maeVitTinyPatch16Dec512d8b: preset('vit-tiny', 16, '512x8'),
  maeVitTinyPatch16Dec128d2b: preset('vit-tiny', 16, '128x2'),
  maeVitTinyPatch8Dec512d8b: preset('vit-tiny', 8, '512x8'),
  maeVitTinyPatch8Dec128d2b: preset('vit-tiny', 8, '128x2'),
  maeVitTinyPatch14Dec512d8b: preset('vit-tiny', 14, '512x8'),
  maeVitSmallPatch16Dec512d8b: preset('vit-small', 16, '512x8'),
  maeVitSmallPatch16Dec128d2b: preset('vit-small', 16, '128x2'),
  maeVitSmallPatch8Dec512d8b: preset('vit-small', 8, '512x8'),
  maeVitSmallPatch14Dec512d8b: preset('vit-small', 14, '512x8'),
  maeVitBasePatch16Dec512d8b: preset('vit-base', 16, '512x8'),
  maeVitBasePatch8Dec512d8b: preset('vit-base', 8, '512x8'),
  maeVitBasePatch14Dec512d8b: preset('vit-base', 14, '512x8'),
} as const;

/** A preset name, e.g. `maeVitTinyPatch16Dec512d8b`. */
export type MaePresetName = keyof typeof MAE_PRESETS;

/** The preset built from CLI-style parts: `vit-tiny`, patch 16, decoder `512x8`. */
export function maeConfigFromParts(
  encoder: keyof typeof ENCODER_SIZES,
  patchSize: number,
  decoder: keyof typeof DECODER_SIZES,
  overrides: Partial<MaeConfig> = {},
): MaeConfig {
  if (!(encoder in ENCODER_SIZES))
    throw new Error(`encoder must be one of ${Object.keys(ENCODER_SIZES).join(', ')}, got ${encoder}`);
  if (!(decoder in DECODER_SIZES))
    throw new Error(`decoder must be one of ${Object.keys(DECODER_SIZES).join(', ')}, got ${decoder}`);
  return preset(encoder, patchSize, decoder)(overrides);
}

/** Number of patches along one side and in total. */
export function gridSize(config: Pick<MaeConfig, 'imgSize' | 'patchSize'>): { side: number; numPatches: number } {
  const side = config.imgSize / config.patchSize;
  return { side, numPatches: side * side };
}

/**
 * Tokens per image the masks and the decoder cover: L patches, G·L with grouped bands (SatMAE),
 * or C·L with channel-agnostic tokens (CA-MAE).
 */
export function tokenCount(
  config: Pick<MaeConfig, 'imgSize' | 'patchSize' | 'inChans' | 'channelAgnostic' | 'groupedBands' | 'temporal'>,
): number {
  const perPatch = config.temporal
    ? config.temporal.frames
    : config.groupedBands
      ? config.groupedBands.groups.length
      : config.channelAgnostic
        ? config.inChans
        : 1;
  return gridSize(config).numPatches * perPatch;
}

/** Values per patch token: C·p·p (grouped bands split it), or p·p with channel-agnostic tokens. */
export function tokenLength(config: Pick<MaeConfig, 'patchSize' | 'inChans' | 'channelAgnostic'>): number {
  return (config.channelAgnostic ? 1 : config.inChans) * config.patchSize * config.patchSize;
}

/** Checks every shape constraint; throws naming the field and the value. Returns the config. */
export function validateMaeConfig(config: MaeConfig): MaeConfig {
  const positive: (keyof MaeConfig)[] = [
    'imgSize',
    'patchSize',
    'inChans',
    'embedDim',
    'depth',
    'numHeads',
    'decoderEmbedDim',
    'decoderDepth',
    'decoderNumHeads',
    'mlpRatio',
  ];
  for (const key of positive) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new Error(`mae.${key} must be a positive integer, got ${String(value)}`);
    }
  }
  if (typeof config.normPixLoss !== 'boolean')
    throw new Error(`mae.normPixLoss must be true or false, got ${String(config.normPixLoss)}`);
  const heads = config.featureHeads ?? [];
  for (const [index, head] of heads.entries()) {
    if (!/^[a-z]+$/.test(head.name) || heads.findIndex((other) => other.name === head.name) !== index) {
      throw new Error(
        `mae.featureHeads[${index}].name must be a distinct lower-case word, got ${JSON.stringify(head.name)}`,
      );
    }
    if (!Number.isInteger(head.width) || head.width < 1)
      throw new Error(`mae.featureHeads[${index}].width must be a positive integer, got ${String(head.width)}`);
  }
  if (config.channelAgnostic !== undefined && typeof config.channelAgnostic !== 'boolean')
    throw new Error(`mae.channelAgnostic must be true or false, got ${String(config.channelAgnostic)}`);
  if (config.channelAgnostic && (heads.length > 0 || config.pixelHead === false))
    throw new Error('mae.channelAgnostic: channel-agnostic tokens predict pixels only (no feature heads)');
  const fourier = config.fourierLossWeight;
  if (fourier !== undefined && (typeof fourier !== 'number' || !(fourier >= 0 && fourier <= 1)))
    throw new Error(`mae.fourierLossWeight must be between 0 and 1, got ${String(fourier)}`);
  if (fourier && !config.channelAgnostic)
    throw new Error("mae.fourierLossWeight needs mae.channelAgnostic (the Fourier term is CA-MAE's)");
  if (config.pixelHead === false && heads.length === 0)
    throw new Error('mae.pixelHead: a model without the pixel head needs at least one feature head');
  const predictor = config.lossPredictorWeight;
  if (predictor !== undefined) {
    if (typeof predictor !== 'number' || !(predictor > 0 && predictor <= 10))
      throw new Error(`mae.lossPredictorWeight must be in (0, 10], got ${String(predictor)}`);
    if (config.groupedBands || config.channelAgnostic || heads.length > 0 || config.pixelHead === false)
      throw new Error('mae.lossPredictorWeight (HPM) predicts the pixel loss of one token per patch: no other recipe');
  }
  if (config.groupedBands && config.channelAgnostic) {
    throw new Error('mae.groupedBands and mae.channelAgnostic are two token layouts (SatMAE, CA-MAE); choose one');
  }
  if (config.groupedBands) {
    validateGroupedBands(config.groupedBands, config.inChans);
    if (config.embedDim < 16 || config.decoderEmbedDim < 16)
      throw new Error(
        `mae.groupedBands needs token widths of at least 16, got ${config.embedDim} and ${config.decoderEmbedDim}`,
      );
    if (heads.length > 0 || config.pixelHead === false)
      throw new Error("mae.groupedBands predicts each group's pixels; it cannot be combined with feature heads");
  }
  if (config.temporal) validateTemporal(config);
  if (config.imgSize % config.patchSize !== 0) {
    throw new Error(`mae.imgSize (${config.imgSize}) must be divisible by mae.patchSize (${config.patchSize})`);
  }
  if (config.embedDim % config.numHeads !== 0) {
    throw new Error(`mae.embedDim (${config.embedDim}) must be divisible by mae.numHeads (${config.numHeads})`);
  }
  if (config.decoderEmbedDim % config.decoderNumHeads !== 0) {
    throw new Error(
      `mae.decoderEmbedDim (${config.decoderEmbedDim}) must be ` +
        `divisible by mae.decoderNumHeads (${config.decoderNumHeads})`,
    );
  }
  if (config.embedDim % 4 !== 0 || config.decoderEmbedDim % 4 !== 0) {
    throw new Error(
      `2-D sin-cos position embeddings need widths divisible by ` +
        `4, got ${config.embedDim} and ${config.decoderEmbedDim}`,
    );
  }
  return config;
}

/**
 * Checks the groups against the model's channels; throws naming `field` and the bad value:
 * at least one group, each non-empty, every index a channel, no channel twice.
 */
export function validateGroupedBands(grouped: GroupedBands, inChans: number, field = 'mae.groupedBands'): GroupedBands {
  const { groups } = grouped;
  if (!Array.isArray(groups) || groups.length === 0)
    throw new Error(`${field} must list at least one group of band indices, got ${JSON.stringify(groups)}`);
  const seen = new Map<number, number>();
  groups.forEach((group, g) => {
    if (!Array.isArray(group) || group.length === 0)
      throw new Error(`${field}[${g}] must name at least one band, got ${JSON.stringify(group)}`);
    for (const band of group) {
      if (!Number.isInteger(band) || band < 0 || band >= inChans)
        throw new Error(`${field}[${g}] must hold band indices 0..${inChans - 1}, got ${JSON.stringify(band)}`);
      if (seen.has(band)) {
        throw new Error(
          `${field}[${g}] names band ${band} already in group ${seen.get(band)}; ` +
            'each band belongs to one group at most',
        );
      }
      seen.set(band, g);
    }
  });
  if (typeof grouped.spatialMask !== 'boolean')
    throw new Error(`${field}.spatialMask must be true or false, got ${JSON.stringify(grouped.spatialMask)}`);
  return grouped;
}

/** SatMAE temporal: at least two frames, wide enough tokens, and no other token layout or heads. */
function validateTemporal(config: MaeConfig): void {
  const { frames, sameMask } = config.temporal!;
  if (!Number.isInteger(frames) || frames < 2 || frames > 16)
    throw new Error(`mae.temporal.frames must be a whole number of dates from 2 to 16, got ${String(frames)}`);
  if (typeof sameMask !== 'boolean')
    throw new Error(`mae.temporal.sameMask must be true or false, got ${JSON.stringify(sameMask)}`);
  if (config.groupedBands || config.channelAgnostic)
    throw new Error('mae.temporal is a token layout of its own; it cannot be combined with grouped bands or CA-MAE');
  if ((config.featureHeads ?? []).length > 0 || config.pixelHead === false)
    throw new Error("mae.temporal predicts each frame's pixels; it cannot be combined with feature heads");
  if (config.embedDim < 64 || config.decoderEmbedDim < 64) {
    throw new Error(
      `mae.temporal needs token widths of at least 64 (an eighth for each timestamp part), ` +
        `got ${config.embedDim} and ${config.decoderEmbedDim}`,
    );
  }
}
