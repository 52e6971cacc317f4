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
 * A recipe is one entry of {@link BENCH_RECIPES}: its pretraining options and the domains it is made for.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Domain } from '../app/contract';
import { importFolders } from '../app/data/import/import';
import { writeSample } from '../app/data/synthetic/datasets';
import { MULTICHANNEL_SAMPLES, writeMultichannelSample } from '../app/data/synthetic/multichannel';
import { pairedBootstrap, wilsonInterval, type AccuracyGain, type Interval } from '../app/train/intervals';
import { planPretrain, type PretrainOptions } from '../app/train/pretrain-plan';
import { executePretrain } from '../app/train/pretrain-run';
import { probeFeaturesPath, readProbeFeatures } from '../app/train/probe-cache';
import { DEFAULT_KNN } from '../app/train/knn';
import { probePredictor } from '../app/train/probe-predictor';
import { executeProbe, planProbe } from '../app/train/probe-run';
import { Workspace } from '../app/workspace';
import { argument, list } from './shared/options';

/** One recipe the bench trains: its options on top of the shared ones, and where it applies. */
export interface BenchRecipe {
  name: string;
  options: Partial<PretrainOptions>;
  /** Whether it is made for images of this domain and channel count. */
  applies: (domain: Domain, channels: number) => boolean;
}

/** The recipes compared, the plain MAE first (the baseline every gain is measured against). */
export const BENCH_RECIPES: readonly BenchRecipe[] = [
  { name: 'mae', options: { domainRecipe: 'mae' }, applies: () => true },
  {
    name: 'fgmae',
    // The dialog's suggestion for named Sentinel-2 bands: HOG and the three indices.
    options: { domainRecipe: 'fgmae', featureTargets: ['hog', 'ndvi', 'ndwi', 'ndbi'] },
    applies: (domain, channels) => domain === 'remote-sensing' && channels >= 4,
  },
  {
    name: 'satmae',
    options: { domainRecipe: 'satmae' }, // the Sentinel-2 groups found by band name
    applies: (domain, channels) => domain === 'remote-sensing' && channels >= 4,
  },
  {
    name: 'camae',
    options: { domainRecipe: 'camae' },
    applies: (domain, channels) => domain === 'microscopy' && channels >= 4,
  },
  {
    name: 'hpm',
    // Hard-patch mining is about where to mask, not about the kind of image: every domain, α_T at its default.
    options: { domainRecipe: 'hpm' },
    applies: () => true,
  },
  {
    name: 'deblur',
    options: { domainRecipe: 'deblur' },
    applies: (domain, channels) => domain === 'medical' && channels === 1,
  },
];

/** A sample domain of the bench: a many-channel sample, or the built-in medical one (grey CT-like slices). */
interface BenchDomain {
  domain: Domain;
  channels: number;
  /** Images per seed. */
  count: number;
  write: (dir: string, seed: number, count: number) => Promise<unknown>;
}

const DOMAINS: Readonly<Record<string, BenchDomain>> = {
  'sentinel-2': {
    domain: 'remote-sensing',
    channels: MULTICHANNEL_SAMPLES['sentinel-2'].bandNames.length,
    count: 200,
    write: (dir, seed, count) => writeMultichannelSample(dir, { kind: 'sentinel-2', count, seed }),
  },
  'cell-painting': {
    domain: 'microscopy',
    channels: MULTICHANNEL_SAMPLES['cell-painting'].bandNames.length,
    count: 180,
    write: (dir, seed, count) => writeMultichannelSample(dir, { kind: 'cell-painting', count, seed }),
  },
  medical: {
    domain: 'medical',
    channels: 1,
    count: 160,
    write: (dir, seed, count) => writeSample(dir, { domain: 'medical', count, seed }),
  },
};

/** The model and budget every run shares. */
export const DEFAULT_BENCH = {
  // 200 × 16 = 3,200 images drawn, about 23 passes over the 140 (sentinel-2) or 126 (cell-painting) training
  // images of a seed: at 50 (the first default) the MAE was level with its own random init. SatMAE's step cost 20–60×
  // the MAE's on the CPU until the grouped encoder stopped gathering (bench/satmae.ts: now 1.2–1.9×).
  steps: 200,
  batchSize: 16,
  seeds: [1, 2],
  valFraction: 0.3, // 60 of 200 images scored per seed: intervals of about ±12 points
};

/** One probe's outcome on one run: which scored images it got right. */
interface Scored {
  right: boolean[];
  accuracy: number;
}

/** One run: a recipe on one domain and seed. */
interface RunResult {
  domain: string;
  recipe: string;
  seed: number;
  status: string;
  valLoss: number | null;
  seconds: number;
  /** Of `seconds`, the pretraining's (the rest is the two probes'). */
  pretrainSeconds: number;
  linear: Scored | null;
  knn: Scored | null;
  /** The random-init encoder and the raw pixels, under the same probe (kept from the plain MAE's run). */
  baselines: Record<'randomInit' | 'rawPixels', Record<'linear' | 'knn', Scored>> | null;
}

async function prepare(root: string, name: string, seed: number): Promise<{ dir: string; projectId: number }> {
  const spec = DOMAINS[name]!;
  const dir = path.join(root, `${name}-seed${seed}`);
  const images = path.join(dir, 'images');
  await spec.write(images, seed, spec.count);
  const workspace = new Workspace(path.join(dir, 'workspace'));
  try {
    const project = workspace.projects.create(`bench ${name}`, spec.domain);
    await importFolders({
      importId: name,
      projectId: project.id,
      folders: [images],
      images: workspace.images,
      projectDir: workspace.projectDir(project.id),
    });
    return { dir: path.join(dir, 'workspace'), projectId: project.id };
  } finally {
    workspace.close();
  }
}

/**
 * Runs the app's linear probe, then re-fits it from the features it stored to get each scored image
 * right or wrong (checked against the accuracy it reported), and fits kNN (k = 20, as the app's kNN
 * probe) on the same stored features: one encoder pass per run instead of two, at the block the
 * linear probe chose.
 */
async function probe(
  dir: string,
  projectId: number,
  runId: number,
): Promise<Record<'linear' | 'knn', Record<'pretrained' | 'randomInit' | 'rawPixels', Scored>>> {
  const workspace = new Workspace(dir);
  let probeId: number;
  try {
    probeId = planProbe(workspace, runId, { method: 'linear', backend: 'native' });
  } finally {
    workspace.close();
  }
  const report = await executeProbe(dir, probeId);
  return scoreProbe(dir, projectId, probeId, {
    pretrained: report.pretrained.accuracy,
    randomInit: report.randomInit.accuracy,
    rawPixels: report.rawPixels!.accuracy,
  });
}

/**
 * Re-fits a finished linear probe from the features it stored: each scored image right or wrong (checked
 * against the accuracies it reported, when given), and kNN on the same features.
 */
async function scoreProbe(
  dir: string,
  projectId: number,
  probeId: number,
  reported?: Record<'pretrained' | 'randomInit' | 'rawPixels', number>,
): Promise<Record<'linear' | 'knn', Record<'pretrained' | 'randomInit' | 'rawPixels', Scored>>> {
  const read = new Workspace(dir);
  const features = await readProbeFeatures(probeFeaturesPath(read.projectDir(projectId), probeId), probeId);
  read.close();
  const trainCount = features.train.labels.length;
  const score = (method: 'linear' | 'knn', rows: Float32Array, width: number, reported?: number): Scored => {
    const k = Math.min(DEFAULT_KNN.k, trainCount);
    const predicted = probePredictor({ method, k }, features.classes.length)(
      rows.subarray(0, trainCount * width),
      features.train.labels,
      rows.subarray(trainCount * width),
      width,
    );
    const right = predicted.map((label, i) => label === features.val.labels[i]);
    const accuracy = right.filter(Boolean).length / right.length;
    if (reported !== undefined && Math.abs(accuracy - reported) > 1e-9)
      throw new Error(`linear probe re-fit scored ${accuracy}, the probe reported ${reported}: not reproducible`);
    return { right, accuracy };
  };
  const all = (method: 'linear' | 'knn') => ({
    pretrained: score(
      method,
      features.pretrained,
      features.width,
      method === 'linear' ? reported?.pretrained : undefined,
    ),
    randomInit: score(
      method,
      features.randomInit,
      features.width,
      method === 'linear' ? reported?.randomInit : undefined,
    ),
    rawPixels: score(
      method,
      features.rawPixels,
      features.rawWidth,
      method === 'linear' ? reported?.rawPixels : undefined,
    ),
  });
  return { linear: all('linear'), knn: all('knn') };
}

async function train(
  target: { dir: string; projectId: number },
  domain: string,
  recipe: BenchRecipe,
  seed: number,
  budget: { steps: number; batchSize: number },
): Promise<RunResult> {
  const started = Date.now();
  const workspace = new Workspace(target.dir);
  let runId: number;
  try {
    runId = planPretrain(workspace, target.projectId, {
      preset: 'vit-tiny',
      imgSize: 64,
      patchSize: 16,
      depth: 4,
      decoder: '128x2',
      batchSize: budget.batchSize,
      steps: budget.steps,
      seed,
      valFraction: DEFAULT_BENCH.valFraction,
      backend: 'native',
      ...recipe.options,
    }).runId;
  } finally {
    workspace.close();
  }
  const result = await executePretrain(target.dir, runId, { log: () => {} });
  const pretrainSeconds = (Date.now() - started) / 1000;
  const row: RunResult = {
    domain,
    recipe: recipe.name,
    seed,
    status: result.status,
    valLoss: null,
    seconds: 0,
    pretrainSeconds,
    linear: null,
    knn: null,
    baselines: null,
  };
  const read = new Workspace(target.dir);
  const loss = read.db
    .prepare("SELECT value FROM metrics WHERE run_id = ? AND name = 'val_loss' ORDER BY step DESC LIMIT 1")
    .get(runId) as { value: number } | undefined;
  read.close();
  row.valLoss = loss?.value ?? null;
  if (result.status === 'completed') {
    const { linear, knn } = await probe(target.dir, target.projectId, runId);
    row.linear = linear.pretrained;
    row.knn = knn.pretrained;
    row.baselines = {
      randomInit: { linear: linear.randomInit, knn: knn.randomInit },
      rawPixels: { linear: linear.rawPixels, knn: knn.rawPixels },
    };
  }
  row.seconds = (Date.now() - started) / 1000;
  return row;
}

/**
 * The runs a bench left under `root` (`--keep`, or a bench stopped before its table): every completed
 * pretraining of each `<domain>-seed<s>` workspace whose linear probe finished, scored as the bench scores
 * them, with the times the runs' records give.
 */
async function rescore(root: string): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (const entry of fs.readdirSync(root).sort()) {
    const match = /^(.+)-seed(\d+)$/.exec(entry);
    if (!match || !DOMAINS[match[1]!]) continue;
    const dir = path.join(root, entry, 'workspace');
    const workspace = new Workspace(dir);
    const project = workspace.projects.list()[0]!;
    const records = workspace.runs.list(project.id).reverse();
    workspace.close();
    for (const run of records.filter((record) => record.kind === 'pretrain' && record.status === 'completed')) {
      const probe = records.find(
        (record) =>
          record.kind === 'probe' &&
          record.status === 'completed' &&
          (record.config as { pretrainRunId?: number }).pretrainRunId === run.id,
      );
      if (!probe) continue;
      const config = run.config as { recipe: { domainRecipe?: { name: string } } };
      const read = new Workspace(dir);
      const loss = read.db
        .prepare("SELECT value FROM metrics WHERE run_id = ? AND name = 'val_loss' ORDER BY step DESC LIMIT 1")
        .get(run.id) as { value: number } | undefined;
      read.close();
      const { linear, knn } = await scoreProbe(dir, project.id, probe.id);
      const seconds = (end: string | null) => (Date.parse(end ?? run.createdAt) - Date.parse(run.createdAt)) / 1000;
      runs.push({
        domain: match[1]!,
        recipe: config.recipe.domainRecipe?.name ?? 'mae',
        seed: Number(match[2]),
        status: run.status,
        valLoss: loss?.value ?? null,
        seconds: seconds(probe.finishedAt),
        pretrainSeconds: seconds(run.finishedAt),
        linear: linear.pretrained,
        knn: knn.pretrained,
        baselines: {
          randomInit: { linear: linear.randomInit, knn: knn.randomInit },
          rawPixels: { linear: linear.rawPixels, knn: knn.rawPixels },
        },
      });
    }
  }
  return runs;
}

/** Accuracy over the pooled seeds with its Wilson interval and n. */
function pooled(scores: Scored[]): { accuracy: number; interval: Interval; n: number } {
  const right = scores.flatMap((score) => score.right);
  const correct = right.filter(Boolean).length;
  return { accuracy: correct / right.length, interval: wilsonInterval(correct, right.length), n: right.length };
}

/** A's gain over B over the pooled seeds, paired per image. */
function gain(a: Scored[], b: Scored[]): AccuracyGain {
  return pairedBootstrap(
    a.flatMap((score) => score.right),
    b.flatMap((score) => score.right),
  );
}

const percent = (value: number): string => `${(value * 100).toFixed(1)}`;
const accuracyCell = (scores: Scored[]): string => {
  const { accuracy, interval, n } = pooled(scores);
  return `${percent(accuracy)} [${percent(interval.low)}, ${percent(interval.high)}] n=${n}`;
};
const gainCell = (value: AccuracyGain | null): string =>
  value === null
    ? '–'
    : `${value.estimate >= 0 ? '+' : ''}${percent(value.estimate)} [${percent(value.low)}, ${percent(value.high)}]` +
      (value.low > 0 || value.high < 0 ? ' *' : '');

/** Rows of the summary table of one domain: one per recipe, then the two baselines. */
function summarise(domain: string, runs: RunResult[], recipes: readonly string[]): string[][] {
  const ofRecipe = (name: string) =>
    // sorted by seed: the paired gains pair the runs of one seed
    runs.filter((run) => run.domain === domain && run.recipe === name && run.linear).sort((a, b) => a.seed - b.seed);
  const vanilla = ofRecipe('mae');
  const rows: string[][] = [];
  const add = (label: string, linear: Scored[], knn: Scored[], extra: string) => {
    if (linear.length === 0) return;
    const sameSeeds = linear.length === vanilla.length;
    rows.push([
      domain,
      label,
      accuracyCell(linear),
      label === 'mae' || !sameSeeds
        ? '–'
        : gainCell(
            gain(
              linear,
              vanilla.map((run) => run.linear!),
            ),
          ),
      accuracyCell(knn),
      label === 'mae' || !sameSeeds
        ? '–'
        : gainCell(
            gain(
              knn,
              vanilla.map((run) => run.knn!),
            ),
          ),
      extra,
    ]);
  };
  for (const name of recipes) {
    const done = ofRecipe(name);
    const losses = done.map((run) => run.valLoss?.toFixed(3) ?? '–').join(', ');
    const seconds = done.reduce((sum, run) => sum + run.seconds, 0) / Math.max(1, done.length);
    add(
      name,
      done.map((run) => run.linear!),
      done.map((run) => run.knn!),
      `${losses} · ${seconds.toFixed(0)} s`,
    );
  }
  for (const baseline of ['randomInit', 'rawPixels'] as const) {
    add(
      baseline === 'randomInit' ? 'random init' : 'raw pixels',
      vanilla.map((run) => run.baselines![baseline].linear),
      vanilla.map((run) => run.baselines![baseline].knn),
      '',
    );
  }
  return rows;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const domains = list('domains', 'sentinel-2,cell-painting'); // medical (deblurring) on request
  for (const name of domains)
    if (!DOMAINS[name]) throw new Error(`--domains: ${name} is not one of ${Object.keys(DOMAINS).join(', ')}`);
  const seeds = list('seeds', DEFAULT_BENCH.seeds.join(',')).map(Number);
  const steps = Number(argument('steps', String(DEFAULT_BENCH.steps)));
  const batchSize = Number(argument('batch', String(DEFAULT_BENCH.batchSize)));
  const chosen = list('recipes', BENCH_RECIPES.map((recipe) => recipe.name).join(','));
  for (const name of chosen)
    if (!BENCH_RECIPES.some((recipe) => recipe.name === name))
      throw new Error(`--recipes: ${name} is not one of ${BENCH_RECIPES.map((recipe) => recipe.name).join(', ')}`);
  if (!chosen.includes('mae')) throw new Error('--recipes must include mae: every gain is measured against it');
  const recipes = BENCH_RECIPES.filter((recipe) => chosen.includes(recipe.name));
  const json = process.argv.includes('--json');
  const log = (line: string): void => {
    if (!json) console.log(line);
  };
  const keep = process.argv.includes('--keep') ? path.resolve(argument('keep', 'bench-recipes')) : null;
  const started = Date.now();
  const save = process.argv.includes('--save') ? path.resolve(argument('save', 'recipes.jsonl')) : null;
  const saved = (run: RunResult): RunResult => {
    if (save) fs.appendFileSync(save, `${JSON.stringify(run)}\n`);
    return run;
  };
  // Runs of earlier benches: their --save files, or the workspaces they left (--keep, or stopped before the table).
  const runs: RunResult[] = [
    ...list('from', '').flatMap((file) =>
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as RunResult),
    ),
    ...(process.argv.includes('--rescore') ? (await rescore(path.resolve(argument('rescore', '.')))).map(saved) : []),
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
      const spec = DOMAINS[name]!;
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

/** The summary table of these runs, with its legend. */
function summaryTable(runs: RunResult[], domains: readonly string[], recipes: readonly BenchRecipe[]): string {
  const header = ['domain', 'recipe', 'linear % [95 % CI]', 'Δ linear vs MAE', 'kNN % [95 % CI]', 'Δ kNN vs MAE'];
  const names = recipes.map((recipe) => recipe.name);
  const rows = domains.flatMap((name) => summarise(name, runs, names));
  return (
    "Δ: paired bootstrap over the same scored images (shown where a recipe has the MAE's seeds), * = excludes 0.\n" +
    'Last column: final val loss per seed (recipes differ in what they regress) · mean seconds per run.\n' +
    table([...header, 'val loss · time'], rows)
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});
