/**
 * Every training process of a studio: `launchRun` starts one for a run of any kind (pretraining,
 * probe, fine-tuning), turns its reports into the contract's events and tracks it until it ends.
 * It is the one place a run's process is started: the `training` and `evaluation` services and,
 * through them, the CLI all come here.
 */
import { StudioError, type ReprobeReport } from '../contract';
import type { StudioEvents } from '../rpc';
import type { RunRecord } from '../store/runs';
import type { Workspace } from '../workspace';
import { reprobeInWorker, startTraining, type LaunchWorker, type TrainingProcess } from './host';
import type { RunProgress } from './run-progress';

/** How a run ended, as its process reports it. */
export type RunFinished = Extract<RunProgress, { type: 'finished' }>;

/** Where training processes come from, and who else hears them. */
export interface TrainingHost {
  launch?: LaunchWorker;
  workerPath?: string;
  /** Every report of every run's process, as the engine words it (the CLI prints them). */
  onProgress?: (runId: number, progress: RunProgress) => void;
  /** A run process's log lines (default: stderr, prefixed with the run). */
  onLog?: (runId: number, line: string) => void;
}

/** How long closing waits for running processes to pause or stop. */
const CLOSE_TIMEOUT_MS = 30_000;

interface ActiveRun {
  projectId: number;
  kind: RunRecord['kind'];
  process: TrainingProcess;
}

/** The training processes of one workspace, by run id. */
export class RunProcesses {
  readonly #active = new Map<number, ActiveRun>();

  constructor(
    private readonly workspace: Workspace,
    private readonly events: StudioEvents,
    private readonly host: () => TrainingHost,
  ) {}

  /**
   * Starts the process of a planned (or, with `resume`, a checkpointed) run. Pretraining reports
   * as `trainingProgress` and `runChanged`, probes and fine-tuning as `evaluationProgress`.
   */
  launchRun(runId: number, options: { resume?: boolean } = {}): TrainingProcess {
    const run = this.workspace.runs.get(runId);
    if (this.#active.has(runId)) throw new StudioError('CONFLICT', `run ${runId} is already running`);
    const { launch, workerPath, onProgress, onLog } = this.host();
    const log = (line: string) => (onLog ? onLog(runId, line) : console.error(`[run ${runId}] ${line}`));
    const report =
      run.kind === 'pretrain'
        ? this.#pretrainEvents(runId, run.projectId, log)
        : this.#evaluationEvents(runId, run.kind);
    const started = startTraining(this.workspace.root, runId, {
      ...(launch && { launch }),
      ...(workerPath && { workerPath }),
      resume: options.resume === true,
      onProgress: (progress) => {
        report.progress(progress);
        onProgress?.(runId, progress);
      },
      onLog: log,
    });
    this.#active.set(runId, { projectId: run.projectId, kind: run.kind, process: started });
    report.launched();
    started.done
      .then(
        (finished) => report.ended(finished),
        (error: unknown) => report.failed(error instanceof Error ? error.message : String(error)),
      )
      .finally(() => {
        this.#active.delete(runId);
        report.gone();
      });
    return started;
  }

  /**
   * Re-fits a probe on its stored features with today's labels, in a throwaway process of the
   * same launcher (no run is stored, so nothing is tracked).
   */
  reprobe(probeRunId: number): Promise<ReprobeReport> {
    const { launch, workerPath } = this.host();
    return reprobeInWorker(this.workspace.root, probeRunId, {
      ...(launch && { launch }),
      ...(workerPath && { workerPath }),
    });
  }

  /** Whether a process of this studio is working on the run. */
  isActive(runId: number): boolean {
    return this.#active.has(runId);
  }

  /** Ids of the runs of a kind with a process working on them. */
  active(kind: RunRecord['kind']): number[] {
    return [...this.#active].filter(([, entry]) => entry.kind === kind).map(([runId]) => runId);
  }

  /** The process working on a run; CONFLICT when there is none. */
  control(runId: number): TrainingProcess {
    const entry = this.#active.get(runId);
    if (!entry)
      throw new StudioError('CONFLICT', `run ${runId} is not running`, {
        status: this.workspace.runs.get(runId).status,
      });
    return entry.process;
  }

  /** Resolves with how the run's process ended; rejects as the process does (interrupted, failed to start). */
  finished(runId: number): Promise<RunFinished> {
    return this.control(runId).done;
  }

  /**
   * Asks every process to end with a checkpoint — pretraining pauses (resume continues), probes
   * and fine-tuning stop — and waits for them, bounded; the ones still running are killed.
   */
  async close(): Promise<void> {
    const running = [...this.#active.values()];
    for (const { kind, process } of running) {
      if (kind === 'pretrain') process.pause();
      else process.stop();
    }
    const settled = Promise.allSettled(running.map(({ process }) => process.done));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref());
    await Promise.race([settled, timeout]);
    for (const { process } of this.#active.values()) process.worker.kill();
  }

  #pretrainEvents(runId: number, projectId: number, log: (line: string) => void) {
    const base = { runId, projectId };
    return {
      progress: (progress: RunProgress) => {
        if (progress.type === 'finished') return;
        if (progress.type === 'checkpoint' || progress.type === 'reconstruction')
          this.events.emit('trainingProgress', { ...base, type: progress.type, step: progress.step });
        else if (progress.type === 'started') {
          this.events.emit('trainingProgress', {
            ...base,
            type: 'started',
            backend: progress.backend,
            device: progress.device,
            step: progress.step,
            totalSteps: progress.totalSteps,
          });
          this.#changed(runId);
        } else this.events.emit('trainingProgress', { ...base, ...progress });
      },
      launched: () => this.#changed(runId),
      // How it ended is the run's status, which `runChanged` carries; a process that died says why here.
      ended: (_finished: RunFinished) => {},
      failed: (message: string) => log(message),
      gone: () => this.#changed(runId),
    };
  }

  #evaluationEvents(runId: number, kind: 'probe' | 'finetune') {
    const finish = (status: string, step: number, error?: string) =>
      this.events.emit('evaluationProgress', {
        runId,
        kind,
        phase: 'finished',
        step,
        totalSteps: step,
        loss: null,
        status,
        ...(error && { error }),
      });
    return {
      progress: (progress: RunProgress) => {
        if (progress.type === 'started')
          this.events.emit('evaluationProgress', {
            runId,
            kind,
            phase: 'started',
            step: progress.step,
            totalSteps: progress.totalSteps,
            loss: null,
          });
        if (progress.type === 'step')
          this.events.emit('evaluationProgress', {
            runId,
            kind,
            phase: 'step',
            step: progress.step,
            totalSteps: progress.totalSteps,
            loss: progress.loss,
          });
      },
      launched: () => {},
      ended: (finished: RunFinished) => finish(finished.status, finished.step, finished.reason),
      failed: (message: string) => finish('failed', 0, message),
      gone: () => {},
    };
  }

  /** Tells the UI a pretraining run's status or activity changed. */
  #changed(runId: number): void {
    try {
      const run = this.workspace.runs.get(runId);
      this.events.emit('runChanged', {
        runId,
        projectId: run.projectId,
        status: run.status,
        error: run.error,
        active: this.#active.has(runId),
      });
    } catch {
      // Deleted meanwhile: `remove` has told the UI.
    }
  }
}
