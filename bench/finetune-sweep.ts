/**
 * The grid that chose the fine-tuning defaults (`DEFAULT_FINETUNE`): pretrains a small MAE per
 * domain and seed as `bench:finetune` does, then fine-tunes that one encoder with each variant
 * of the recipe — the studio's own `trainClassifier`, LP-FT head, 200 steps at batch 16 — and
 * prints the accuracy on the validation images with its Wilson 95% interval and n, the start (the
 * linear-probe head before any step) and the paired-bootstrap gains over that start and over the
 * raw pixels. `plain-random` is the sanity check: the random-init encoder, a near-zero head, plain
 * AdamW at lr 1e-3, no augmentation, drop path, layer decay or label smoothing.
 *
 *   node dist/bench/finetune-sweep.js [--domains digits,medical] [--seeds 1] [--variants a,b]
 *                                     [--steps 200] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { disposeModel } from '../app/mae/model';
import { selectBackend } from '../app/runtime/backend';
import { finetuneComparison, rawPixelBaseline } from '../app/train/finetune-baselines';
import { type FinetuneConfig, type FinetunePlan, validateFinetuneConfig } from '../app/train/finetune-plan';
import { trainClassifier } from '../app/train/finetune-train';
import { labelledSplits } from '../app/train/probe-data';
import { loadRunModel, randomInitModel } from '../app/train/probe-model';
import { Workspace } from '../app/workspace';
import { pretrainEncoder, SMALL_VIT_64 } from './finetune/pretrain';
import { gainText, scoreText } from './finetune/text';
import { prepareDomain } from './recipe/domains';
import { argument, flag, list } from './shared/options';

/**
 * The pretraining lengths this grid ran with (the studio's defaults then: digits 200 steps, medical
 * the demo's 300), kept so it reproduces the record in the README.
 */
const SWEEP_PRETRAIN_STEPS: Record<string, number> = { digits: 200, medical: 300 };

/** The paper's recipe as the studio ran it before this grid (peak lr 6e-5 at batch 16). */
const PAPER: Partial<FinetuneConfig> = {
  lrRule: 'linear',
  blr: 1e-3,
  layerDecay: 0.75,
  dropPath: 0.1,
  labelSmoothing: 0.1,
  cropScale: 0.2,
  flipProbability: 0.5,
  linearProbeInit: true,
};
const LIGHT = { ...PAPER, cropScale: 0.6, flipProbability: 0 };
const NONE = { ...PAPER, cropScale: 1, flipProbability: 0, dropPath: 0 };

const PLAIN_RANDOM: Partial<FinetuneConfig> & { randomInit?: boolean } = {
  randomInit: true,
  linearProbeInit: false,
  lrRule: 'fixed',
  blr: 1e-3,
  layerDecay: 1,
  dropPath: 0,
  labelSmoothing: 0,
  cropScale: 1,
  flipProbability: 0,
};

/** The grid: each variant overrides the paper's recipe; the first key of a name is what changed. */
const VARIANTS: Record<string, Partial<FinetuneConfig> & { randomInit?: boolean }> = {
  'plain-random': PLAIN_RANDOM,
  'plain-random-3e-4': { ...PLAIN_RANDOM, blr: 3e-4 },
  'plain-random-1e-4': { ...PLAIN_RANDOM, blr: 1e-4 },
  'plain-random-ls': { ...PLAIN_RANDOM, blr: 3e-4, labelSmoothing: 0.1, layerDecay: 0.75 },
  paper: PAPER,
  light: LIGHT,
  none: NONE,
  'light-floor': { ...LIGHT, lrRule: 'floor' },
  'none-floor': { ...NONE, lrRule: 'floor' },
  'none-dp': { ...NONE, dropPath: 0.1 },
  'none-ls0': { ...NONE, labelSmoothing: 0 },
  'none-flip': { ...NONE, flipProbability: 0.5 },
  'none-ld1': { ...NONE, layerDecay: 1 },
  'none-warm30': { ...NONE, warmupSteps: 60 },
};

async function main(): Promise<void> {
  const domains = list('domains', 'digits,medical');
  const seeds = list('seeds', '1').map(Number);
  const variants = list('variants', Object.keys(VARIANTS).join(','));
  for (const name of variants) if (!(name in VARIANTS)) throw new Error(`--variants: no variant ${name}`);
  const steps = Number(argument('steps', '200'));
  const json = flag('json');
  const trace = flag('trace');
  await selectBackend('native', {});
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-bench-finetune-sweep-'));
  console.log(
    `${'domain'.padEnd(8)}${'seed'.padStart(5)}${'n'.padStart(5)}  ${'variant'.padEnd(20)}${'LP start'.padEnd(19)}` +
      `${'fine-tuned'.padEnd(19)}${'gain vs start'.padEnd(22)}${'raw pixels'.padEnd(19)}` +
      `${'gain vs pixels'.padEnd(22)}s`,
  );
  try {
    for (const domain of domains) {
      const target = await prepareDomain(root, domain, { digitsPerClass: 1000, images: 400 });
      if (typeof target === 'string') {
        console.log(target);
        continue;
      }
      for (const seed of seeds) {
        const runId = await pretrainEncoder(target, domain, seed, {
          ...SMALL_VIT_64,
          steps: SWEEP_PRETRAIN_STEPS[domain],
        });
        const workspace = new Workspace(target.dir);
        try {
          for (const name of variants) {
            const { randomInit, ...overrides } = VARIANTS[name]!;
            const config: FinetunePlan = {
              ...validateFinetuneConfig({ ...overrides, steps, seed, backend: 'native' }),
              pretrainRunId: runId,
            };
            const loaded = await loadRunModel(workspace, runId);
            const model = randomInit ? randomInitModel(loaded.plan) : loaded.model;
            const splits = labelledSplits(workspace, loaded.plan);
            const started = Date.now();
            const outcome = await trainClassifier(model, loaded.plan, splits, config, {
              evaluations: 1,
              onStep: (step, loss, lr) => {
                if (trace && step % 25 === 0)
                  console.log(`    step ${step} loss ${loss.toFixed(3)} lr ${lr.toExponential(1)}`);
              },
            });
            const seconds = (Date.now() - started) / 1000;
            const pixels = await rawPixelBaseline(loaded.plan, splits);
            const comparison = finetuneComparison({
              splits,
              seed: loaded.plan.recipe.seed,
              finetuned: outcome.predicted!,
              randomInit: null,
              rawPixels: pixels.predicted,
              start: outcome.start?.predicted ?? null,
            });
            tf.dispose([outcome.head.weight, outcome.head.bias]);
            if (randomInit) disposeModel(model);
            loaded.dispose();
            const row = {
              domain,
              seed,
              n: splits.val.length,
              variant: name,
              start: outcome.start?.scores ?? null,
              finetuned: outcome.scores,
              rawPixels: pixels.scores,
              gain: comparison.gain,
              lastLoss: outcome.lastLoss,
              seconds,
            };
            if (json) console.log(JSON.stringify(row));
            console.log(
              `${domain.padEnd(8)}${String(seed).padStart(5)}${String(row.n).padStart(5)}  ${name.padEnd(20)}` +
                `${scoreText(row.start).padEnd(19)}${scoreText(row.finetuned).padEnd(19)}` +
                `${gainText(row.gain.start).padEnd(22)}${scoreText(row.rawPixels).padEnd(19)}` +
                `${gainText(row.gain.rawPixels).padEnd(22)}${seconds.toFixed(0)}`,
            );
          }
        } finally {
          workspace.close();
        }
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});
