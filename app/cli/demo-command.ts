/**
 * `mae-studio demo`: the whole journey on the built-in sample, stage by stage — generate,
 * import, pretrain a small MAE, probe it against its own random initialisation (linear probe
 * and kNN), export it as safetensors, ONNX and TF.js.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXPORT_FORMAT_NAMES, StudioError, type ProbeReport, type ProbeRequest, type Recipe } from '../contract';
import { writeSample } from '../data/synthetic/datasets';
import { gainText, percent } from '../train/probe-format';
import type { ClassificationScores } from '../train/probe-metrics';
import type { TrainingHost } from '../train/run-processes';
import { createOutput, parseCommand, positiveInt, UsageError } from './args';
import { importAndWait, withClient } from './client';

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
    // and air patches the target. The learning rate is the studio's default (DEFAULT_TRAIN_CONFIG),
    // the encoder's blocks and decoder the default sized to the project (model-sizing.ts: 4, 128×2).
    recipe: {
      imgSize: 64,
      patchSize: 16,
      batchSize: 16,
      seed: 1,
      valFraction: 0.3,
      normPixLoss: false,
    },
    describe: 'ViT 192d×4 @64px, patch 16, decoder 128×2, loss on pixels',
  },
  microscopy: {
    title: 'cells: round, spindle, clustered (16-bit, 3 channels)',
    project: 'Demo: cell morphology',
    images: 90,
    recipe: { imgSize: 32, patchSize: 8, batchSize: 16, seed: 1, valFraction: 0.3 },
    describe: 'ViT 192d×4 @32px, patch 8, decoder 128×2',
  },
} satisfies Record<string, { title: string; project: string; images: number; recipe: Recipe; describe: string }>;

/**
 * The probes the demo runs, each against the random init: the linear probe on every label, the
 * same with 20 labels per class (what pretraining buys when labels are scarce), and kNN.
 */
const PROBES: readonly [string, ProbeRequest][] = [
  ['linear probe, every label', { method: 'linear' }],
  ['linear probe, 20 labels/class', { method: 'linear', labelsPerClass: 20 }],
  ['kNN (k = 20), every label', { method: 'knn' }],
];

/** `mae-studio demo [--workspace W] [--steps N] [--images N] [--domain medical|microscopy]` */
export async function demoCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('demo', argv, {
    workspace: { type: 'string' },
    steps: { type: 'string' },
    images: { type: 'string' },
    domain: { type: 'string' },
  });
  const domain = (values.domain ?? 'medical') as keyof typeof DEMOS;
  if (!(domain in DEMOS))
    throw new UsageError(
      `demo: --domain must be one of ${Object.keys(DEMOS).join(', ')}, got ${JSON.stringify(values.domain)}`,
    );
  const demo = DEMOS[domain];
  const out = createOutput(values.json === true);
  const workspace = path.resolve(values.workspace ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mae-studio-demo-')));
  const steps = positiveInt('demo', 'steps', values.steps) ?? 300;
  const count = positiveInt('demo', 'images', values.images) ?? demo.images;
  const started = Date.now();
  const stage = (text: string) =>
    out.progress(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${text}`, true);

  stage(`1/5 generating the ${domain} sample: ${demo.title}`);
  const sample = await writeSample(path.join(workspace, 'sample'), { domain, seed: 1, count });

  let pretrainRunId: number | undefined;
  let firstLoss: number | null = null;
  // The demo prints its stages, the pretraining run's progress among them, and no process logs.
  const host: TrainingHost = {
    onProgress: (runId, progress) => {
      if (runId !== pretrainRunId) return;
      if (progress.type === 'started') stage(`training on ${progress.backend} (${progress.device})`);
      if (progress.type === 'step') {
        firstLoss ??= progress.loss;
        if (progress.step % 25 === 0)
          stage(
            `step ${progress.step}/${progress.totalSteps}  ` +
              `loss ${progress.loss.toFixed(4)}  ETA ${Math.round(progress.etaSeconds)} s`,
          );
      }
      if (progress.type === 'validation') stage(`step ${progress.step}  validation loss ${progress.loss.toFixed(4)}`);
    },
    onLog: () => {},
  };
  const { projectId, runId, imported, result, probes, exports } = await withClient(workspace, host, async (session) => {
    const { client } = session;
    stage(`2/5 importing ${sample.files} images into a new project`);
    const project = await client.projects.create({ name: demo.project, domain });
    const { imported } = await importAndWait(client, project.id, [sample.dir]);

    const recipe = { ...demo.recipe, steps };
    const { learningRate } = await client.training.check(project.id, recipe);
    const run = await client.training.start(project.id, recipe);
    pretrainRunId = run.id;
    stage(`3/5 pretraining run ${run.id}: ${demo.describe}, ${steps} steps, ${learningRate}`);
    const result = await session.finished(run.id, () => client.training.stop(run.id));
    if (result.status !== 'completed')
      throw new Error(`pretraining run ${run.id} ${result.status}: ${result.reason ?? ''}`);

    stage(
      '4/5 probing the encoder against its random initialisation (linear probe on every label, on 20 per class, kNN)',
    );
    const probes: { name: string; report: ProbeReport }[] = [];
    for (const [name, request] of PROBES) {
      const { runId: probeRunId } = await client.evaluation.probe(run.id, request);
      const ended = await session.finished(probeRunId, () => client.evaluation.stop(probeRunId));
      const report = (await client.evaluation.list(project.id)).find((record) => record.runId === probeRunId)?.probe;
      if (!report)
        throw new StudioError(
          'CONFLICT',
          `probe run ${probeRunId} has no report: it is ${ended.status}${ended.reason ? ` (${ended.reason})` : ''}`,
        );
      probes.push({ name, report });
      stage(
        `${name}: pretrained ${withInterval(report.pretrained)} vs random init ` +
          `${withInterval(report.randomInit)} vs raw ` +
          `pixels ${report.rawPixels ? withInterval(report.rawPixels) : '—'} ` +
          `(block ${report.block?.chosen ?? '—'}, fitted on ${report.trainImages}, ` +
          `scored on ${report.valImages} validation images)`,
      );
    }

    stage('5/5 exporting the encoder as safetensors (timm), ONNX and TF.js, each with a model card');
    const exports = [];
    for (const format of EXPORT_FORMAT_NAMES) {
      const exported = await client.exports.create(
        run.id,
        format,
        path.join(workspace, 'exports', `run-${run.id}-${format}`),
      );
      const weights = exported.files.filter((file) => file.name !== 'MODEL_CARD.md' && file.name !== 'model_card.json');
      stage(
        `${format}: ${weights.map((f) => `${f.name} (${(f.bytes / 1024).toFixed(0)} KiB)`).join(', ')}` +
          ` → ${exported.dir}`,
      );
      exports.push({ format, dir: exported.dir, files: weights.map((f) => f.name) });
    }
    return { projectId: project.id, runId: run.id, imported, result, probes, exports };
  });

  const summary = {
    workspace,
    projectId,
    imported,
    run: { id: runId, status: result.status, steps: result.step, firstLoss, finalLoss: result.finalLoss },
    probes: probes.map(({ name, report }) => ({
      name,
      method: report.method,
      k: report.k,
      labelsPerClass: report.labelsPerClass,
      block: report.block ?? null,
      trainImages: report.trainImages,
      valImages: report.valImages,
      accuracy: report.pretrained.accuracy,
      interval: report.pretrained.interval ?? null,
      baseline: {
        randomInit: report.randomInit.accuracy,
        randomInitInterval: report.randomInit.interval ?? null,
        rawPixels: report.rawPixels?.accuracy ?? null,
        rawPixelsInterval: report.rawPixels?.interval ?? null,
      },
      gain: report.gain ?? null,
      warnings: report.warnings ?? [],
    })),
    exports,
    seconds: (Date.now() - started) / 1000,
  };
  out.result(summary, () =>
    [
      `Demo finished in ${summary.seconds.toFixed(0)} s. Workspace: ${workspace}`,
      `  imported ${imported} images into project ${projectId}`,
      `  pretrained run ${runId}: loss ${firstLoss?.toFixed(4)} ` +
        `→ ${result.finalLoss?.toFixed(4)} over ${result.step} steps (${result.status})`,
      `  ${'probe'.padEnd(31)} ${'block'.padEnd(6)} ${'pretrained'.padEnd(21)} ` +
        `${'random init'.padEnd(21)} ${'raw pixels'.padEnd(21)} n val`,
      ...probes.map(
        ({ name, report }) =>
          `  ${name.padEnd(31)} ${String(report.block?.chosen ?? '—').padEnd(6)} ` +
          `${withInterval(report.pretrained).padEnd(21)} ${withInterval(report.randomInit).padEnd(21)} ` +
          `${(report.rawPixels ? withInterval(report.rawPixels) : '—').padEnd(21)} ${report.valImages}`,
      ),
      '  (accuracy on the validation images, [95% Wilson interval]; ' +
        'block chosen by cross-validation on the training images)',
      ...probes.flatMap(({ name, report }) =>
        report.gain
          ? [
              `  ${name}: gain over random init ${gainText(report.gain.randomInit)}, ` +
                `over raw pixels ${gainText(report.gain.rawPixels)}`,
            ]
          : [],
      ),
      ...probes.flatMap(({ name, report }) =>
        (report.warnings ?? []).map((warning) => `  warning (${name}): ${warning}`),
      ),
      `  exports: ${exports.map((e) => e.dir).join(', ')}`,
      `Open it: mae-studio serve --workspace ${workspace}`,
    ].join('\n'),
  );
}

/** "71.7% [62.9–79.0]": the accuracy and its 95% interval. */
function withInterval(scores: ClassificationScores): string {
  return scores.interval
    ? `${percent(scores.accuracy)} ` +
        `[${(scores.interval.low * 100).toFixed(1)}–${(scores.interval.high * 100).toFixed(1)}]`
    : percent(scores.accuracy);
}
