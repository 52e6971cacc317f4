/**
 * `probe`, `finetune` and `export`: what a pretrained encoder is worth, and taking it elsewhere, through the
 * `evaluation` and `exports` services.
 */
import path from 'node:path';
import {
  BACKEND_CHOICES,
  EXPORT_FORMAT_NAMES,
  LR_RULE_CHOICES,
  StudioError,
  type EvaluationRecord,
  type FinetuneReport,
  type ProbeReport,
} from '../contract';
import type { ClassificationScores } from '../train/probe-metrics';
import { accuracyText, gainText, percent } from '../train/probe-format';
import type { TrainingHost } from '../train/run-processes';
import { createOutput, parseCommand, positiveInt, required, UsageError, type Output } from './args';
import { withClient, type CliSession } from './client';

function oneOf<T extends string>(
  command: string,
  name: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value !== undefined && !(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${command}: --${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T | undefined;
}

function fraction(command: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed))
    throw new UsageError(`${command}: --${name} must be a number, got ${JSON.stringify(value)}`);
  return parsed;
}

/** The studio's host for an evaluation command: the process's start and steps printed under `label`. */
function printingHost(out: Output, label: (runId: number) => string): TrainingHost {
  return {
    onProgress: (runId, progress) => {
      if (progress.type === 'started')
        out.progress(`${label(runId)} on ${progress.backend} (${progress.device})`, true);
      if (progress.type === 'step')
        out.progress(`${label(runId)}: step ${progress.step}/${progress.totalSteps}  loss ${progress.loss.toFixed(4)}`);
    },
    onLog: (_runId, line) => out.progress(line, true),
  };
}

/** Waits for a probe or fine-tuning run started in this session; returns its record, with its report. */
async function untilEnd(
  { client, finished }: CliSession,
  runId: number,
  pretrainRunId: number,
): Promise<EvaluationRecord> {
  const ended = await finished(runId, () => client.evaluation.stop(runId));
  if (ended.status !== 'completed')
    throw new StudioError('INVALID_ARGUMENT', `run ${runId} ${ended.status}${ended.reason ? `: ${ended.reason}` : ''}`);
  const { projectId } = await client.runs.get(pretrainRunId);
  const record = (await client.evaluation.list(projectId)).find((evaluation) => evaluation.runId === runId);
  if (!record) throw new StudioError('NOT_FOUND', `run ${runId} is gone`, { runId });
  return record;
}

/** The report of a completed run, or why it has none. */
function reportOf<T>(record: EvaluationRecord, report: T | null): T {
  if (report === null)
    throw new StudioError(
      'CONFLICT',
      `${record.kind} run ${record.runId} has no report: it ` +
        `is ${record.status}${record.error ? ` (${record.error})` : ''}`,
      { runId: record.runId },
    );
  return report;
}

function scoreLines(scores: ClassificationScores): string[] {
  return scores.perClass.map((c) => {
    const interval = c.recallInterval
      ? ` (95% CI ${(c.recallInterval.low * 100).toFixed(1)}–${percent(c.recallInterval.high)})`
      : '';
    return (
      `    ${c.label.padEnd(16)} precision ${(c.precision * 100).toFixed(1).padStart(5)}% ` +
      ` recall ${(c.recall * 100).toFixed(1).padStart(5)}%${interval}  n = ${c.support}`
    );
  });
}

/** `--block N|best` → a block number or 'best'. */
function blockOption(value: string | undefined): number | 'best' | undefined {
  if (value === undefined || value === 'best') return value;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`probe: --block must be a block number (1 = the first) or best, got ${JSON.stringify(value)}`);
  return Number(value);
}

function probeTitle(report: ProbeReport, pretrainRunId: number): string {
  const selection =
    report.block?.selection?.map((s) => `${s.block}: ${percent(s.accuracy)}`).join(', ') ?? 'the only one';
  const best = report.block?.requested === 'best' ? ` (best on the training split: ${selection})` : '';
  const block = report.block ? `block ${report.block.chosen} of ${report.block.depth}${best}` : 'the last block';
  const method = report.method === 'knn' ? `kNN (k = ${report.k})` : 'Linear probe';
  const budget = report.labelsPerClass === null ? '' : ` (≤ ${report.labelsPerClass} per class)`;
  return (
    `${method} of run ${pretrainRunId} on ${report.pooling}-pooled features of ${block}, ` +
    `fitted on ${report.trainImages} labelled images${budget}, scored on ${report.valImages} validation images:`
  );
}

/**
 * `mae-studio probe --workspace W --run ID [--method linear|knn] [--k N] [--pooling cls|mean] [--labels-per-class N]
 * [--block N|best]`
 */
export async function probeCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('probe', argv, {
    workspace: { type: 'string' },
    run: { type: 'string' },
    method: { type: 'string' },
    k: { type: 'string' },
    pooling: { type: 'string' },
    backend: { type: 'string' },
    'labels-per-class': { type: 'string' },
    block: { type: 'string' },
  });
  const out = createOutput(values.json === true);
  const workspace = required('probe', values, 'workspace');
  const pretrainRunId = positiveInt('probe', 'run', required('probe', values, 'run'))!;
  const request = {
    method: oneOf('probe', 'method', values.method, ['linear', 'knn'] as const),
    pooling: oneOf('probe', 'pooling', values.pooling, ['cls', 'mean'] as const),
    k: positiveInt('probe', 'k', values.k),
    labelsPerClass: positiveInt('probe', 'labels-per-class', values['labels-per-class']),
    block: blockOption(values.block),
    backend: oneOf('probe', 'backend', values.backend, BACKEND_CHOICES),
  };
  const { runId, report } = await withClient(
    workspace,
    printingHost(out, (runId) => `probe run ${runId}`),
    async (session) => {
      const { runId } = await session.client.evaluation.probe(pretrainRunId, request);
      const record = await untilEnd(session, runId, pretrainRunId);
      return { runId, report: reportOf<ProbeReport>(record, record.probe) };
    },
  );
  const warnings = report.warnings ?? [];
  out.result(
    {
      runId,
      pretrainRunId,
      method: report.method,
      pooling: report.pooling,
      k: report.k,
      labelsPerClass: report.labelsPerClass,
      block: report.block ?? null,
      classes: report.classes,
      trainImages: report.trainImages,
      valImages: report.valImages,
      accuracy: report.pretrained.accuracy,
      interval: report.pretrained.interval ?? null,
      perClass: report.pretrained.perClass,
      confusion: report.pretrained.confusion,
      baseline: {
        randomInit: report.randomInit.accuracy,
        randomInitInterval: report.randomInit.interval ?? null,
        rawPixels: report.rawPixels?.accuracy ?? null,
        rawPixelsInterval: report.rawPixels?.interval ?? null,
        rawPixelSide: report.rawPixelSide ?? null,
        rawPixelAxes: report.rawPixelAxes ?? 2,
        perClass: report.randomInit.perClass,
        confusion: report.randomInit.confusion,
      },
      gain: report.gain ?? null,
      warnings,
      ...(report.featureUnit && { featureUnit: report.featureUnit }),
      seconds: report.seconds,
    },
    () =>
      [
        probeTitle(report, pretrainRunId),
        `  pretrained   ${accuracyText(report.pretrained)}`,
        ...scoreLines(report.pretrained),
        `  random init  ${accuracyText(report.randomInit)}`,
        ...(report.rawPixels
          ? [
              `  raw ${report.rawPixelAxes === 3 ? 'voxels' : 'pixels'}   ${accuracyText(report.rawPixels)}  ` +
                `(${Array(report.rawPixelAxes ?? 2)
                  .fill(report.rawPixelSide)
                  .join('×')} per channel)`,
            ]
          : []),
        ...(report.gain
          ? [
              `  gain over random init  ${gainText(report.gain.randomInit)}`,
              `  gain over raw pixels   ${gainText(report.gain.rawPixels)}`,
            ]
          : []),
        ...warnings.map((warning) => `  warning: ${warning}`),
        ...(report.featureUnit ? [`  features: ${report.featureUnit}`] : []),
        `(probe run ${runId})`,
      ].join('\n'),
  );
}

/** `mae-studio finetune --workspace W --run ID [recipe flags]` */
export async function finetuneCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('finetune', argv, {
    workspace: { type: 'string' },
    run: { type: 'string' },
    steps: { type: 'string' },
    batch: { type: 'string' },
    blr: { type: 'string' },
    warmup: { type: 'string' },
    'layer-decay': { type: 'string' },
    'drop-path': { type: 'string' },
    'label-smoothing': { type: 'string' },
    'crop-scale': { type: 'string' },
    flip: { type: 'string' },
    'lr-rule': { type: 'string' },
    pooling: { type: 'string' },
    'random-init': { type: 'string' },
    seed: { type: 'string' },
    backend: { type: 'string' },
  });
  const out = createOutput(values.json === true);
  const workspace = required('finetune', values, 'workspace');
  const pretrainRunId = positiveInt('finetune', 'run', required('finetune', values, 'run'))!;
  const request = {
    steps: positiveInt('finetune', 'steps', values.steps),
    batchSize: positiveInt('finetune', 'batch', values.batch),
    blr: fraction('finetune', 'blr', values.blr),
    warmupSteps: values.warmup === undefined ? undefined : Number(values.warmup),
    layerDecay: fraction('finetune', 'layer-decay', values['layer-decay']),
    dropPath: fraction('finetune', 'drop-path', values['drop-path']),
    labelSmoothing: fraction('finetune', 'label-smoothing', values['label-smoothing']),
    cropScale: fraction('finetune', 'crop-scale', values['crop-scale']),
    flipProbability: fraction('finetune', 'flip', values.flip),
    lrRule: oneOf('finetune', 'lr-rule', values['lr-rule'], LR_RULE_CHOICES),
    pooling: oneOf('finetune', 'pooling', values.pooling, ['cls', 'mean'] as const),
    randomInitBaseline: oneOf('finetune', 'random-init', values['random-init'], ['on', 'off'] as const)
      ? values['random-init'] === 'on'
      : undefined,
    seed: values.seed === undefined ? undefined : Number(values.seed),
    backend: oneOf('finetune', 'backend', values.backend, BACKEND_CHOICES),
  };
  const { runId, report } = await withClient(
    workspace,
    printingHost(out, (runId) => `fine-tuning run ${runId}`),
    async (session) => {
      const { runId } = await session.client.evaluation.finetune(pretrainRunId, request);
      const record = await untilEnd(session, runId, pretrainRunId);
      return { runId, report: reportOf<FinetuneReport>(record, record.finetune) };
    },
  );
  out.result(
    {
      run: { id: runId, parentRunId: pretrainRunId, status: 'completed' },
      accuracy: report.scores.accuracy,
      interval: report.scores.interval ?? null,
      valImages: report.valImages,
      perClass: report.scores.perClass,
      confusion: report.scores.confusion,
      classes: report.classes,
      finalLoss: report.finalLoss,
      steps: report.steps,
      // The same validation images: the random init fine-tuned alike, the probe's linear model on the pixels.
      baseline: {
        randomInit: report.randomInit?.accuracy ?? null,
        randomInitInterval: report.randomInit?.interval ?? null,
        rawPixels: report.rawPixels?.accuracy ?? null,
        rawPixelsInterval: report.rawPixels?.interval ?? null,
        rawPixelSide: report.rawPixelSide ?? null,
        // The classifier before its first step: the head fitted as a linear probe (LP-FT).
        start: report.start?.accuracy ?? null,
        startInterval: report.start?.interval ?? null,
      },
      gain: report.gain ?? null,
      warnings: report.warnings ?? [],
      seconds: report.seconds,
    },
    () =>
      [
        `Fine-tuned run ${pretrainRunId} as run ${runId}: ${accuracyText(report.scores)} on the validation images`,
        ...scoreLines(report.scores),
        ...(report.randomInit ? [`  random init, fine-tuned alike  ${accuracyText(report.randomInit)}`] : []),
        ...(report.rawPixels
          ? [
              `  raw pixels, linear             ${accuracyText(report.rawPixels)}  ` +
                `(${report.rawPixelSide}×${report.rawPixelSide} per channel)`,
            ]
          : []),
        ...(report.gain?.randomInit ? [`  gain over random init  ${gainText(report.gain.randomInit)}`] : []),
        ...(report.start ? [`  before fine-tuning (linear probe)  ${accuracyText(report.start)}`] : []),
        ...(report.gain ? [`  gain over raw pixels   ${gainText(report.gain.rawPixels)}`] : []),
        ...(report.gain?.start ? [`  gain over its start    ${gainText(report.gain.start)}`] : []),
        ...(report.warnings ?? []).map((warning) => `  warning: ${warning}`),
      ].join('\n'),
  );
}

/** `mae-studio export --workspace W --run ID --format safetensors|onnx|tfjs --out DIR [--pooling cls|mean] [--full]` */
export async function exportCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('export', argv, {
    workspace: { type: 'string' },
    run: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    pooling: { type: 'string' },
    full: { type: 'boolean' },
  });
  const out = createOutput(values.json === true);
  const workspace = required('export', values, 'workspace');
  const runId = positiveInt('export', 'run', required('export', values, 'run'))!;
  const format = oneOf('export', 'format', required('export', values, 'format'), EXPORT_FORMAT_NAMES)!;
  const outDir = path.resolve(required('export', values, 'out'));
  const pooling = oneOf('export', 'pooling', values.pooling, ['cls', 'mean'] as const);
  const result = await withClient(workspace, {}, ({ client }) =>
    client.exports.create(runId, format, outDir, {
      ...(pooling && { pooling }),
      ...(values.full === true && { full: true }),
    }),
  );
  const { dir, files, ...record } = result;
  const weights = files.filter((file) => file.name !== 'MODEL_CARD.md' && file.name !== 'model_card.json');
  out.result({ export: record, dir, files }, () =>
    [
      `Exported run ${runId} as ${format} to ${dir}:`,
      ...weights.map((f) => `  ${f.name}  ${f.bytes.toLocaleString('en-US')} bytes`),
      '  MODEL_CARD.md, model_card.json',
    ].join('\n'),
  );
}
