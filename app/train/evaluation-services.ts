/**
 * The `evaluation` service of the contract over one workspace: which runs can be evaluated, the
 * probe and fine-tuning runs with their outcomes, and starting or stopping one. Probes and
 * fine-tuning runs are runs, started by `launchRun` in a training process as pretraining is; their
 * progress arrives as `evaluationProgress` events.
 */
import { StudioError, type EvaluationRecord, type ModelSource, type StudioImpl } from '../contract';
import type { Workspace } from '../workspace';
import { planFinetune } from './finetune-plan';
import { pretrainRunOf } from './probe-model';
import { planProbe } from './probe-plan';
import type { RunProcesses } from './run-processes';
import {
  isVolume3dRun,
  typedRun,
  type FinetuneRun,
  type Pretrain3dRun,
  type PretrainRun,
  type ProbeRun,
} from './run-records';

function describeSource(run: PretrainRun | Pretrain3dRun | FinetuneRun): string {
  if (isVolume3dRun(run)) {
    const { embedDim, depth, volumeSize, patchSize } = run.config.volume3d.model;
    return `3-D ViT ${embedDim}d×${depth}, ${volumeSize.join('×')} / ${patchSize.join('×')}`;
  }
  if (run.kind === 'finetune') {
    const report = run.result;
    return report ? `classifier · ${(report.scores.accuracy * 100).toFixed(1)}% val accuracy` : 'classifier';
  }
  const { model } = run.config.recipe;
  return `ViT ${model.embedDim}d×${model.depth}, ${model.imgSize} px / ${model.patchSize}`;
}

function evaluationRecord(
  run: ProbeRun | FinetuneRun,
  numbers: Map<number, number>,
  kinds: Map<number, string>,
): EvaluationRecord {
  const done = run.status === 'completed' && run.result !== null;
  const parentKind = run.parentRunId === null ? undefined : kinds.get(run.parentRunId);
  return {
    runId: run.id,
    number: numbers.get(run.id) ?? 0,
    kind: run.kind,
    parentRunId: run.parentRunId,
    parent:
      run.parentRunId !== null && (parentKind === 'pretrain' || parentKind === 'finetune')
        ? { kind: parentKind, number: numbers.get(run.parentRunId) ?? 0 }
        : null,
    status: run.status,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    error: run.error,
    probe: done && run.kind === 'probe' ? run.result : null,
    finetune: done && run.kind === 'finetune' ? run.result : null,
  };
}

/** The service, bound to the studio's workspace (read when called) and its training processes. */
export function evaluationServices(
  workspaceOf: () => Workspace,
  processes: RunProcesses,
): Pick<StudioImpl, 'evaluation'> {
  const launch = (runId: number) => {
    processes.launchRun(runId);
    return { runId };
  };
  return {
    evaluation: {
      sources: (projectId) => {
        const workspace = workspaceOf();
        workspace.projects.require(projectId);
        const numbers = workspace.runs.numbers(projectId);
        return workspace.runs
          .list(projectId)
          .map(typedRun)
          .filter(
            (run): run is PretrainRun | Pretrain3dRun | FinetuneRun =>
              (run.kind === 'pretrain' || (run.kind === 'finetune' && run.status === 'completed')) &&
              workspace.runs.latestCheckpoint(run.id) !== undefined,
          )
          .map(
            (run): ModelSource => ({
              runId: run.id,
              number: numbers.get(run.id) ?? 0,
              kind: run.kind,
              status: run.status,
              createdAt: run.createdAt,
              step: workspace.runs.latestCheckpoint(run.id)!.step,
              summary: describeSource(run),
              parentRunId: run.parentRunId,
              depth: isVolume3dRun(run)
                ? run.config.volume3d.model.depth
                : pretrainRunOf(workspace, run).config.recipe.model.depth,
            }),
          );
      },
      list: (projectId) => {
        const workspace = workspaceOf();
        workspace.projects.require(projectId);
        const runs = workspace.runs.list(projectId);
        const numbers = workspace.runs.numbers(projectId);
        const kinds = new Map(runs.map((run) => [run.id, run.kind]));
        return runs
          .map(typedRun)
          .filter((run) => run.kind === 'probe' || run.kind === 'finetune')
          .map((run) => evaluationRecord(run, numbers, kinds));
      },
      probe: (runId, request) => launch(planProbe(workspaceOf(), runId, request)),
      finetune: (runId, request) => launch(planFinetune(workspaceOf(), runId, request)),
      stop: (runId) => {
        const run = workspaceOf().runs.get(runId);
        if (run.kind !== 'probe' && run.kind !== 'finetune')
          throw new StudioError(
            'INVALID_ARGUMENT',
            `run ${runId} is a ${run.kind} run: stop it from the Training tab`,
            { runId },
          );
        if (processes.isActive(runId)) return processes.control(runId).stop();
        if (run.status === 'running')
          throw new StudioError('CONFLICT', `run ${runId} is training in another process: stop it there`, { runId });
        throw new StudioError('CONFLICT', `run ${runId} is not running (it is ${run.status})`, { runId });
      },
    },
  };
}
