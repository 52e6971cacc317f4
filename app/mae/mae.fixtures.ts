/**
 * Shared fixtures for the engine's tests: a tiny MAE config and the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ensureGradients } from '../runtime/gradients';
import { validateMaeConfig, type MaeConfig } from './config';

/** A model small enough for finite differences: 8×8 images, 4×4 patches, two channels. */
export const TINY_MAE: MaeConfig = validateMaeConfig({
  imgSize: 8,
  patchSize: 4,
  inChans: 2,
  embedDim: 8,
  depth: 1,
  numHeads: 2,
  decoderEmbedDim: 8,
  decoderDepth: 1,
  decoderNumHeads: 2,
  mlpRatio: 2,
  normPixLoss: true,
});

/** Activates the reference cpu backend (tests compare numbers, so they pin it). */
export async function useCpuBackend(): Promise<void> {
  await ensureGradients();
  await tf.setBackend('cpu');
  await tf.ready();
}
