/**
 * Learning-rate rule benchmark: pretrains a small MAE with each lr rule on the three generated
 * sample domains and a folder of real images (scikit-learn's handwritten digits, when
 * python3-sklearn is installed), at several batch sizes and seeds, and prints per run the final
 * validation loss and what a linear probe and kNN on the frozen encoder score — so the default
 * rule is chosen by measurement and the choice can be re-checked.
 *
 *   node dist/bench/recipe.js [--domains medical,microscopy,remote-sensing,digits] [--batches 8,32]
 *                             [--seeds 1,2] [--steps 200] [--rules linear,sqrt,fixed:1e-3,floor]
 *                             [--preset vit-tiny|vit-small] [--json] [--keep DIR]
 *                             [--img 64] [--patch 16] [--mask 0.75] [--norm-pix default|on|off]
 *                             [--pooling mean|cls] [--block best|N] [--digits-per-class 40]
 *                             [--images N (generated samples; default 160, microscopy 150)]
 *
 * Every run goes through the studio's own path: planPretrain (the rule, its default blr, 5%
 * warmup, cosine) → executePretrain → planProbe / executeProbe (linear probe and kNN k = 20 on
 * mean-pooled tokens, fitted on the run's train split, scored on its validation split).
 * Model: ViT 192d×4 (vit-small: 384d×4) @64 px, patch 16, decoder 128×2, mask 75%, as the demo;
 * `--img`, `--patch`, `--mask`, `--norm-pix` and the probe's `--pooling` / `--block` try other
 * recipes. Every probe also scores the raw pixels (16×16 per channel, the same probe), so a recipe
 * is judged against the pixels as well as the random init; the gain over the pixels comes with its
 * paired-bootstrap 95% interval. A rule may carry its own base lr: `--rules fixed:1e-3,sqrt:4e-3`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AccuracyGain } from '../app/contract';
import { DEFAULT_BLR } from '../app/train/config';
import { planPretrain } from '../app/train/pretrain-plan';
import { executePretrain } from '../app/train/pretrain-run';
import type { Pooling } from '../app/train/probe-model';
import { executeProbe, planProbe } from '../app/train/probe-run';
import { LR_RULES, formatLearningRate, peakLearningRate, type LrRuleName } from '../app/train/schedule';
import { Workspace } from '../app/workspace';
import { prepareDomain } from './recipe/domains';
import { argument, flag, list } from './shared/options';

// 400 of the 1797 digits by default: 280 to fit the probes on, 120 to score (`--digits-per-class`).
const DIGITS_PER_CLASS = Number(argument('digits-per-class', '40'));

interface Row {
  domain: string;
  batch: number;
  seed: number;
  rule: string;
  blr: number;
  peakLr: number;
  status: string;
  valLoss: number | null;
  trainLoss: number | null;
  linear: number | null;
  knn: number | null;
  linearRandomInit: number | null;
  knnRandomInit: number | null;
  linearPixels: number | null;
  knnPixels: number | null;
  /** Pretrained minus raw pixels, with its paired-bootstrap 95% interval. */
  linearGainPixels: AccuracyGain | null;
  knnGainPixels: AccuracyGain | null;
  linearBlock: number | null;
  knnBlock: number | null;
  seconds: number;
}

/** The recipe and probe read-out every run of one bench invocation shares. */
interface Variant {
  preset: string;
  imgSize: number;
  patchSize: number;
  maskRatio: number;
  /** undefined: the studio's default (DEFAULT_MAE_CONFIG). */
  normPixLoss: boolean | undefined;
  pooling: Pooling;
  block: number | 'best';
}

/** One rule spec: `sqrt` (its default base lr) or `sqrt:4e-3`. */
function parseRule(spec: string): { rule: LrRuleName; blr: number } {
  const [name, value] = spec.split(':') as [string, string | undefined];
  if (!(LR_RULES as readonly string[]).includes(name))
    throw new Error(`--rules: ${name} is not one of ${LR_RULES.join(', ')}`);
  const blr = value === undefined ? DEFAULT_BLR[name as LrRuleName] : Number(value);
  if (!(blr > 0)) throw new Error(`--rules: base lr of ${name} must be a positive number, got ${value}`);
  return { rule: name as LrRuleName, blr };
}

/** Pretrains one run, then scores it with a linear probe and kNN. */
async function measure(
  target: { dir: string; projectId: number },
  domain: string,
  batch: number,
  seed: number,
  rule: { rule: LrRuleName; blr: number },
  steps: number,
  variant: Variant,
): Promise<Row> {
  const started = Date.now();
  const workspace = new Workspace(target.dir);
  let runId: number;
  try {
    runId = planPretrain(workspace, target.projectId, {
      preset: variant.preset,
      imgSize: variant.imgSize,
      patchSize: variant.patchSize,
      maskRatio: variant.maskRatio,
      ...(variant.normPixLoss !== undefined && { normPixLoss: variant.normPixLoss }),
      depth: 4,
      decoder: '128x2',
      batchSize: batch,
      steps,
      lrRule: rule.rule,
      blr: rule.blr,
      seed,
      valFraction: 0.3,
      backend: 'native',
    }).runId;
  } finally {
    workspace.close();
  }
  const result = await executePretrain(target.dir, runId, { log: () => {} });
  const row: Row = {
    domain,
    batch,
    seed,
    rule: rule.rule,
    blr: rule.blr,
    peakLr: peakLearningRate(rule.rule, rule.blr, batch),
    status: result.status,
    valLoss: null,
    trainLoss: null,
    linear: null,
    knn: null,
    linearRandomInit: null,
    knnRandomInit: null,
    linearPixels: null,
    knnPixels: null,
    linearGainPixels: null,
    knnGainPixels: null,
    linearBlock: null,
    knnBlock: null,
    seconds: 0,
  };
  const read = new Workspace(target.dir);
  try {
    const metrics = read.db
      .prepare('SELECT name, value FROM metrics WHERE run_id = ? AND name IN (?, ?) ORDER BY step')
      .all(runId, 'val_loss', 'train_loss') as { name: string; value: number }[];
    row.valLoss = metrics.filter((m) => m.name === 'val_loss').at(-1)?.value ?? null;
    const train = metrics
      .filter((m) => m.name === 'train_loss')
      .slice(-20)
      .map((m) => m.value);
    row.trainLoss = train.length ? train.reduce((a, b) => a + b, 0) / train.length : null;
  } finally {
    read.close();
  }
  if (result.status === 'completed') {
    for (const method of ['linear', 'knn'] as const) {
      const probeWorkspace = new Workspace(target.dir);
      let probeId: number;
      try {
        probeId = planProbe(probeWorkspace, runId, {
          method,
          backend: 'native',
          pooling: variant.pooling,
          block: variant.block,
        });
      } finally {
        probeWorkspace.close();
      }
      const report = await executeProbe(target.dir, probeId, () => {});
      row[method] = report.pretrained.accuracy;
      row[method === 'linear' ? 'linearRandomInit' : 'knnRandomInit'] = report.randomInit.accuracy;
      row[method === 'linear' ? 'linearPixels' : 'knnPixels'] = report.rawPixels?.accuracy ?? null;
      row[method === 'linear' ? 'linearGainPixels' : 'knnGainPixels'] = report.gain?.rawPixels ?? null;
      row[method === 'linear' ? 'linearBlock' : 'knnBlock'] = report.block?.chosen ?? null;
    }
  }
  row.seconds = (Date.now() - started) / 1000;
  return row;
}

const cell = (value: number | null, digits = 3): string => (value === null ? '–' : value.toFixed(digits));
const percent = (value: number | null): string => (value === null ? '–' : `${(value * 100).toFixed(1)}%`);
const points = (value: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(1)}`;
const gainText = (gain: AccuracyGain | null): string =>
  gain === null ? '–' : `${points(gain.estimate)} [${points(gain.low)}, ${points(gain.high)}]`;
const mean = (values: (number | null)[]): number | null => {
  const real = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return real.length === values.length && real.length > 0 ? real.reduce((a, b) => a + b, 0) / real.length : null;
};

async function main(): Promise<void> {
  const domains = list('domains', 'medical,microscopy,remote-sensing,digits');
  const batches = list('batches', '8,32').map(Number);
  const seeds = list('seeds', '1,2').map(Number);
  const steps = Number(argument('steps', '200'));
  const preset = argument('preset', 'vit-tiny');
  const normPix = argument('norm-pix', 'default');
  if (!['default', 'on', 'off'].includes(normPix)) throw new Error(`--norm-pix must be default, on or off`);
  const block = argument('block', 'best');
  const variant: Variant = {
    preset,
    imgSize: Number(argument('img', '64')),
    patchSize: Number(argument('patch', '16')),
    maskRatio: Number(argument('mask', '0.75')),
    normPixLoss: normPix === 'default' ? undefined : normPix === 'on',
    pooling: argument('pooling', 'mean') as Pooling,
    block: block === 'best' ? 'best' : Number(block),
  };
  const tokens = (variant.imgSize / variant.patchSize) ** 2;
  // fixed at 1e-3: the floor's 3e-4 would repeat the floor's runs below batch 512.
  const rules = list('rules', 'linear,sqrt,fixed:1e-3,floor').map(parseRule);
  const json = flag('json');
  const log = (line: string): void => {
    if (!json) console.log(line);
  };
  const keep = flag('keep') ? path.resolve(argument('keep', 'bench-recipe')) : null;
  const root = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mae-bench-recipe-'));
  log(
    `${preset === 'vit-small' ? 'ViT 384d×4' : 'ViT 192d×4'} @${variant.imgSize}, patch ${variant.patchSize} ` +
      `(${tokens} tokens, ${Math.round(tokens * (1 - variant.maskRatio))} visible at mask ${variant.maskRatio}), ` +
      `decoder 128×2, norm-pix ${normPix}, ${steps} steps, 5% warmup + cosine; probe ${variant.pooling}-pooled, ` +
      `block ${variant.block}; batches ${batches.join(', ')}; seeds ${seeds.join(', ')}`,
  );
  log(
    'loss = validation loss at the last step; linear / kNN = probe ' +
      'accuracy on the validation split; then random init and raw pixels (linear, kNN); ' +
      'gain = pretrained − pixels [paired 95% interval]',
  );
  log(
    `${'domain'.padEnd(15)}${'batch'.padStart(6)}${'seed'.padStart(5)}  ` +
      `${'rule'.padEnd(7)}${'blr'.padStart(8)}${'peak lr'.padStart(9)}` +
      `${'loss'.padStart(8)}${'linear'.padStart(8)}${'kNN'.padStart(8)}   random init   pixels        ` +
      `gain linear          gain kNN             s`,
  );
  const rows: Row[] = [];
  try {
    for (const domain of domains) {
      const target = await prepareDomain(root, domain, {
        digitsPerClass: DIGITS_PER_CLASS,
        images: flag('images') ? Number(argument('images', '')) : undefined,
      });
      if (typeof target === 'string') {
        log(target);
        continue;
      }
      for (const batch of batches) {
        for (const seed of seeds) {
          const cellRows: Row[] = [];
          for (const rule of rules) {
            // Two rules that give this batch the same peak lr train the very same run (same seed):
            // measure it once (e.g. floor and fixed below batch 1707).
            const peakLr = peakLearningRate(rule.rule, rule.blr, batch);
            const same = cellRows.find((other) => other.peakLr === peakLr);
            const row = same
              ? { ...same, rule: rule.rule, blr: rule.blr, seconds: 0 }
              : await measure(target, domain, batch, seed, rule, steps, variant);
            cellRows.push(row);
            rows.push(row);
            log(
              `${domain.padEnd(15)}${String(batch).padStart(6)}${String(seed).padStart(5)}  ` +
                `${rule.rule.padEnd(7)}${formatLearningRate(rule.blr).padStart(8)}` +
                `${formatLearningRate(row.peakLr).padStart(9)}` +
                `${cell(row.valLoss).padStart(8)}${percent(row.linear).padStart(8)}` +
                `${percent(row.knn).padStart(8)}   ` +
                `${percent(row.linearRandomInit)} ${percent(row.knnRandomInit)}   ` +
                `${percent(row.linearPixels)} ${percent(row.knnPixels)}   ` +
                `${gainText(row.linearGainPixels).padEnd(21)}${gainText(row.knnGainPixels).padEnd(21)}` +
                `${row.seconds.toFixed(0)}` +
                (row.status === 'completed' ? '' : `  ${row.status}`) +
                (row.seconds === 0 ? '  (same lr: same run as above)' : ''),
            );
          }
        }
      }
    }
  } finally {
    if (!keep) fs.rmSync(root, { recursive: true, force: true });
  }
  log('\nmean over seeds (and over domains in the last block):');
  log(
    `${'domain'.padEnd(15)}${'batch'.padStart(6)} ` +
      ` ${'rule'.padEnd(12)}${'loss'.padStart(8)}${'linear'.padStart(8)}${'kNN'.padStart(8)}` +
      `${'init lin'.padStart(10)}${'init kNN'.padStart(10)}${'pix lin'.padStart(9)}${'pix kNN'.padStart(9)}`,
  );
  const summary: Record<string, unknown>[] = [];
  const ruleName = (r: Row): string =>
    rules.filter((other) => other.rule === r.rule).length > 1 ? `${r.rule}:${formatLearningRate(r.blr)}` : r.rule;
  const groups = [
    ...new Set(rows.map((r) => `${r.domain}|${r.batch}|${ruleName(r)}`)),
    ...new Set(rows.map((r) => `all|${r.batch}|${ruleName(r)}`)),
  ];
  for (const key of groups) {
    const [domain, batch, rule] = key.split('|') as [string, string, string];
    const group = rows.filter(
      (r) => (domain === 'all' || r.domain === domain) && String(r.batch) === batch && ruleName(r) === rule,
    );
    const entry = {
      domain,
      batch: Number(batch),
      rule,
      runs: group.length,
      valLoss: mean(group.map((r) => r.valLoss)),
      linear: mean(group.map((r) => r.linear)),
      knn: mean(group.map((r) => r.knn)),
      linearRandomInit: mean(group.map((r) => r.linearRandomInit)),
      knnRandomInit: mean(group.map((r) => r.knnRandomInit)),
      linearPixels: mean(group.map((r) => r.linearPixels)),
      knnPixels: mean(group.map((r) => r.knnPixels)),
    };
    summary.push(entry);
    log(
      `${domain.padEnd(15)}${batch.padStart(6)}  ` +
        `${rule.padEnd(12)}${cell(entry.valLoss).padStart(8)}` +
        `${percent(entry.linear).padStart(8)}${percent(entry.knn).padStart(8)}` +
        `${percent(entry.linearRandomInit).padStart(10)}${percent(entry.knnRandomInit).padStart(10)}` +
        `${percent(entry.linearPixels).padStart(9)}${percent(entry.knnPixels).padStart(9)}`,
    );
  }
  if (json) console.log(JSON.stringify({ steps, variant, batches, seeds, rows, summary }, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});
