/**
 * Runs typed by kind: what each kind of run stores as its config and result. The store keeps
 * both as JSON it does not know the shape of (the plans live in this room, above it); this is
 * the one place that says which shape goes with which kind, so callers narrow by `kind` instead
 * of casting.
 */
import { StudioError, type FinetuneReport, type ProbeReport } from '../contract';
import type { RunRecord, RunStore } from '../store/runs';
import type { FinetunePlan } from './finetune-plan';
import type { PretrainPlan } from './pretrain-plan';
import type { ProbeConfig } from './probe-plan';

/** A pretraining run: its config is the plan `planPretrain` validated; it records no result. */
export type PretrainRun = RunRecord & { kind: 'pretrain'; config: PretrainPlan; result: null };
/** A probe: its config is the validated probe options; its result the report, once it completed. */
export type ProbeRun = RunRecord & { kind: 'probe'; config: ProbeConfig; result: ProbeReport | null };
/** A fine-tuning run: its config is the validated plan; its result the report, once it completed. */
export type FinetuneRun = RunRecord & { kind: 'finetune'; config: FinetunePlan; result: FinetuneReport | null };
/** A stored run, narrowed by its `kind`. */
export type TypedRun = PretrainRun | ProbeRun | FinetuneRun;

/**
 * A stored run typed by its kind. Sound because nothing else writes runs: each kind's config is
 * validated by its planner before `RunStore.create`, and its result is written by its own job.
 */
export function typedRun(run: RunRecord): TypedRun {
  return run as TypedRun;
}

/** Why a run has no report to give, naming the run and its state. */
function noReport(run: RunRecord, wanted: string): StudioError {
  if (run.kind !== wanted) return new StudioError('INVALID_ARGUMENT', `run ${run.id} is a ${run.kind} run, not a ${wanted} run`, { runId: run.id });
  return new StudioError('CONFLICT', `${wanted} run ${run.id} has no report: it is ${run.status}${run.error ? ` (${run.error})` : ''}`, { runId: run.id });
}

/** The report of a completed probe; a clear error when the run is another kind or has none. */
export function probeReport(record: RunRecord): ProbeReport {
  const run = typedRun(record);
  if (run.kind !== 'probe' || run.result === null) throw noReport(record, 'probe');
  return run.result;
}

/** The report of a completed fine-tuning run; a clear error when the run is another kind or has none. */
export function finetuneReport(record: RunRecord): FinetuneReport {
  const run = typedRun(record);
  if (run.kind !== 'finetune' || run.result === null) throw noReport(record, 'finetune');
  return run.result;
}

/**
 * Runs the work of run `runId` and, when it throws, marks the run failed with the error's message
 * before rethrowing: a run is never left "running", and its reason is one a person can act on.
 * Pretraining, probes and fine-tuning all end this way.
 */
export async function withRunStatus<T>(runs: Pick<RunStore, 'setStatus'>, runId: number, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    try {
      runs.setStatus(runId, 'failed', { error: error instanceof Error ? error.message : String(error) });
    } catch {
      // The run may not exist (a wrong id); the original error says so.
    }
    throw error;
  }
}
