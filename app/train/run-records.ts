/**
 * Runs typed by kind: what each kind of run stores as its config and result. The store keeps
 * both as JSON it does not know the shape of (the plans live in this room, above it); this is
 * the one place that says which shape goes with which kind, and it checks a stored run against
 * its kind's schema (`run-schemas.ts`) once, on the way out of the store, so callers narrow by
 * `kind` and nothing casts stored JSON.
 */
import type { z } from 'zod';
import { StudioError, type FinetuneReport, type ProbeReport } from '../contract';
import type { RunRecord, RunStore } from '../store/runs';
import type { FinetunePlan } from './finetune-plan';
import type { PretrainPlan } from './pretrain-plan';
import { isPretrain3dPlan, type Pretrain3dPlan } from './volume3d/plan3d';
import type { ProbeConfig } from './probe-plan';
import {
  FinetuneConfigSchema,
  FinetuneResultSchema,
  Pretrain3dConfigSchema,
  PretrainConfigSchema,
  ProbeConfigSchema,
  ProbeResultSchema,
} from './run-schemas';

/** A pretraining run: its config is the plan `planPretrain` validated; it records no result. */
export type PretrainRun = RunRecord & { kind: 'pretrain'; config: PretrainPlan; result: null };
/** A 3-D MAE run: a pretraining run whose config is the plan `buildPretrain3dPlan` validated. */
export type Pretrain3dRun = RunRecord & { kind: 'pretrain'; config: Pretrain3dPlan; result: null };
/** A probe: its config is the validated probe options; its result the report, once it completed. */
export type ProbeRun = RunRecord & { kind: 'probe'; config: ProbeConfig; result: ProbeReport | null };
/** A fine-tuning run: its config is the validated plan; its result the report, once it completed. */
export type FinetuneRun = RunRecord & { kind: 'finetune'; config: FinetunePlan; result: FinetuneReport | null };
/** A stored run, narrowed by its `kind`. */
export type TypedRun = PretrainRun | Pretrain3dRun | ProbeRun | FinetuneRun;

/** Runs already checked, by the record the store returned (each read makes a new one). */
const checked = new WeakMap<RunRecord, TypedRun>();

/**
 * A stored run typed by its kind, after checking its config and result against the kind's schema;
 * a run whose stored JSON does not fit is refused (STORAGE), naming the run and the field.
 */
export function typedRun(run: RunRecord): TypedRun {
  const known = checked.get(run);
  if (known) return known;
  let typed: TypedRun;
  if (run.kind === 'pretrain' && isPretrain3dPlan(run.config)) {
    typed = {
      ...run,
      kind: 'pretrain',
      config: fits<Pretrain3dPlan>(run, 'config', Pretrain3dConfigSchema, run.config),
      result: null,
    };
  } else if (run.kind === 'pretrain') {
    typed = {
      ...run,
      kind: 'pretrain',
      config: fits<PretrainPlan>(run, 'config', PretrainConfigSchema, run.config),
      result: null,
    };
  } else if (run.kind === 'probe') {
    typed = {
      ...run,
      kind: 'probe',
      config: fits<ProbeConfig>(run, 'config', ProbeConfigSchema, run.config),
      result: run.result === null ? null : fits<ProbeReport>(run, 'result', ProbeResultSchema, run.result),
    };
  } else {
    typed = {
      ...run,
      kind: 'finetune',
      config: fits<FinetunePlan>(run, 'config', FinetuneConfigSchema, run.config),
      result: run.result === null ? null : fits<FinetuneReport>(run, 'result', FinetuneResultSchema, run.result),
    };
  }
  checked.set(run, typed);
  return typed;
}

/**
 * The stored value as `T` when it passes `schema` (which checks the fields of `T` that every
 * stored version has); otherwise a STORAGE error naming the run, the part and the first bad field.
 */
function fits<T>(run: RunRecord, part: 'config' | 'result', schema: z.ZodType, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return value as T; // the schema's fields checked; the rest is the writer's, this room's planners
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length ? `${part}.${issue.path.join('.')}` : part;
  throw new StudioError(
    'STORAGE',
    `run ${run.id} (${run.kind}) has a stored ${where} this version cannot read: ${issue.message}`,
    { runId: run.id },
  );
}

/** Why a run has no report to give, naming the run and its state. */
function noReport(run: RunRecord, wanted: string): StudioError {
  if (run.kind !== wanted)
    return new StudioError('INVALID_ARGUMENT', `run ${run.id} is a ${run.kind} run, not a ${wanted} run`, {
      runId: run.id,
    });
  return new StudioError(
    'CONFLICT',
    `${wanted} run ${run.id} has no report: it is ${run.status}${run.error ? ` (${run.error})` : ''}`,
    { runId: run.id },
  );
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
export async function withRunStatus<T>(
  runs: Pick<RunStore, 'setStatus'>,
  runId: number,
  work: () => Promise<T>,
): Promise<T> {
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

/** Whether a typed run is a 3-D MAE run (a pretraining run over volumes). */
export function isVolume3dRun(run: TypedRun): run is Pretrain3dRun {
  return run.kind === 'pretrain' && isPretrain3dPlan(run.config);
}
