/**
 * One run of `bench:recipes`: a sample domain imported into a workspace, a recipe pretrained on it through the
 * studio's own plan/execute path, and its frozen encoder scored by the app's linear probe and by kNN on the
 * features that probe stored, each scored image right or wrong (what the paired intervals need).
 */
import path from 'node:path';
import { importFolders } from '../../app/data/import/import';
import { DEFAULT_KNN } from '../../app/train/knn';
import { planPretrain } from '../../app/train/pretrain-plan';
import { executePretrain } from '../../app/train/pretrain-run';
import { probeFeaturesPath, readProbeFeatures } from '../../app/train/probe-cache';
import { probePredictor } from '../../app/train/probe-predictor';
import { executeProbe, planProbe } from '../../app/train/probe-run';
import { Workspace } from '../../app/workspace';
import { BENCH_DOMAINS, type BenchRecipe, DEFAULT_BENCH } from './setup';

/** One probe's outcome on one run: which scored images it got right. */
export interface Scored {
  right: boolean[];
  accuracy: number;
}

/** One run: a recipe on one domain and seed. */
export interface RunResult {
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

/** Writes seed `seed`'s images of domain `name` under `root` and imports them into a fresh workspace there. */
export async function prepare(root: string, name: string, seed: number): Promise<{ dir: string; projectId: number }> {
  const spec = BENCH_DOMAINS[name]!;
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
export async function scoreProbe(
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

/** The last validation loss a run recorded, or null. */
export function lastValLoss(dir: string, runId: number): number | null {
  const read = new Workspace(dir);
  const loss = read.db
    .prepare("SELECT value FROM metrics WHERE run_id = ? AND name = 'val_loss' ORDER BY step DESC LIMIT 1")
    .get(runId) as { value: number } | undefined;
  read.close();
  return loss?.value ?? null;
}

/** Pretrains `recipe` on the prepared workspace with the shared model and this budget, then probes it. */
export async function train(
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
  row.valLoss = lastValLoss(target.dir, runId);
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
