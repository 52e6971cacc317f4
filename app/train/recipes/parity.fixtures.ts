/**
 * The PyTorch side of the recipe parity tests: a model's weights, images and mask go to
 * recipes_reference.py (PyTorch re-implementations, loaded with strict=True), which returns the loss
 * and the gradient of the patch embedding; the helpers here compute ours on the same inputs. The
 * hand-off itself and the error measure are the mae room's (`torch-python.fixtures.ts`), shared with
 * the SatMAE and 3-D parity tests; they are re-exported here for the recipe tests.
 */
import path from 'node:path';
import { runTorchCase } from '../../mae/torch-python.fixtures';
import * as tf from '@tensorflow/tfjs-core';
import type { MaskSet } from '../../mae/masking';
import type { MaeModel } from '../../mae/model';
import { timmStateDict } from '../../export/timm';
import { officialCheckpointTensors, scriptModel } from '../../handoff/handoff';
import { Rng } from '../../mae/rng';
import type { NamedTensor } from '../../mae/weights/safetensors';
import { encodeAllPatches } from '../probe-features';

export { scaledError, transposed } from '../../mae/torch-python.fixtures';

/** What the reference computed. */
export interface ReferenceResult {
  loss: number;
  /** d loss / d patch_embed.proj.weight in torch layout [D, C, p, p], flattened. */
  grad: number[];
  [key: string]: unknown;
}

/** Runs recipes_reference.py on one case; `files` are written beside case.json (weights.safetensors, …). */
export function runReference(caseJson: Record<string, unknown>, files: Record<string, Map<string, NamedTensor>>) {
  const script = path.join(import.meta.dirname, 'recipes_reference.py');
  return runTorchCase<ReferenceResult>({ file: script }, { 'case.json': caseJson, ...files }).result;
}

/**
 * Every parameter redrawn from N(0, 0.2²) (norm weights around 1), so each one moves the loss;
 * the reference initialisation leaves biases at zero and tokens near it.
 */
export function randomiseParams(model: MaeModel, seed: number): void {
  const rng = Rng.fromSeed(seed, 11);
  for (const [name, variable] of model.params) {
    const isNorm = /norm\d*\.weight$/.test(name);
    const values = Float32Array.from({ length: variable.size }, () => (isNorm ? 1 : 0) + 0.2 * rng.normal());
    const fresh = tf.tensor(values, variable.shape);
    variable.assign(fresh);
    fresh.dispose();
  }
}

/** Images [B, C, H, W] of N(0, 1) values, as a normalised batch. */
export function randomImages(shape: [number, number, number, number], seed: number): Float32Array {
  const rng = Rng.fromSeed(seed, 12);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

/** A random ids_shuffle [B, T] (kept tokens first) and its mask set. */
export function randomShuffle(batchSize: number, numTokens: number, numKeep: number, seed: number) {
  const rng = Rng.fromSeed(seed, 13);
  const ids: number[] = [];
  for (let b = 0; b < batchSize; b++) {
    const order = Array.from({ length: numTokens }, (_, i) => i);
    for (let i = numTokens - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    ids.push(...order);
  }
  const keep = new Int32Array(batchSize * numKeep);
  const restore = new Int32Array(batchSize * numTokens);
  const mask = new Uint8Array(batchSize * numTokens);
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < numTokens; i++) {
      const token = ids[b * numTokens + i]!;
      restore[b * numTokens + token] = i;
      mask[b * numTokens + token] = i < numKeep ? 0 : 1;
      if (i < numKeep) keep[b * numKeep + i] = token;
    }
  }
  const masks: MaskSet = { batchSize, numPatches: numTokens, numKeep, keep, restore, mask };
  return { ids, masks };
}

/** Our loss and its gradient with respect to `patch_embed.proj.weight` (our layout [in, D]). */
export function lossAndPatchGradient(model: MaeModel, loss: () => tf.Scalar): { loss: number; grad: Float32Array } {
  const weight = model.params.get('patch_embed.proj.weight')!;
  const { value, grads } = tf.variableGrads(loss, [weight]);
  const result = { loss: value.dataSync()[0]!, grad: grads[weight.name]!.dataSync() as Float32Array };
  tf.dispose([value, ...Object.values(grads)]);
  return result;
}

/** The model's state dict in models_mae.py names and layouts (feature heads as `decoder_pred_<name>`). */
export function officialState(model: MaeModel): Map<string, NamedTensor> {
  const ours = new Map<string, NamedTensor>();
  for (const [name, variable] of model.params)
    ours.set(`model.${name}`, { shape: [...variable.shape], data: variable.dataSync() as Float32Array });
  return officialCheckpointTensors(ours, model.config);
}

/**
 * The encoder export (`timmStateDict`, timm names) of `model` loaded strictly into the
 * reference's timm-named ViT: its tokens on `pixels` and ours, and the exported names.
 */
export function encoderExportFeatures(model: MaeModel, pixels: Float32Array, shape: number[]) {
  const state = timmStateDict(model, null);
  const theirs = runReference(
    { recipe: 'vit-encoder', config: scriptModel(model.config), imgs: Array.from(pixels), shape },
    { 'weights.safetensors': state },
  );
  const ours = tf.tidy(() => encodeAllPatches(model, tf.tensor4d(pixels, shape as [number, number, number, number])));
  const result = { ours: ours.dataSync().slice(), theirs: theirs.features as number[], names: [...state.keys()] };
  ours.dispose();
  return result;
}
