/**
 * Hosts a training run in its own process, so a crash or out-of-memory never takes the UI or
 * CLI down. When the process dies without saying how the run ended, the run is marked
 * `interrupted` with the reason, and `resume` continues from its last checkpoint.
 *
 * How the process is made is the host's choice (`LaunchWorker`): `child_process.fork` here, for
 * the CLI and serve mode; Electron's `utilityProcess` in `main/`. Both run the same worker file.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StudioError, type ErrorCode, type ReprobeReport, type WarmupEstimate } from '../contract';
import { Workspace } from '../workspace';
import type { PretrainPlan } from './pretrain-plan';
import type { RunProgress } from './run-progress';
import type { WorkerCommand, WorkerMessage } from './worker';

/** A started worker process, whatever made it. */
export interface WorkerHandle {
  readonly pid: number | undefined;
  send(command: WorkerCommand): void;
  /** Ends the process now (SIGKILL where signals exist). */
  kill(): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called once when the process ends; `signal` is null where the platform does not say. */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  onError(listener: (error: Error) => void): void;
}

/** Starts the worker script with arguments. */
export type LaunchWorker = (workerPath: string, args: string[]) => WorkerHandle;

/** `child_process.fork`, the launcher of the CLI and serve mode. */
export const forkWorker: LaunchWorker = (workerPath, args) => {
  const child = fork(workerPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  return {
    pid: child.pid,
    send: (command) => {
      if (child.connected) child.send(command);
      else if (command.type !== 'estimate') child.kill('SIGTERM');
    },
    kill: () => child.kill('SIGKILL'),
    onMessage: (listener) => child.on('message', listener),
    onExit: (listener) => child.once('exit', (code, signal) => listener(code, signal)),
    onError: (listener) => child.once('error', listener),
  };
};

export interface TrainingOptions {
  resume?: boolean;
  onProgress?: (progress: RunProgress) => void;
  onLog?: (line: string) => void;
  /** The built worker script (default: `train-worker.js` beside the built CLI). */
  workerPath?: string;
  launch?: LaunchWorker;
}

/** A running training process. */
export interface TrainingProcess {
  worker: WorkerHandle;
  /** Resolves with how the run ended; rejects with the worker's error. */
  done: Promise<Extract<RunProgress, { type: 'finished' }>>;
  /** Asks the run to stop after the current step (it checkpoints first). */
  stop(): void;
  /** Asks the run to pause after the current step (it checkpoints first; resume continues). */
  pause(): void;
}

/** Where the bundled worker sits: next to the bundled CLI, or in dist/cli when run from source. */
export function defaultWorkerPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'train-worker.js');
  return fs.existsSync(beside) ? beside : path.resolve(here, '../../dist/cli/train-worker.js');
}

function launchChecked(options: { workerPath?: string; launch?: LaunchWorker }, args: string[]): WorkerHandle {
  const workerPath = options.workerPath ?? defaultWorkerPath();
  if (!fs.existsSync(workerPath))
    throw new StudioError('INTERNAL', `training worker not built: ${workerPath} (run npm run build)`);
  return (options.launch ?? forkWorker)(workerPath, args);
}

/** Starts the training process for a run. */
export function startTraining(workspaceDir: string, runId: number, options: TrainingOptions = {}): TrainingProcess {
  const worker = launchChecked(options, [workspaceDir, String(runId), ...(options.resume ? ['resume'] : [])]);
  let finished: Extract<RunProgress, { type: 'finished' }> | undefined;
  let failure: { code: ErrorCode; message: string } | undefined;
  worker.onMessage((raw) => {
    const message = raw as RunProgress | WorkerMessage;
    if (message.type === 'log') options.onLog?.(message.line);
    else if (message.type === 'error') failure = { code: message.code as ErrorCode, message: message.message };
    else if (message.type !== 'estimate' && message.type !== 'reprobe') {
      if (message.type === 'finished') finished = message;
      options.onProgress?.(message);
    }
  });
  const done = new Promise<Extract<RunProgress, { type: 'finished' }>>((resolve, reject) => {
    worker.onError((error) =>
      reject(new StudioError('INTERNAL', `could not start the training process: ${error.message}`)),
    );
    worker.onExit((code, signal) => {
      if (finished) return resolve(finished);
      if (failure) return reject(new StudioError(failure.code, failure.message));
      const reason = signal
        ? `the training process was killed (${signal})`
        : `the training process exited with code ${code}`;
      markInterrupted(workspaceDir, runId, reason);
      reject(
        new StudioError(
          'INTERNAL',
          `run ${runId} interrupted: ${reason}; resume it to continue from its last checkpoint`,
        ),
      );
    });
  });
  return { worker, done, stop: () => worker.send({ type: 'stop' }), pause: () => worker.send({ type: 'pause' }) };
}

/** Times a few warm-up steps of a plan in a throwaway training process. */
export function estimateInWorker(
  workspaceDir: string,
  plan: PretrainPlan,
  options: { workerPath?: string; launch?: LaunchWorker; timeoutMs?: number } = {},
): Promise<WarmupEstimate> {
  const worker = launchChecked(options, [workspaceDir, 'estimate']);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      settle(() =>
        reject(
          new StudioError(
            'CONFLICT',
            `the warm-up took longer than ${Math.round((options.timeoutMs ?? 120_000) / 1000)} ` +
              `s: this recipe is very slow here; try a smaller model or batch`,
          ),
        ),
      );
      worker.kill();
    }, options.timeoutMs ?? 120_000);
    worker.onMessage((raw) => {
      const message = raw as WorkerMessage;
      if (message.type === 'estimate') {
        const { type: _type, ...measurement } = message;
        settle(() => resolve(measurement));
      } else if (message.type === 'error') {
        settle(() => reject(new StudioError(message.code as ErrorCode, message.message)));
      }
    });
    worker.onError((error) =>
      settle(() => reject(new StudioError('INTERNAL', `could not start the training process: ${error.message}`))),
    );
    worker.onExit((code, signal) =>
      settle(() =>
        reject(new StudioError('INTERNAL', `the warm-up process ended early (${signal ?? `code ${code}`})`)),
      ),
    );
    worker.send({ type: 'estimate', plan });
  });
}

/**
 * Re-fits a probe run on its cached features in a throwaway training process (`reprobe.ts`), so the fits never stall
 * the UI's process.
 */
export function reprobeInWorker(
  workspaceDir: string,
  probeRunId: number,
  options: { workerPath?: string; launch?: LaunchWorker } = {},
): Promise<ReprobeReport> {
  const worker = launchChecked(options, [workspaceDir, 'reprobe', String(probeRunId)]);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    worker.onMessage((raw) => {
      const message = raw as WorkerMessage;
      if (message.type === 'reprobe') settle(() => resolve(message.report));
      else if (message.type === 'error')
        settle(() => reject(new StudioError(message.code as ErrorCode, message.message)));
    });
    worker.onError((error) =>
      settle(() => reject(new StudioError('INTERNAL', `could not start the training process: ${error.message}`))),
    );
    worker.onExit((code, signal) =>
      settle(() => reject(new StudioError('INTERNAL', `the re-fit process ended early (${signal ?? `code ${code}`})`))),
    );
  });
}

/** Records that a run's process died, unless the run already ended some other way. */
export function markInterrupted(workspaceDir: string, runId: number, reason: string): void {
  const workspace = new Workspace(workspaceDir);
  try {
    const run = workspace.runs.get(runId);
    if (run.status === 'running' || run.status === 'queued')
      workspace.runs.setStatus(runId, 'interrupted', { error: reason });
  } finally {
    workspace.close();
  }
}
