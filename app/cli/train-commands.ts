/** `pretrain` and `resume`: training runs, each in its own process. */
import path from 'node:path';
import { BACKEND_CHOICES, MASK_STRATEGIES, StudioError } from '../contract';
import type { BackendPreference } from '../runtime/backend';
import { startTraining } from '../train/host';
import { describeInit } from '../mae/weights/init';
import { planPretrain, type PretrainOptions } from '../train/pretrain-plan';
import { describeRecipeLr } from '../train/config';
import { LR_RULES, type LrRuleName } from '../train/schedule';
import type { RunProgress } from '../train/pretrain-run';
import { createOutput, parseCommand, positiveInt, required, UsageError, type Output } from './args';
import { withStudio } from './data-commands';

function number(command: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new UsageError(`${command}: --${name} must be a number, got ${JSON.stringify(value)}`);
  return parsed;
}

/** `mae-studio pretrain --workspace W --project ID [recipe flags]` */
export async function pretrainCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('pretrain', argv, {
    workspace: { type: 'string' }, project: { type: 'string' }, preset: { type: 'string' }, img: { type: 'string' },
    patch: { type: 'string' }, decoder: { type: 'string' }, depth: { type: 'string' }, 'mask-ratio': { type: 'string' },
    mask: { type: 'string' }, batch: { type: 'string' }, accum: { type: 'string' }, steps: { type: 'string' },
    epochs: { type: 'string' }, warmup: { type: 'string' }, blr: { type: 'string' }, 'lr-rule': { type: 'string' }, backend: { type: 'string' },
    seed: { type: 'string' }, init: { type: 'string' }, 'val-fraction': { type: 'string' }, 'norm-pix': { type: 'string' },
  });
  const out = createOutput(values.json === true);
  const workspace = path.resolve(required('pretrain', values, 'workspace'));
  const projectId = positiveInt('pretrain', 'project', required('pretrain', values, 'project'))!;
  if (values.mask !== undefined && !(MASK_STRATEGIES as readonly string[]).includes(values.mask)) {
    throw new UsageError(`pretrain: --mask must be one of ${MASK_STRATEGIES.join(', ')}, got ${JSON.stringify(values.mask)}`);
  }
  if (values['norm-pix'] !== undefined && !['on', 'off'].includes(values['norm-pix'])) {
    throw new UsageError(`pretrain: --norm-pix must be on or off, got ${JSON.stringify(values['norm-pix'])}`);
  }
  if (values['lr-rule'] !== undefined && !(LR_RULES as readonly string[]).includes(values['lr-rule'])) {
    throw new UsageError(`pretrain: --lr-rule must be one of ${LR_RULES.join(', ')}, got ${JSON.stringify(values['lr-rule'])}`);
  }
  if (values.backend !== undefined && !(BACKEND_CHOICES as readonly string[]).includes(values.backend)) {
    throw new UsageError(`pretrain: --backend must be one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(values.backend)}`);
  }
  const options: PretrainOptions = {
    preset: values.preset,
    imgSize: positiveInt('pretrain', 'img', values.img),
    patchSize: positiveInt('pretrain', 'patch', values.patch),
    decoder: values.decoder,
    depth: positiveInt('pretrain', 'depth', values.depth),
    maskRatio: number('pretrain', 'mask-ratio', values['mask-ratio']),
    maskStrategy: values.mask as PretrainOptions['maskStrategy'],
    normPixLoss: values['norm-pix'] === undefined ? undefined : values['norm-pix'] === 'on',
    batchSize: positiveInt('pretrain', 'batch', values.batch),
    accumSteps: positiveInt('pretrain', 'accum', values.accum),
    steps: positiveInt('pretrain', 'steps', values.steps),
    epochs: positiveInt('pretrain', 'epochs', values.epochs),
    warmupSteps: values.warmup === undefined ? undefined : Number(values.warmup),
    lrRule: values['lr-rule'] as LrRuleName | undefined,
    blr: number('pretrain', 'blr', values.blr),
    backend: values.backend as BackendPreference | undefined,
    seed: values.seed === undefined ? undefined : Number(values.seed),
    init: values.init,
    valFraction: number('pretrain', 'val-fraction', values['val-fraction']),
  };
  const { runId, plan } = await withStudio(workspace, async (studio) => planPretrain(studio.workspace, projectId, options));
  if (plan.init) for (const line of describeInit(plan.init.report)) out.progress(line, true);
  // The channel plan's decision, said where a CLI user sees it (Curate shows it in the app).
  const converted = Object.entries(plan.data.channelPlan?.conversions ?? {}).filter(([, conversion]) => conversion !== 'keep' && conversion !== 'exclude');
  if (converted.length) out.progress(`channel plan: ` + `${converted.map(([count, conversion]) => `${count}-channel images ${conversion}`).join(', ')} (to ` + `${plan.data.channelPlan!.inputChannels} band${plan.data.channelPlan!.inputChannels === 1 ? '' : 's'})`, true);
  for (const item of plan.data.excluded) out.progress(`${item.count} left out: ${item.reason}`, true);
  if (plan.data.excludedClasses?.length) out.progress(`classes left out by the channel plan: ${plan.data.excludedClasses.join(', ')}`, true);
  out.progress(`Learning rate: ${describeRecipeLr(plan.recipe)}`, true);
  out.progress(`Run ${runId} planned; starting the training process…`, true);
  await train(workspace, runId, false, out);
}

/** `mae-studio resume --workspace W --run ID` */
export async function resumeCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('resume', argv, { workspace: { type: 'string' }, run: { type: 'string' } });
  const out = createOutput(values.json === true);
  const workspace = path.resolve(required('resume', values, 'workspace'));
  const runId = positiveInt('resume', 'run', required('resume', values, 'run'))!;
  await withStudio(workspace, async (studio) => studio.workspace.runs.get(runId));
  await train(workspace, runId, true, out);
}

/** Runs the training process to its end, printing progress; resolves when the run ended well. */
async function train(workspace: string, runId: number, resume: boolean, out: Output): Promise<void> {
  const training = startTraining(workspace, runId, {
    resume,
    onProgress: (progress) => out.progress(describe(progress), progress.type !== 'step'),
    onLog: (line) => out.progress(line, true),
  });
  const stop = () => training.stop();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    const result = await training.done;
    const run = await withStudio(workspace, async (studio) => studio.workspace.runs.get(runId));
    out.result({ run: { id: run.id, status: run.status, backend: run.backend, finalLoss: result.finalLoss, step: result.step, error: run.error } }, () =>
      [
        `Run ${run.id} ${run.status} at step ${result.step}` + (result.finalLoss === null ? '' : `, final loss ${result.finalLoss.toFixed(4)}`),
        `backend: ${run.backend}`,
        run.error ? `reason: ${run.error}` : '',
        run.status === 'stopped' ? `resume with: mae-studio resume --workspace ${workspace} --run ${run.id}` : '',
      ].filter(Boolean).join('\n'),
    );
    if (result.status === 'failed') throw new StudioError('INVALID_ARGUMENT', `run ${runId} failed: ${result.reason}`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function describe(progress: RunProgress): string {
  switch (progress.type) {
    case 'started':
      return `Training on ${progress.backend} (${progress.device}) ` + `from step ${progress.step} of ${progress.totalSteps}`;
    case 'step':
      return `step ${progress.step}/${progress.totalSteps}  ` + `loss ${progress.loss.toFixed(4)}  lr ${progress.lr.toExponential(2)}  ` +
        `${progress.imagesPerSecond.toFixed(1)} img/s  ETA ${formatSeconds(progress.etaSeconds)}`;
    case 'validation':
      return `step ${progress.step}  validation loss ${progress.loss.toFixed(4)}`;
    case 'checkpoint':
      return `step ${progress.step}  checkpoint saved`;
    case 'reconstruction':
      return `step ${progress.step}  reconstructions: ${progress.file}`;
    case 'finished':
      return `finished: ${progress.status}${progress.reason ? ` (${progress.reason})` : ''}`;
  }
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const whole = Math.round(seconds);
  return whole >= 60 ? `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s` : `${whole}s`;
}
