/**
 * Encoder read-out benchmark: for every pretraining run of a workspace kept by the recipe
 * benchmark (`npm run bench:recipe -- --keep DIR`), scores other ways of reading the frozen
 * encoder than the probe's mean of the patch tokens — the cls token, and the patch tokens
 * averaged over a 2×2 (or G×G) grid of the image and concatenated, which keeps the coarse
 * layout that a mean throws away — each at the block chosen by cross-validation on the training
 * split, for the pretrained encoder and its random initialisation alike, against the raw pixels
 * (16×16 per channel) scored by the same probe: linear probe and kNN (k = 20), plus kNN on
 * features centred on the training mean. Gains over the pixels with their paired 95% interval.
 *
 *   node dist/bench/readout.js --workspace DIR/digits/workspace [--grid 2] [--json]
 *
 * It answers whether a better read-out, not a better pretraining, closes the gap to the pixels
 * (README "Pretraining defaults: against the raw pixels").
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AccuracyGain } from '../app/contract';
import { embedAllPatches, paramLookup, disposeModel, type MaeModel } from '../app/mae/model';
import { layerNorm } from '../app/mae/ops';
import { block as vitBlock } from '../app/mae/vit';
import { selectBackend } from '../app/runtime/backend';
import { DEFAULT_BOOTSTRAP, pairedBootstrap } from '../app/train/intervals';
import { DEFAULT_KNN, knnPredict } from '../app/train/knn';
import { chooseBlock, DEFAULT_BLOCK_SELECTION, type Predictor } from '../app/train/probe-blocks';
import { forEachBatch, labelledSplits, type LabelledEntry } from '../app/train/probe-data';
import { rawPixelFeatures } from '../app/train/probe-features';
import { loadRunModel, randomInitModel } from '../app/train/probe-model';
import { probePredictor } from '../app/train/probe-predictor';
import type { PretrainPlan } from '../app/train/pretrain-plan';
import { Workspace } from '../app/workspace';
import { argument, flag } from './shared/options';

const READOUTS = ['mean', 'cls', 'grid'] as const;
type Readout = (typeof READOUTS)[number];
const RAW_SIDE = 16;

/** Tokens [B, 1 + L, D] (after the final LayerNorm) → features [B, width] of one read-out. */
function readTokens(tokens: tf.Tensor3D, readout: Readout, grid: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, count, dim] = tokens.shape;
    if (readout === 'cls') return tf.reshape(tf.slice(tokens, [0, 0, 0], [-1, 1, -1]), [batch, dim]);
    const patches = tf.slice(tokens, [0, 1, 0], [-1, -1, -1]);
    if (readout === 'mean') return tf.mean(patches, 1) as tf.Tensor2D;
    const side = Math.round(Math.sqrt(count - 1));
    if (side * side !== count - 1 || side % grid !== 0)
      throw new Error(`--grid ${grid}: the ${side}×${side} token grid does not split into ${grid}×${grid} cells`);
    const cell = side / grid;
    const cells = tf.mean(tf.reshape(patches, [batch, grid, cell, grid, cell, dim]), [2, 4]);
    return tf.reshape(cells, [batch, grid * grid * dim]);
  });
}

/** Features of every read-out after every block, per model, plus the raw pixels, over a split. */
async function features(models: MaeModel[], entries: LabelledEntry[], plan: PretrainPlan, grid: number) {
  const { depth, numHeads, imgSize } = plan.recipe.model;
  const channels = plan.data.channels;
  const out = models.map(() => READOUTS.map(() => Array.from({ length: depth }, () => [] as number[])));
  const raw: number[] = [];
  await forEachBatch(entries, plan, 16, async (images, batch) => {
    raw.push(...rawPixelFeatures(images, batch.length, channels, imgSize, Math.min(RAW_SIDE, imgSize)));
    const imgs = tf.tensor4d(images, [batch.length, channels, imgSize, imgSize]);
    for (const [m, model] of models.entries()) {
      const param = paramLookup(model);
      const read = tf.tidy(() => {
        let x = embedAllPatches(model, imgs) as tf.Tensor3D;
        const pooled: tf.Tensor2D[][] = [];
        for (let i = 0; i < depth; i++) {
          x = vitBlock(x, param, `blocks.${i}`, numHeads) as tf.Tensor3D;
          const normed = layerNorm(x, param('norm.weight'), param('norm.bias')) as tf.Tensor3D;
          pooled.push(READOUTS.map((readout) => readTokens(normed, readout, grid)));
        }
        return pooled;
      });
      for (const [b, perReadout] of read.entries()) {
        for (const [r, tensor] of perReadout.entries()) {
          out[m]![r]![b]!.push(...(await tensor.data()));
          tensor.dispose();
        }
      }
    }
    imgs.dispose();
  });
  return { encoders: out.map((m) => m.map((r) => r.map((b) => Float32Array.from(b)))), raw: Float32Array.from(raw) };
}

/** kNN on features centred on the mean of the fitted rows (cosine then compares directions around it). */
function centredKnn(numClasses: number): Predictor {
  return (train, labels, queries, width) => {
    const mean = new Float64Array(width);
    for (let i = 0; i < train.length; i++) mean[i % width]! += train[i]!;
    for (let d = 0; d < width; d++) mean[d]! /= train.length / width;
    const centre = (rows: Float32Array) => rows.map((value, i) => value - mean[i % width]!);
    return knnPredict(centre(train), labels, centre(queries), width, numClasses, DEFAULT_KNN);
  };
}

const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;
const points = (value: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(1)}`;
const gainText = (g: AccuracyGain): string => `${points(g.estimate)} [${points(g.low)}, ${points(g.high)}]`;

async function main(): Promise<void> {
  const dir = argument('workspace', '');
  if (!dir) {
    // `npm run bench` runs every benchmark without options: this one has nothing to read then.
    console.log('readout: skipped, needs --workspace DIR/<domain>/workspace kept by bench:recipe -- --keep DIR');
    return;
  }
  const grid = Number(argument('grid', '2'));
  const json = flag('json');
  await selectBackend('native', { log: () => {} });
  const workspace = new Workspace(dir);
  const results: Record<string, unknown>[] = [];
  try {
    const runs = workspace.projects
      .list()
      .flatMap((project) => workspace.runs.list(project.id))
      .filter((run) => run.kind === 'pretrain' && run.status === 'completed');
    if (!json)
      console.log(
        'run seed  probe       read-out  block   pretrained  random init  pixels   ' +
          'gain over pixels [95%]   gain over random init [95%]',
      );
    for (const run of runs) {
      const loaded = await loadRunModel(workspace, run.id);
      const random = randomInitModel(loaded.plan);
      try {
        const { plan } = loaded;
        const splits = labelledSplits(workspace, plan);
        const trainLabels = splits.train.map((e) => e.label);
        const valLabels = splits.val.map((e) => e.label);
        const numClasses = splits.classes.length;
        const train = await features([loaded.model, random], splits.train, plan, grid);
        const val = await features([loaded.model, random], splits.val, plan, grid);
        const rawWidth = train.raw.length / splits.train.length;
        const probes: [string, Predictor][] = [
          ['linear', probePredictor({ method: 'linear', k: 20 }, numClasses)],
          ['kNN', probePredictor({ method: 'knn', k: 20 }, numClasses)],
          ['kNN centred', centredKnn(numClasses)],
        ];
        const right = (labels: number[]) => labels.map((label, i) => label === valLabels[i]);
        const bootstrap = { ...DEFAULT_BOOTSTRAP, seed: plan.recipe.seed };
        for (const [probe, predict] of probes) {
          const pixels = right(predict(train.raw, trainLabels, val.raw, rawWidth));
          for (const [r, readout] of READOUTS.entries()) {
            const width = train.encoders[0]![r]![0]!.length / splits.train.length;
            const choice = chooseBlock(
              train.encoders[0]![r]!.map((rows, b) => ({ block: b + 1, features: rows })),
              trainLabels,
              width,
              predict,
              { ...DEFAULT_BLOCK_SELECTION, seed: plan.recipe.seed },
            );
            const b = choice.chosen - 1;
            const [pre, init] = [0, 1].map((m) =>
              right(predict(train.encoders[m]![r]![b]!, trainLabels, val.encoders[m]![r]![b]!, width)),
            ) as [boolean[], boolean[]];
            const accuracy = (hits: boolean[]) => hits.filter(Boolean).length / hits.length;
            const row = {
              run: run.id,
              seed: plan.recipe.seed,
              probe,
              readout: readout === 'grid' ? `grid ${grid}×${grid}` : readout,
              block: choice.chosen,
              pretrained: accuracy(pre),
              randomInit: accuracy(init),
              pixels: accuracy(pixels),
              gainPixels: pairedBootstrap(pre, pixels, bootstrap),
              gainRandomInit: pairedBootstrap(pre, init, bootstrap),
              valImages: valLabels.length,
            };
            results.push(row);
            if (!json)
              console.log(
                `${String(run.id).padStart(3)}${String(row.seed).padStart(5)}  ${probe.padEnd(12)}` +
                  `${row.readout.padEnd(10)}${String(row.block).padStart(5)}   ` +
                  `${percent(row.pretrained).padStart(10)}` +
                  `${percent(row.randomInit).padStart(13)}${percent(row.pixels).padStart(8)}   ` +
                  `${gainText(row.gainPixels).padEnd(25)}${gainText(row.gainRandomInit)}`,
              );
          }
        }
      } finally {
        disposeModel(random);
        loaded.dispose();
      }
    }
  } finally {
    workspace.close();
  }
  if (json) console.log(JSON.stringify(results, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});
