/**
 * What a stored run's config and result must hold, by kind: the fields every version of the
 * studio has written and that its readers use without a fallback. Fields added later (the lr
 * rule, channel plans, probe blocks, intervals, …) are left to their readers, which default them
 * for runs stored before they existed; unknown fields pass, so a newer build's runs still read.
 */
import { z } from 'zod';

const Count = z.number().int().nonnegative();
const Numbers = z.array(z.number());
/**
 * Image ids: a plain loop, as a plan may hold hundreds of thousands (zod's per-element check took ~150 ms for 200 000).
 */
const Ids = z.custom<number[]>(
  (value) => Array.isArray(value) && value.every((id) => Number.isInteger(id) && id > 0),
  'expected a list of image ids',
);

const Model = z.looseObject({
  imgSize: Count,
  patchSize: Count,
  inChans: Count,
  embedDim: Count,
  depth: Count,
  numHeads: Count,
  decoderEmbedDim: Count,
  decoderDepth: Count,
  decoderNumHeads: Count,
});

/** A pretraining run's config: the plan `buildPretrainPlan` validated. */
export const PretrainConfigSchema = z.looseObject({
  recipe: z.looseObject({
    model: Model,
    maskRatio: z.number(),
    batchSize: Count,
    accumSteps: Count,
    totalSteps: Count,
    warmupSteps: Count,
    blr: z.number(),
    seed: z.number(),
  }),
  backend: z.string(),
  data: z.looseObject({
    channels: Count,
    mean: Numbers,
    std: Numbers,
    trainImageIds: Ids,
    valImageIds: Ids,
    excluded: z.array(z.looseObject({ reason: z.string(), count: Count })),
  }),
  stepsPerEpoch: Count,
  checkpointEvery: Count,
  validateEvery: Count,
});

const Triple = z.tuple([Count, Count, Count]);

/** A 3-D MAE run's config: the plan `buildPretrain3dPlan` validated. */
export const Pretrain3dConfigSchema = z.looseObject({
  volume3d: z.looseObject({
    model: z.looseObject({
      volumeSize: Triple,
      patchSize: Triple,
      inChans: Count,
      embedDim: Count,
      depth: Count,
      numHeads: Count,
      decoderEmbedDim: Count,
      decoderDepth: Count,
      decoderNumHeads: Count,
    }),
    resample: z.enum(['none', 'isotropic']),
  }),
  recipe: z.looseObject({
    maskRatio: z.number(),
    batchSize: Count,
    totalSteps: Count,
    warmupSteps: Count,
    blr: z.number(),
    peakLr: z.number(),
    seed: z.number(),
  }),
  backend: z.string(),
  data: z.looseObject({
    channels: Count,
    trainVolumes: z.array(z.looseObject({ key: z.string(), name: z.string(), imageIds: Ids })),
    valVolumes: z.array(z.looseObject({ key: z.string(), name: z.string(), imageIds: Ids })),
    trainImageIds: Ids,
    valImageIds: Ids,
    excluded: z.array(z.looseObject({ reason: z.string(), count: Count })),
  }),
  stepsPerEpoch: Count,
  checkpointEvery: Count,
  validateEvery: Count,
});

/** A probe's config: its validated options and the run it probes. */
export const ProbeConfigSchema = z.looseObject({
  pretrainRunId: Count,
  method: z.enum(['linear', 'knn']),
  pooling: z.enum(['cls', 'mean']),
  k: Count,
});

/** A fine-tuning run's config: its validated recipe and the run it starts from. */
export const FinetuneConfigSchema = z.looseObject({
  pretrainRunId: Count,
  steps: Count,
  batchSize: Count,
  warmupSteps: Count,
  blr: z.number(),
  pooling: z.enum(['cls', 'mean']),
  seed: z.number(),
});

const Scores = z.looseObject({
  accuracy: z.number(),
  perClass: z.array(z.looseObject({ label: z.string(), precision: z.number(), recall: z.number(), support: Count })),
  confusion: z.array(Numbers),
});

/** A completed probe's report. */
export const ProbeResultSchema = z.looseObject({
  method: z.enum(['linear', 'knn']),
  pooling: z.enum(['cls', 'mean']),
  classes: z.array(z.string()),
  trainImages: Count,
  valImages: Count,
  step: Count,
  pretrained: Scores,
  randomInit: Scores,
  seconds: z.number(),
});

/** A completed fine-tuning run's report. */
export const FinetuneResultSchema = z.looseObject({
  classes: z.array(z.string()),
  trainImages: Count,
  valImages: Count,
  steps: Count,
  pooling: z.enum(['cls', 'mean']),
  finalLoss: z.number().nullable(),
  scores: Scores,
  seconds: z.number(),
});
