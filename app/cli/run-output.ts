/** How the CLI follows a training run: its progress lines while it trains, its result when it ends. */
import path from 'node:path';
import { StudioError } from '../contract';
import type { RunProgress } from '../train/run-progress';
import type { RunFinished } from '../train/run-processes';
import type { Output } from './args';
import type { CliSession } from './client';

/** Prints a run's progress lines as the training process reports them. */
export function printingHost(out: Output) {
  return {
    onProgress: (_runId: number, progress: RunProgress) => out.progress(describe(progress), progress.type !== 'step'),
    onLog: (_runId: number, line: string) => out.progress(line, true),
  };
}

/** Waits for a run's process to end, printing its progress; the JSON result on `--json`. */
export async function untilEnd(
  { client, finished }: CliSession,
  runId: number,
  out: Output,
  workspace: string,
  /** The recipe check's warnings, kept in the JSON result (text output printed them before the run). */
  warnings: readonly string[] = [],
): Promise<void> {
  const result: RunFinished = await finished(runId, () => client.training.stop(runId));
  const run = await client.runs.get(runId);
  out.result(
    {
      run: {
        id: run.id,
        status: run.status,
        backend: run.backend,
        finalLoss: result.finalLoss,
        step: result.step,
        error: run.error,
      },
      warnings,
    },
    () =>
      [
        `Run ${run.id} ${run.status} at step ${result.step}` +
          (result.finalLoss === null ? '' : `, final loss ${result.finalLoss.toFixed(4)}`),
        `backend: ${run.backend}`,
        run.error ? `reason: ${run.error}` : '',
        run.status === 'stopped'
          ? `resume with: mae-studio resume --workspace ${path.resolve(workspace)} --run ${run.id}`
          : '',
      ]
        .filter(Boolean)
        .join('\n'),
  );
  if (result.status === 'failed') throw new StudioError('INVALID_ARGUMENT', `run ${runId} failed: ${result.reason}`);
}

function describe(progress: RunProgress): string {
  switch (progress.type) {
    case 'started':
      return (
        `Training on ${progress.backend} (${progress.device}) ` + `from step ${progress.step} of ${progress.totalSteps}`
      );
    case 'step':
      return (
        `step ${progress.step}/${progress.totalSteps}  ` +
        `loss ${progress.loss.toFixed(4)}  lr ${progress.lr.toExponential(2)}  ` +
        `${progress.imagesPerSecond.toFixed(1)} img/s  ETA ${formatSeconds(progress.etaSeconds)}` +
        (progress.dataWaitShare === undefined ? '' : `  waiting for data ${Math.round(progress.dataWaitShare * 100)}%`)
      );
    case 'preparing':
      return (
        `preparing data ${progress.done}/${progress.total}` +
        (progress.read > 0 ? ` (${progress.read} read from files, ${progress.changed} changed since cached)` : '')
      );
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
