/**
 * Fine-tuning against the raw pixels: pretrains a small MAE with the default recipe, fine-tunes
 * it with the studio's own fine-tuning run — which also fine-tunes the same encoder from its
 * random initialisation with the same budget and fits the probe's linear model on the raw
 * pixels, all scored on the run's validation images — and prints each accuracy with its Wilson
 * 95% interval and n, and the paired-bootstrap gains over both baselines. The linear probe of the
 * same pretrained run is printed beside it, for reference.
 *
 *   node dist/bench/finetune.js [--domains digits,medical] [--seeds 1,2] [--digits-per-class 1000]
 *                               [--images 400] [--finetune-steps N] [--finetune-batch N] [--finetune-blr B]
 *                               [--finetune-crop S] [--finetune-drop-path P] [--head probe|paper]
 *                               [--pretrain-steps N | --pretrain-epochs N] [--depth 4] [--decoder 128x2]
 *                               [--img-size 64]
 *                               [--no-probe] [--json] [--keep DIR]
 *
 * Pretraining recipes (mask 75%, the floor lr rule, val share 0.3), on the model the studio sizes to
 * the project when it is left unset (`model-sizing.ts`), for the studio's default length
 * (`DEFAULT_PRETRAIN.epochs` of the training images): digits — bench:recipe's default, patch 16,
 * norm-pix on, batch 8, on all 1 797 of scikit-learn's digits (32 px: ViT 192d×4, decoder 128×2 @64
 * px); medical — the demo's, patch 16, norm-pix off, batch 16, on 400 generated CT-like slices (96 px:
 * the same @96 px). `--depth`, `--decoder` and `--img-size` size the model instead. Fine-tuning: the
 * studio's defaults (`DEFAULT_FINETUNE`: steps, batch, lr rule and blr, layer decay, label smoothing,
 * whole images — no crops, flips or drop path), the bench's seed; each option
 * above overrides one of them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClassificationScores, FinetuneReport } from '../app/contract';
import { planFinetune } from '../app/train/finetune-plan';
import { executeFinetune } from '../app/train/finetune-run';
import { executeProbe, planProbe } from '../app/train/probe-run';
import { Workspace } from '../app/workspace';
import { FINETUNE_PRETRAIN_RECIPES, pretrainEncoder } from './finetune/pretrain';
import { gainText, percent, scoreText } from './finetune/text';
import { prepareDomain } from './recipe/domains';
import { argument, flag, list } from './shared/options';

interface Row {
  domain: string;
  seed: number;
  valImages: number;
  trainImages: number;
  finetuned: ClassificationScores;
  /** The probe-started head before any step (LP-FT), on the same images. */
  start: ClassificationScores | null;
  randomInit: ClassificationScores | null;
  rawPixels: ClassificationScores | null;
  gain: FinetuneReport['gain'] | null;
  warnings: string[];
  /** The same pretrained run's linear probe (best block), for reference. */
  probe: number | null;
  pretrainLoss: number | null;
  seconds: { pretrain: number; finetune: number };
}

async function measure(target: { dir: string; projectId: number }, domain: string, seed: number): Promise<Row> {
  let started = Date.now();
  const pretrainId = await pretrainEncoder(target, domain, seed, {
    ...(flag('pretrain-steps') && { steps: Number(argument('pretrain-steps', '')) }),
    ...(flag('pretrain-epochs') && { epochs: Number(argument('pretrain-epochs', '')) }),
    // `--depth 12 --decoder 512x8`: the studio's default ViT-Tiny and decoder instead of the bench's small ones
    ...(flag('depth') && { depth: Number(argument('depth', '')) }),
    ...(flag('decoder') && { decoder: argument('decoder', '') }),
    ...(flag('img-size') && { imgSize: Number(argument('img-size', '')) }),
  });
  const pretrainSeconds = (Date.now() - started) / 1000;
  let probe: number | null = null;
  if (!flag('no-probe')) {
    const workspace = new Workspace(target.dir);
    let probeId: number;
    try {
      probeId = planProbe(workspace, pretrainId, { method: 'linear', backend: 'native' });
    } finally {
      workspace.close();
    }
    probe = (await executeProbe(target.dir, probeId)).pretrained.accuracy;
  }
  started = Date.now();
  const workspace = new Workspace(target.dir);
  let finetuneId: number;
  try {
    finetuneId = planFinetune(workspace, pretrainId, {
      seed,
      backend: 'native',
      ...(flag('finetune-steps') && { steps: Number(argument('finetune-steps', '')) }),
      ...(flag('finetune-batch') && { batchSize: Number(argument('finetune-batch', '')) }),
      ...(flag('finetune-blr') && { blr: Number(argument('finetune-blr', '')) }),
      ...(flag('finetune-crop') && { cropScale: Number(argument('finetune-crop', '1')) }),
      ...(flag('finetune-drop-path') && { dropPath: Number(argument('finetune-drop-path', '0')) }),
      // `--head paper`: the paper's near-zero head instead of the linear probe's (LP-FT, the default)
      linearProbeInit: argument('head', 'probe') === 'probe',
    });
  } finally {
    workspace.close();
  }
  const finished = await executeFinetune(target.dir, finetuneId, {});
  if (finished.status !== 'completed') throw new Error(`${domain} seed ${seed}: fine-tuning ${finished.status}`);
  const read = new Workspace(target.dir);
  try {
    const report = read.runs.get(finetuneId).result as FinetuneReport;
    const losses = read.runs.metrics(pretrainId, 'val_loss');
    return {
      domain,
      seed,
      valImages: report.valImages,
      trainImages: report.trainImages,
      finetuned: report.scores,
      start: report.start ?? null,
      randomInit: report.randomInit ?? null,
      rawPixels: report.rawPixels ?? null,
      gain: report.gain ?? null,
      warnings: report.warnings ?? [],
      probe,
      pretrainLoss: losses.at(-1)?.value ?? null,
      seconds: { pretrain: pretrainSeconds, finetune: (Date.now() - started) / 1000 },
    };
  } finally {
    read.close();
  }
}

async function main(): Promise<void> {
  const domains = list('domains', 'digits,medical');
  const seeds = list('seeds', '1,2').map(Number);
  const json = flag('json');
  const log = (line: string): void => {
    if (!json) console.log(line);
  };
  for (const domain of domains)
    if (!(domain in FINETUNE_PRETRAIN_RECIPES))
      throw new Error(`--domains: ${domain} is not one of ${Object.keys(FINETUNE_PRETRAIN_RECIPES).join(', ')}`);
  const keep = flag('keep') ? path.resolve(argument('keep', 'bench-finetune')) : null;
  const root = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mae-bench-finetune-'));
  log(
    'accuracy on the validation split [Wilson 95%]; gain = fine-tuned pretrained − baseline ' +
      '[paired bootstrap 95%]; probe = linear probe of the same pretrained encoder (best block); ' +
      'LP start = the fine-tune before its first step (the head fitted as a probe on the last block)',
  );
  log(
    `${'domain'.padEnd(9)}${'seed'.padStart(5)}${'n'.padStart(6)}  ${'fine-tuned'.padEnd(19)}` +
      `${'random init ft'.padEnd(19)}${'raw pixels'.padEnd(19)}${'gain vs pixels'.padEnd(22)}` +
      `${'gain vs random init'.padEnd(22)}${'probe'.padStart(6)}  ${'LP start'.padEnd(19)}` +
      `${'gain vs start'.padEnd(22)}s (pretrain + fine-tune)`,
  );
  const rows: Row[] = [];
  try {
    for (const domain of domains) {
      const target = await prepareDomain(root, domain, {
        digitsPerClass: Number(argument('digits-per-class', '1000')),
        images: Number(argument('images', '400')),
      });
      if (typeof target === 'string') {
        log(target);
        continue;
      }
      for (const seed of seeds) {
        const row = await measure(target, domain, seed);
        rows.push(row);
        log(
          `${domain.padEnd(9)}${String(seed).padStart(5)}${String(row.valImages).padStart(6)}  ` +
            `${scoreText(row.finetuned).padEnd(19)}${scoreText(row.randomInit).padEnd(19)}` +
            `${scoreText(row.rawPixels).padEnd(19)}${gainText(row.gain?.rawPixels).padEnd(22)}` +
            `${gainText(row.gain?.randomInit).padEnd(22)}${percent(row.probe).padStart(6)}  ` +
            `${scoreText(row.start).padEnd(19)}${gainText(row.gain?.start).padEnd(22)}` +
            `${row.seconds.pretrain.toFixed(0)} + ${row.seconds.finetune.toFixed(0)}`,
        );
        for (const warning of row.warnings) log(`    warning: ${warning}`);
      }
    }
  } finally {
    if (!keep) fs.rmSync(root, { recursive: true, force: true });
  }
  if (json) console.log(JSON.stringify({ rows }, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});
