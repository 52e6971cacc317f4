/**
 * Hosts a training run in its own process, so a crash or out-of-memory never takes the UI or
 * CLI down. When the process dies without saying how the run ended, the run is marked
 * `interrupted` with the reason, and `resume` continues from its last checkpoint.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StudioError, type ErrorCode } from '../contract';
import { Workspace } from '../workspace';
import type { RunProgress } from './pretrain-run';
import type { WorkerMessage } from './worker';

export interface TrainingOptions {
  resume?: boolean;
  onProgress?: (progress: RunProgress) => void;
  onLog?: (line: string) => void;
  /** The built worker script (default: `train-worker.js` beside the built CLI). */
  workerPath?: string;
}

/** A running training process. */
export interface TrainingProcess {
  child: ChildProcess;
  /** Resolves with how the run ended; rejects with the worker's error. */
  done: Promise<Extract<RunProgress, { type: 'finished' }>>;
  /** Asks the run to stop after the current step (it checkpoints first). */
  stop(): void;
}

/** Where the bundled worker sits: next to the bundled CLI, or in dist/cli when run from source. */
export function defaultWorkerPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'train-worker.js');
  return fs.existsSync(beside) ? beside : path.resolve(here, '../../dist/cli/train-worker.js');
}

/** Starts the training process for a run. */
export function startTraining(workspaceDir: string, runId: number, options: TrainingOptions = {}): TrainingProcess {
  const workerPath = options.workerPath ?? defaultWorkerPath();
  if (!fs.existsSync(workerPath)) throw new StudioError('INTERNAL', `training worker not built: ${workerPath} (run npm run build)`);
  const child = fork(workerPath, [workspaceDir, String(runId), ...(options.resume ? ['resume'] : [])], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  let finished: Extract<RunProgress, { type: 'finished' }> | undefined;
  let failure: { code: ErrorCode; message: string } | undefined;
  child.on('message', (message: RunProgress | WorkerMessage) => {
    if (message.type === 'log') options.onLog?.(message.line);
    else if (message.type === 'error') failure = { code: message.code as ErrorCode, message: message.message };
    else {
      if (message.type === 'finished') finished = message;
      options.onProgress?.(message);
    }
  });
  const done = new Promise<Extract<RunProgress, { type: 'finished' }>>((resolve, reject) => {
    child.once('error', (error) => reject(new StudioError('INTERNAL', `could not start the training process: ${error.message}`)));
    child.once('exit', (code, signal) => {
      if (finished) return resolve(finished);
      if (failure) return reject(new StudioError(failure.code, failure.message));
      const reason = signal ? `the training process was killed (${signal})` : `the training process exited with code ${code}`;
      markInterrupted(workspaceDir, runId, reason);
      reject(new StudioError('INTERNAL', `run ${runId} interrupted: ${reason}; resume it to continue from its last checkpoint`));
    });
  });
  return {
    child,
    done,
    stop: () => {
      if (child.connected) child.send({ type: 'stop' });
      else child.kill('SIGTERM');
    },
  };
}

/** Records that a run's process died, unless the run already ended some other way. */
export function markInterrupted(workspaceDir: string, runId: number, reason: string): void {
  const workspace = new Workspace(workspaceDir);
  try {
    const run = workspace.runs.get(runId);
    if (run.status === 'running' || run.status === 'queued') workspace.runs.setStatus(runId, 'interrupted', { error: reason });
  } finally {
    workspace.close();
  }
}
