/**
 * `mae-studio demo`: the whole journey on the built-in sample, stage by stage — generate,
 * import, pretrain a small MAE, probe it against its own random initialisation (linear probe
 * and kNN), export it as safetensors, ONNX and TF.js.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSample } from '../data/synthetic/datasets';
import { exportRun } from '../export/export-run';
import { EXPORT_FORMATS } from '../export/model-card';
import { startTraining } from '../train/host';
import { planPretrain } from '../train/pretrain-plan';
import { describeRecipeLr } from '../train/config';
import { planProbe, type ProbeOptions, type ProbeReport } from '../train/probe-run';
import type { PretrainOptions } from '../train/pretrain-plan';
import { gainText, percent } from '../train/probe-format';
import type { ClassificationScores } from '../train/probe-metrics';
import { probeReport } from '../train/run-records';
import { createOutput, parseCommand, positiveInt, UsageError } from './args';
import { withStudio } from './data-commands';

/**
 * Per sample: what it shows, how many images, and a recipe a 2-core laptop pretrains in a few
 * minutes (16 patches per image, 4 visible, batch 16: ~70 ms a step on the native backend, 2 cores). A 30%
 * validation split gives the probes enough images to be scored on (120 of the 400 CT slices).
 */
const DEMOS = {
  medical: {
    title: 'chest CT slices: bilateral cavitary (ring) vs solid (round) lung nodules among vessels (16-bit grey)',
    project: 'Demo: nodule shape',
    images: 400,
    // Loss on the pixels themselves: normalising each patch would make the noise of flat tissue
    // and air patches the target. The learning rate is the studio's default (DEFAULT_TRAIN_CONFIG).
    recipe: { imgSize: 64, patchSize: 16, depth: 4, decoder: '128x2', batchSize: 16, seed: 1, valFraction: 0.3, normPixLoss: false },
    describe: 'ViT 192d×4 @64px, patch 16, decoder 128×2, loss on pixels',
  },
  microscopy: {
    title: 'cells: round, spindle, clustered (16-bit, 3 channels)',
    project: 'Demo: cell morphology',
    images: 90,
    recipe: { imgSize: 32, patchSize: 8, depth: 4, decoder: '128x2', batchSize: 16, seed: 1, valFraction: 0.3 },
    describe: 'ViT 192d×4 @32px, patch 8, decoder 128×2',
  },
} satisfies Record<string, { title: string; project: string; images: number; recipe: PretrainOptions; describe: string }>;

/**
 * The probes the demo runs, each against the random init: the linear probe on every label, the
 * same with 20 labels per class (what pretraining buys when labels are scarce), and kNN.
 */
const PROBES: readonly [string, Partial<ProbeOptions>][] = [
  ['linear probe, every label', { method: 'linear' }],
  ['linear probe, 20 labels/class', { method: 'linear', labelsPerClass: 20 }],
  ['kNN (k = 20), every label', { method: 'knn' }],
];

/** `mae-studio demo [--workspace W] [--steps N] [--images N] [--domain medical|microscopy]` */
export async function demoCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('demo', argv, { workspace: { type: 'string' }, steps: { type: 'string' }, images: { type: 'string' }, domain: { type: 'string' } });
  const domain = (values.domain ?? 'medical') as keyof typeof DEMOS;
  if (!(domain in DEMOS)) throw new UsageError(`demo: --domain must be one of ${Object.keys(DEMOS).join(', ')}, got ${JSON.stringify(values.domain)}`);
  const demo = DEMOS[domain];
  const out = createOutput(values.json === true);
  const workspace = path.resolve(values.workspace ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mae-studio-demo-')));
  const steps = positiveInt('demo', 'steps', values.steps) ?? 300;
  const count = positiveInt('demo', 'images', values.images) ?? demo.images;
  const started = Date.now();
  const stage = (text: string) => out.progress(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${text}`, true);

  stage(`1/5 generating the ${domain} sample: ${demo.title}`);
  const sample = await writeSample(path.join(workspace, 'sample'), { domain, seed: 1, count });

  stage(`2/5 importing ${sample.files} images into a new project`);
  const { projectId, runId, imported, learningRate } = await withStudio(workspace, async (studio) => {
    const project = await studio.services.projects.create({ name: demo.project, domain });
    const result = await studio.runImport('demo', project.id, [sample.dir]);
    const { runId, plan } = planPretrain(studio.workspace, project.id, { ...demo.recipe, steps });
    const learningRate = describeRecipeLr(plan.recipe);
    return { projectId: project.id, runId, imported: result.imported, learningRate };
  });

  stage(`3/5 pretraining run ${runId}: ${demo.describe}, ${steps} steps, ${learningRate}`);
  let firstLoss: number | null = null;
  const result = await startTraining(workspace, runId, {
    onProgress: (progress) => {
      if (progress.type === 'started') stage(`training on ${progress.backend} (${progress.device})`);
      if (progress.type === 'step') {
        firstLoss ??= progress.loss;
        if (progress.step % 25 === 0) stage(`step ${progress.step}/${progress.totalSteps}  ` + `loss ${progress.loss.toFixed(4)}  ETA ${Math.round(progress.etaSeconds)} s`);
      }
      if (progress.type === 'validation') stage(`step ${progress.step}  validation loss ${progress.loss.toFixed(4)}`);
    },
  }).done;

  if (result.status !== 'completed') throw new Error(`pretraining run ${runId} ${result.status}: ${result.reason ?? ''}`);

  stage('4/5 probing the encoder against its random initialisation (linear probe on every label, on 20 per class, kNN)');
  const probes: { name: string; report: ProbeReport }[] = [];
  for (const [name, options] of PROBES) {
    const probeRunId = await withStudio(workspace, async (studio) => planProbe(studio.workspace, runId, options));
    await startTraining(workspace, probeRunId).done;
    const report = await withStudio(workspace, async (studio) => probeReport(studio.workspace.runs.get(probeRunId)));
    probes.push({ name, report });
    stage(`${name}: pretrained ${withInterval(report.pretrained)} vs random init ${withInterval(report.randomInit)} ` + `vs raw pixels ${report.rawPixels ? withInterval(report.rawPixels) : '—'} ` +
      `(block ${report.block?.chosen ?? '—'}, fitted on ${report.trainImages}, ` + `scored on ${report.valImages} validation images)`);
  }

  stage('5/5 exporting the encoder as safetensors (timm), ONNX and TF.js, each with a model card');
  const exports = await withStudio(workspace, async (studio) => {
    const written = [];
    for (const format of EXPORT_FORMATS) {
      const exported = await exportRun(studio.workspace, runId, format, path.join(workspace, 'exports', `run-${runId}-${format}`));
      stage(`${format}: ${exported.files.map((f) => `${f.name} (${(f.bytes / 1024).toFixed(0)} KiB)`).join(', ')} ` + `→ ${exported.dir}`);
      written.push({ format, dir: exported.dir, files: exported.files.map((f) => f.name) });
    }
    return written;
  });

  const summary = {
    workspace,
    projectId,
    imported,
    run: { id: runId, status: result.status, steps: result.step, firstLoss, finalLoss: result.finalLoss },
    probes: probes.map(({ name, report }) => ({
      name, method: report.method, k: report.k, labelsPerClass: report.labelsPerClass, block: report.block ?? null, trainImages: report.trainImages, valImages: report.valImages,
      accuracy: report.pretrained.accuracy, interval: report.pretrained.interval ?? null,
      baseline: {
        randomInit: report.randomInit.accuracy, randomInitInterval: report.randomInit.interval ?? null,
        rawPixels: report.rawPixels?.accuracy ?? null, rawPixelsInterval: report.rawPixels?.interval ?? null,
      },
      gain: report.gain ?? null, warnings: report.warnings ?? [],
    })),
    exports,
    seconds: (Date.now() - started) / 1000,
  };
  out.result(summary, () =>
    [
      `Demo finished in ${summary.seconds.toFixed(0)} s. Workspace: ${workspace}`,
      `  imported ${imported} images into project ${projectId}`,
      `  pretrained run ${runId}: loss ${firstLoss?.toFixed(4)} ` + `→ ${result.finalLoss?.toFixed(4)} over ${result.step} steps (${result.status})`,
      `  ${'probe'.padEnd(31)} ${'block'.padEnd(6)} ${'pretrained'.padEnd(21)} ` + `${'random init'.padEnd(21)} ${'raw pixels'.padEnd(21)} n val`,
      ...probes.map(({ name, report }) =>
        `  ${name.padEnd(31)} ${String(report.block?.chosen ?? '—').padEnd(6)} ` + `${withInterval(report.pretrained).padEnd(21)} ${withInterval(report.randomInit).padEnd(21)} ` +
        `${(report.rawPixels ? withInterval(report.rawPixels) : '—').padEnd(21)} ${report.valImages}`),
      '  (accuracy on the validation images, [95% Wilson interval]; ' + 'block chosen by cross-validation on the training images)',
      ...probes.flatMap(({ name, report }) => (report.gain ? [`  ${name}: gain over random init ${gainText(report.gain.randomInit)}, ` + `over raw pixels ${gainText(report.gain.rawPixels)}`] : [])),
      ...probes.flatMap(({ name, report }) => (report.warnings ?? []).map((warning) => `  warning (${name}): ${warning}`)),
      `  exports: ${exports.map((e) => e.dir).join(', ')}`,
      `Open it: mae-studio serve --workspace ${workspace}`,
    ].join('\n'),
  );
}

/** "71.7% [62.9–79.0]": the accuracy and its 95% interval. */
function withInterval(scores: ClassificationScores): string {
  return scores.interval ? `${percent(scores.accuracy)} ` + `[${(scores.interval.low * 100).toFixed(1)}–${(scores.interval.high * 100).toFixed(1)}]` : percent(scores.accuracy);
}
