/**
 * Pretraining a 3-D MAE on stored volumes with the studio's recipe: random 3-D crops
 * (volume-crops.ts) of the volumes in turn, the recipe's masking of the D′·H′·W′ tokens (masks3d.ts),
 * AdamW with the MAE parameter groups (adamw.ts), and the peak lr of the recipe's rule, linear
 * warmup and half-cycle cosine (schedule.ts) — the 2-D run's `TrainConfig` fields, read from the
 * same defaults. A loop over steps for the engine and its tests; no run records, checkpoints or UI.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cropBatch3d, DEFAULT_CROP3D, type Crop3dOptions } from '../data/volumes/volume-crops';
import type { VoxelGrid } from '../data/volumes/volume-planes';
import { Rng, RNG_STREAMS } from '../mae/rng';
import { forwardMae3d, type Mae3dModel } from '../mae/volume3d/mae3d';
import { makeMasks3d } from '../mae/volume3d/masks3d';
import { AdamW } from './adamw';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from './config';
import { learningRateAt, peakLearningRate } from './schedule';

/** The recipe fields a 3-D run uses (the 2-D `TrainConfig`'s, same defaults). */
export type Pretrain3dOptions = Pick<
  TrainConfig,
  | 'maskRatio'
  | 'maskStrategy'
  | 'batchSize'
  | 'totalSteps'
  | 'warmupSteps'
  | 'lrRule'
  | 'blr'
  | 'minLr'
  | 'weightDecay'
  | 'beta1'
  | 'beta2'
  | 'epsilon'
  | 'seed'
> & { crops: Omit<Crop3dOptions, 'size'> };

/** The 2-D recipe's defaults, and the crops' (left–right flips, standardised). */
export const DEFAULT_PRETRAIN3D: Pretrain3dOptions = {
  maskRatio: DEFAULT_TRAIN_CONFIG.maskRatio,
  maskStrategy: DEFAULT_TRAIN_CONFIG.maskStrategy,
  batchSize: 4, // 64³ crops: half the 2-D default batch of 224² images holds about as many voxels
  totalSteps: DEFAULT_TRAIN_CONFIG.totalSteps,
  warmupSteps: DEFAULT_TRAIN_CONFIG.warmupSteps,
  lrRule: DEFAULT_TRAIN_CONFIG.lrRule,
  blr: DEFAULT_TRAIN_CONFIG.blr,
  minLr: DEFAULT_TRAIN_CONFIG.minLr,
  weightDecay: DEFAULT_TRAIN_CONFIG.weightDecay,
  beta1: DEFAULT_TRAIN_CONFIG.beta1,
  beta2: DEFAULT_TRAIN_CONFIG.beta2,
  epsilon: DEFAULT_TRAIN_CONFIG.epsilon,
  seed: DEFAULT_TRAIN_CONFIG.seed,
  crops: DEFAULT_CROP3D,
};

/** One stored volume to train on. */
export interface TrainingVolume {
  grid: VoxelGrid;
  /** Shown in errors (file or series name). */
  name: string;
}

/**
 * Trains `model` in place for `options.totalSteps` steps on crops of `volumes`; returns each
 * step's loss. `onStep` sees every step's loss and lr (a caller may stop by throwing).
 */
export function pretrainMae3d(
  model: Mae3dModel,
  volumes: readonly TrainingVolume[],
  options: Partial<Pretrain3dOptions> = {},
  onStep?: (step: number, loss: number, lr: number) => void,
): number[] {
  const recipe = { ...DEFAULT_PRETRAIN3D, ...options };
  if (volumes.length === 0) throw new Error('3-D pretraining needs at least one volume');
  const data = Rng.fromSeed(recipe.seed, RNG_STREAMS.data);
  const maskRng = Rng.fromSeed(recipe.seed, RNG_STREAMS.mask);
  const optimizer = new AdamW(model.params, {
    beta1: recipe.beta1,
    beta2: recipe.beta2,
    epsilon: recipe.epsilon,
    weightDecay: recipe.weightDecay,
  });
  const schedule = {
    peakLr: peakLearningRate(recipe.lrRule, recipe.blr, recipe.batchSize),
    minLr: recipe.minLr,
    warmupSteps: recipe.warmupSteps,
    totalSteps: recipe.totalSteps,
  };
  const grids = volumes.map((volume) => volume.grid);
  const names = volumes.map((volume) => volume.name);
  const losses: number[] = [];
  try {
    for (let step = 0; step < recipe.totalSteps; step++) {
      const batch = cropBatch3d(
        grids,
        recipe.batchSize,
        { size: model.config.volumeSize, ...recipe.crops },
        data,
        names,
      );
      const masks = makeMasks3d(recipe.maskStrategy, model.config, recipe.batchSize, recipe.maskRatio, maskRng);
      const lr = learningRateAt(step, schedule);
      const input = tf.tensor(batch.values, batch.shape);
      const { value, grads } = tf.variableGrads(() => {
        const { loss, pred } = forwardMae3d(model, input, masks);
        pred.dispose();
        return loss;
      }, [...model.params.values()]);
      const byName = new Map([...model.params].map(([name, variable]) => [name, grads[variable.name]!]));
      optimizer.step(byName, lr);
      const loss = value.dataSync()[0]!;
      tf.dispose([input, value, ...Object.values(grads)]);
      if (!Number.isFinite(loss)) throw new Error(`3-D pretraining diverged at step ${step + 1}: loss ${loss}`);
      losses.push(loss);
      onStep?.(step, loss, lr);
    }
  } finally {
    optimizer.dispose();
  }
  return losses;
}
