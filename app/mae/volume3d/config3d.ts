/**
 * Architecture of a 3-D Masked Autoencoder: the 2-D MAE's ViT encoder and decoder over cuboid
 * patches of a volume (CT, MR, confocal stacks). Tokens are tokens: only the patch embedding,
 * the positions and the prediction head know the third axis.
 */

/** Three sizes in (depth, height, width) order: slices, rows, columns. */
export type Size3d = readonly [number, number, number];

/** Everything that fixes the shapes of a 3-D MAE. */
export interface Mae3dConfig {
  /** Input crop (slices, rows, columns); each divisible by the patch size along its axis. */
  volumeSize: Size3d;
  /** Patch (pd, ph, pw): 16×16×16 cubes, or e.g. 4×16×16 for thick slices. */
  patchSize: Size3d;
  /** Channels per voxel (1 for CT/MR). */
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
}

/** ViT-Tiny with the light decoder on 64³ crops of 16³ cubes (64 tokens): trains on a laptop. */
export const DEFAULT_MAE3D_CONFIG: Mae3dConfig = {
  volumeSize: [64, 64, 64], // a 64³ crop: 4×4×4 tokens
  patchSize: [16, 16, 16], // 16³ cubes, the 3-D analogue of ViT-*/16
  inChans: 1, // CT and MR are single-channel
  embedDim: 192, // ViT-Tiny
  depth: 12, // ViT-Tiny
  numHeads: 3, // ViT-Tiny
  decoderEmbedDim: 128, // the 2-D studio's light 128×2 decoder
  decoderDepth: 2,
  decoderNumHeads: 4,
  mlpRatio: 4, // ViT standard
  normPixLoss: true, // He et al. Table 1c
};

/** Patches along each axis (D', H', W'). */
export function gridSize3d(config: Pick<Mae3dConfig, 'volumeSize' | 'patchSize'>): Size3d {
  const [d, h, w] = config.volumeSize;
  const [pd, ph, pw] = config.patchSize;
  return [d / pd, h / ph, w / pw];
}

/** Tokens per volume: L = D'·H'·W'. */
export function tokenCount3d(config: Pick<Mae3dConfig, 'volumeSize' | 'patchSize'>): number {
  const [d, h, w] = gridSize3d(config);
  return d * h * w;
}

/** Values per patch: C·pd·ph·pw (the patch embedding's input width). */
export function patchLength3d(config: Pick<Mae3dConfig, 'patchSize' | 'inChans'>): number {
  const [pd, ph, pw] = config.patchSize;
  return config.inChans * pd * ph * pw;
}

function positiveInteger(value: number): boolean {
  return Number.isInteger(value) && value >= 1;
}

/** Checks a config and returns it; throws naming the field and what was expected. */
export function validateMae3dConfig(config: Mae3dConfig): Mae3dConfig {
  const axes = ['slices', 'rows', 'columns'];
  for (const field of ['volumeSize', 'patchSize'] as const) {
    const value = config[field];
    if (!Array.isArray(value) || value.length !== 3 || !value.every(positiveInteger)) {
      throw new Error(`3-D MAE ${field} must be three positive integers (slices, rows, columns), got ${String(value)}`);
    }
  }
  config.volumeSize.forEach((size, axis) => {
    const patch = config.patchSize[axis]!;
    if (size % patch !== 0) {
      throw new Error(`3-D MAE volumeSize ${axes[axis]} ${size} must be divisible by the patch's ${patch}`);
    }
  });
  if (tokenCount3d(config) < 2) throw new Error('3-D MAE needs at least 2 patches per volume to mask any');
  const counts = [
    'inChans',
    'embedDim',
    'depth',
    'numHeads',
    'decoderEmbedDim',
    'decoderDepth',
    'decoderNumHeads',
  ] as const;
  for (const field of counts) {
    if (!positiveInteger(config[field]))
      throw new Error(`3-D MAE ${field} must be a positive integer, got ${config[field]}`);
  }
  if (!positiveInteger(config.mlpRatio))
    throw new Error(`3-D MAE mlpRatio must be a positive integer, got ${config.mlpRatio}`);
  if (config.embedDim % config.numHeads !== 0) {
    throw new Error(`3-D MAE embedDim ${config.embedDim} must be divisible by numHeads ${config.numHeads}`);
  }
  if (config.decoderEmbedDim % config.decoderNumHeads !== 0) {
    throw new Error(
      `3-D MAE decoderEmbedDim ${config.decoderEmbedDim} must be divisible by ` +
        `decoderNumHeads ${config.decoderNumHeads}`,
    );
  }
  for (const field of ['embedDim', 'decoderEmbedDim'] as const) {
    if (config[field] < 6) throw new Error(`3-D MAE ${field} must be at least 6 (two sin-cos channels per axis)`);
  }
  return config;
}
