/**
 * The `evaluation` and `exports` services of the contract over one workspace: probes and
 * fine-tuning runs start in the training process (as pretraining does) and report through
 * `evaluationProgress` events; exports run in-process (serialising weights takes well under a
 * second) and land in the project's exports folder unless the user picks another.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StudioError, type EvaluationRecord, type ModelSource, type StudioImpl } from '../contract';
import type { StudioEvents } from '../rpc';
import { planFinetune } from '../train/finetune-plan';
import { startTraining } from '../train/host';
import type { TrainingHost } from '../train/studio-training';
import { pretrainRunOf } from '../train/probe-model';
import { planProbe } from '../train/probe-plan';
import { typedRun, type FinetuneRun, type PretrainRun, type ProbeRun } from '../train/run-records';
import type { Workspace } from '../workspace';
import { exportRun, FORMAT_FILES, previewModelCard } from './export-run';
import { modelCardMarkdown, type ExportFormat } from './model-card';

type DownstreamServices = Pick<StudioImpl, 'evaluation' | 'exports'>;

function describeSource(run: PretrainRun | FinetuneRun): string {
  if (run.kind === 'finetune') {
    const report = run.result;
    return report ? `classifier · ${(report.scores.accuracy * 100).toFixed(1)}% val accuracy` : 'classifier';
  }
  const { model } = run.config.recipe;
  return `ViT ${model.embedDim}d×${model.depth}, ${model.imgSize} px / ${model.patchSize}`;
}

function evaluationRecord(run: ProbeRun | FinetuneRun, numbers: Map<number, number>, kinds: Map<number, string>): EvaluationRecord {
  const done = run.status === 'completed' && run.result !== null;
  const parentKind = run.parentRunId === null ? undefined : kinds.get(run.parentRunId);
  return {
    runId: run.id,
    number: numbers.get(run.id) ?? 0,
    kind: run.kind,
    parentRunId: run.parentRunId,
    parent: run.parentRunId !== null && (parentKind === 'pretrain' || parentKind === 'finetune') ? { kind: parentKind, number: numbers.get(run.parentRunId) ?? 0 } : null,
    status: run.status,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    error: run.error,
    probe: done && run.kind === 'probe' ? run.result : null,
    finetune: done && run.kind === 'finetune' ? run.result : null,
  };
}

/** A folder for a new export that holds none of its files yet: `base`, `base-2`, `base-3`, … */
function freshDir(base: string, format: ExportFormat): string {
  const clashes = (dir: string) => [...FORMAT_FILES[format], 'MODEL_CARD.md'].some((name) => fs.existsSync(path.join(dir, name)));
  let dir = base;
  for (let n = 2; clashes(dir); n++) dir = `${base}-${n}`;
  return dir;
}

/**
 * The services, bound to the studio's workspace (read when called), event hub and job tracker;
 * probe and fine-tuning processes are made by the host's launcher (Electron's utilityProcess in
 * the desktop app), as pretraining's are.
 */
export function downstreamServices(
  workspaceOf: () => Workspace,
  events: StudioEvents,
  track: (job: Promise<unknown>, stop: () => void) => void,
  trainingHost: () => TrainingHost = () => ({}),
): DownstreamServices {
  const defaultDir = (runId: number, format: ExportFormat) =>
    path.join(workspaceOf().projectDir(workspaceOf().runs.get(runId).projectId), 'exports', `run-${runId}-${format}`);

  // Stops of the jobs this studio runs, by run id.
  const running = new Map<number, () => void>();

  const startJob = (runId: number, kind: 'probe' | 'finetune') => {
    const training = startTraining(workspaceOf().root, runId, {
      ...trainingHost(),
      onProgress: (progress) => {
        if (progress.type === 'started') events.emit('evaluationProgress', { runId, kind, phase: 'started', step: progress.step, totalSteps: progress.totalSteps, loss: null });
        if (progress.type === 'step') events.emit('evaluationProgress', { runId, kind, phase: 'step', step: progress.step, totalSteps: progress.totalSteps, loss: progress.loss });
      },
    });
    const finish = (status: string, step: number, error?: string) =>
      events.emit('evaluationProgress', { runId, kind, phase: 'finished', step, totalSteps: step, loss: null, status, ...(error && { error }) });
    running.set(runId, () => training.stop());
    track(
      training.done
        .then(
          (finished) => finish(finished.status, finished.step, finished.reason),
          (error: unknown) => finish('failed', 0, error instanceof Error ? error.message : String(error)),
        )
        .finally(() => running.delete(runId)),
      () => training.stop(),
    );
    return { runId };
  };

  return {
    evaluation: {
      sources: (projectId) => {
        workspaceOf().projects.require(projectId);
        const numbers = workspaceOf().runs.numbers(projectId);
        return workspaceOf().runs
          .list(projectId)
          .map(typedRun)
          .filter((run): run is PretrainRun | FinetuneRun => (run.kind === 'pretrain' || (run.kind === 'finetune' && run.status === 'completed')) && workspaceOf().runs.latestCheckpoint(run.id) !== undefined)
          .map((run): ModelSource => ({
            runId: run.id, number: numbers.get(run.id) ?? 0, kind: run.kind, status: run.status, createdAt: run.createdAt,
            step: workspaceOf().runs.latestCheckpoint(run.id)!.step, summary: describeSource(run), parentRunId: run.parentRunId,
            depth: pretrainRunOf(workspaceOf(), run).config.recipe.model.depth,
          }));
      },
      list: (projectId) => {
        workspaceOf().projects.require(projectId);
        const runs = workspaceOf().runs.list(projectId);
        const numbers = workspaceOf().runs.numbers(projectId);
        const kinds = new Map(runs.map((run) => [run.id, run.kind]));
        return runs.map(typedRun).filter((run) => run.kind === 'probe' || run.kind === 'finetune').map((run) => evaluationRecord(run, numbers, kinds));
      },
      probe: (runId, request) => startJob(planProbe(workspaceOf(), runId, request), 'probe'),
      finetune: (runId, request) => {
        const steps = request.steps;
        const warmup = steps === undefined ? {} : { warmupSteps: Math.floor(steps / 10) };
        return startJob(planFinetune(workspaceOf(), runId, { ...request, ...warmup }), 'finetune');
      },
      stop: (runId) => {
        const run = workspaceOf().runs.get(runId);
        const stop = running.get(runId);
        if (stop) return stop();
        if (run.kind !== 'probe' && run.kind !== 'finetune') throw new StudioError('INVALID_ARGUMENT', `run ${runId} is a ${run.kind} run: stop it from the Training tab`, { runId });
        if (run.status === 'running') throw new StudioError('CONFLICT', `run ${runId} is training in another process: stop it there`, { runId });
        throw new StudioError('CONFLICT', `run ${runId} is not running (it is ${run.status})`, { runId });
      },
    },
    exports: {
      list: (projectId) => {
        workspaceOf().projects.require(projectId);
        return workspaceOf().exports.list(projectId);
      },
      preview: async (runId, format, choices = {}) => {
        const full = choices.full === true;
        const card = await previewModelCard(workspaceOf(), runId, format, { full });
        const classifier = card.model.classes !== null;
        return {
          runId,
          format,
          defaultDir: freshDir(defaultDir(runId, format), format),
          files: [...FORMAT_FILES[format], 'MODEL_CARD.md', 'model_card.json'],
          contents: [
            full
              ? 'The whole MAE — encoder, decoder, mask token — under ' + 'models_mae.py names (load_state_dict with strict=True)'
              : format === 'safetensors'
                ? 'Encoder weights under timm VisionTransformer names (no decoder, no mask token)'
                : 'Encoder graph: input pixels [N, C, H, W] float32 → tokens and pooled features',
            ...(classifier ? [`Classifier head: ${card.model.classes!.length} classes (${card.model.classes!.join(', ')})`] : []),
            ...(format === 'safetensors' ? [`config.json: ` + `${full ? 'MaskedAutoencoderViT arguments' : 'architecture, image size, patch, channels'}, ` + `normalisation`] : []),
            'Model card: data summary (counts and labels only), normalisation, recipe, losses, scores',
          ],
          modelCard: modelCardMarkdown(card),
        };
      },
      create: async (runId, format, dir, choices = {}) => {
        const target = dir ?? freshDir(defaultDir(runId, format), format);
        const result = await exportRun(workspaceOf(), runId, format, target, { full: choices.full === true });
        return { ...result.record, dir: result.dir, files: [...result.files, { name: 'MODEL_CARD.md' }, { name: 'model_card.json' }].map((f) => ({ name: f.name, bytes: 'bytes' in f ? f.bytes : fs.statSync(path.join(result.dir, f.name)).size })) };
      },
    },
  };
}
