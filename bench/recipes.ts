/**
 * Does a domain recipe pay? Pretrains the plain MAE and every recipe that applies to a sample
 * domain with the same model, batch, steps, seed and split, then scores each frozen encoder with
 * a linear probe and kNN on the held-out split, and prints accuracy with its 95 % Wilson interval
 * and n, and each recipe's gain over the plain MAE with a paired-bootstrap 95 % interval.
 *
 *   node dist/bench/recipes.js [--domains sentinel-2,cell-painting] [--seeds 1,2] [--steps 200]
 *                              [--batch 16] [--recipes mae,fgmae,satmae,camae,hpm,deblur] [--json] [--keep DIR]
 *                              [--save FILE.jsonl] [--from A.jsonl,B.jsonl] [--rescore DIR]
 *
 * --save appends each run (with its per-image right/wrong) as a JSON line as soon as it is scored; --from prints
 * the table of saved runs instead of training (seeds run in separate processes, or a bench cut short); --rescore
 * scores the workspaces a bench left under DIR (--keep, or stopped before its table) and prints their table.
 *
 * Seed s draws the sample with seed s (new images) and trains every run with seed s (same split,
 * same initialisation where the architectures agree), so the rows of one seed are scored on the
 * same images and the pooled n counts distinct images. Every run goes through the studio's own
 * path: import → planPretrain → executePretrain → planProbe / executeProbe (linear probe on
 * mean-pooled tokens of the best block chosen on the training split, as the app probes). The
 * per-image right/wrong that the paired intervals need is re-fitted from the features the probe
 * stored (and checked to give the accuracy it reported); kNN is fitted on the same features.
 * Model: ViT 192d×4 @64 px, patch 16, decoder 128×2, mask 75 %, the app's default lr rule (floor).
 *
 * A recipe is one entry of `BENCH_RECIPES` (bench/recipes/setup.ts): its pretraining options and the domains it is
 * made for.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepare, type RunResult, type Scored, train } from './recipes/runs';
import { readSavedRuns, rescore, saveRun } from './recipes/saved';
import { BENCH_DOMAINS, BENCH_RECIPES, DEFAULT_BENCH } from './recipes/setup';
import { percent, summaryTable } from './recipes/table';
import { argument, flag, list } from './shared/options';

async function main(): Promise<void> {
  const domains = list('domains', 'sentinel-2,cell-painting'); // medical (deblurring) on request
  for (const name of domains)
    if (!BENCH_DOMAINS[name])
      throw new Error(`--domains: ${name} is not one of ${Object.keys(BENCH_DOMAINS).join(', ')}`);
  const seeds = list('seeds', DEFAULT_BENCH.seeds.join(',')).map(Number);
  const steps = Number(argument('steps', String(DEFAULT_BENCH.steps)));
  const batchSize = Number(argument('batch', String(DEFAULT_BENCH.batchSize)));
  const chosen = list('recipes', BENCH_RECIPES.map((recipe) => recipe.name).join(','));
  for (const name of chosen)
    if (!BENCH_RECIPES.some((recipe) => recipe.name === name))
      throw new Error(`--recipes: ${name} is not one of ${BENCH_RECIPES.map((recipe) => recipe.name).join(', ')}`);
  if (!chosen.includes('mae')) throw new Error('--recipes must include mae: every gain is measured against it');
  const recipes = BENCH_RECIPES.filter((recipe) => chosen.includes(recipe.name));
  const json = flag('json');
  const log = (line: string): void => {
    if (!json) console.log(line);
  };
  const keep = flag('keep') ? path.resolve(argument('keep', 'bench-recipes')) : null;
  const started = Date.now();
  const save = flag('save') ? path.resolve(argument('save', 'recipes.jsonl')) : null;
  const saved = (run: RunResult): RunResult => saveRun(save, run);
  // Runs of earlier benches: their --save files, or the workspaces they left (--keep, or stopped before the table).
  const runs: RunResult[] = [
    ...readSavedRuns(list('from', '')),
    ...(flag('rescore') ? (await rescore(path.resolve(argument('rescore', '.')))).map(saved) : []),
  ];
  if (runs.length > 0) {
    const table = summaryTable(runs, [...new Set(runs.map((run) => run.domain))], recipes);
    log(`${runs.length} runs read (seeds ${[...new Set(runs.map((run) => run.seed))].join(', ')}):\n${table}`);
    return;
  }
  log(
    `ViT 192d×4 @64, patch 16, decoder 128×2, mask 75 %, batch ${batchSize}, ${steps} steps, floor lr rule; ` +
      `seeds ${seeds.join(', ')} (sample and run); probes fitted on 70 %, scored on 30 % of each sample`,
  );
  const root = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mae-bench-recipes-'));
  try {
    for (const name of domains) {
      const spec = BENCH_DOMAINS[name]!;
      for (const seed of seeds) {
        const target = await prepare(root, name, seed);
        for (const recipe of recipes.filter((candidate) => candidate.applies(spec.domain, spec.channels))) {
          const run = saved(await train(target, name, recipe, seed, { steps, batchSize }));
          runs.push(run);
          const shown = (score: Scored | undefined) => (score ? percent(score.accuracy) : '–');
          log(
            `${name} seed ${seed} ${recipe.name.padEnd(7)} ${run.status}  ` +
              `val loss ${run.valLoss?.toFixed(3) ?? '–'}  linear ${shown(run.linear ?? undefined)}  ` +
              `kNN ${shown(run.knn ?? undefined)}  (random init ${shown(run.baselines?.randomInit.linear)} / ` +
              `${shown(run.baselines?.randomInit.knn)})  ${run.seconds.toFixed(0)} s ` +
              `(pretraining ${run.pretrainSeconds.toFixed(0)} s)`,
          );
        }
      }
    }
  } finally {
    if (!keep) fs.rmSync(root, { recursive: true, force: true });
  }
  log(`\nPooled over seeds ${seeds.join(', ')}; ${summaryTable(runs, domains, recipes)}`);
  log(`\n${runs.length} runs in ${((Date.now() - started) / 60000).toFixed(1)} min`);
  if (json) console.log(JSON.stringify({ steps, batchSize, seeds, runs }, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});
