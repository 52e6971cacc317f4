/**
 * Entry of the training process (`child_process.fork` from the CLI and serve mode; Electron's
 * utilityProcess runs the same file, talking over `process.parentPort`) for pretraining, probe and
 * fine-tuning runs alike. Arguments: `<workspace> <runId> [resume]` runs a run by its kind;
 * `<workspace> estimate` waits for one `{type: 'estimate', plan}` message, times a few warm-up
 * steps and exits; `<workspace> reprobe <probeRunId>` re-fits a probe on its run's stored embeddings with
 * today's labels, sends `{type: 'reprobe', report}` and exits (seconds of arithmetic kept off the UI's process). It
 * reports `RunProgress` messages to its parent; `{type: 'stop'}`, SIGINT or SIGTERM stop the run after the current step
 * and `{type: 'pause'}` pauses it, each with a checkpoint, so it can be resumed.
 */
import { setVolumeCopies, volumeCopiesDir } from '../data/cache/volume-copies';
import { StudioError, type ReprobeReport } from '../contract';
import { Workspace } from '../workspace';
import { measureWarmup } from './estimate';
import { executeFinetune } from './finetune-run';
import type { PretrainPlan } from './pretrain-plan';
import { executeProbe } from './probe-run';
import { executePretrain } from './pretrain-run';
import type { ExecuteOptions } from './run-progress';
import { reprobe } from './reprobe';
import { isPretrain3dPlan } from './volume3d/plan3d';
import { executePretrain3d } from './volume3d/pretrain3d-run';

/** Messages the worker sends besides `RunProgress`. */
export type WorkerMessage =
  | { type: 'log'; line: string }
  | { type: 'error'; code: string; message: string }
  | ({ type: 'estimate' } & Awaited<ReturnType<typeof measureWarmup>>)
  | { type: 'reprobe'; report: ReprobeReport };

/** Messages the worker accepts. */
export type WorkerCommand = { type: 'stop' } | { type: 'pause' } | { type: 'estimate'; plan: PretrainPlan };

interface ParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
const send = (message: unknown) => {
  if (parentPort) return parentPort.postMessage(message);
  // Orphaned (the parent died): nothing to tell; the 'disconnect' handler below stops the run. A
  // send racing the parent's death reports EPIPE to this callback instead of crashing the process.
  if (!process.connected) return;
  process.send?.(message, undefined, {}, (error) => error && stop.abort());
};
const onCommand = (listener: (command: WorkerCommand) => void) => {
  if (parentPort) parentPort.on('message', (event) => listener(event.data as WorkerCommand));
  else process.on('message', (message) => listener(message as WorkerCommand));
};
const done = (code: number) => {
  process.exitCode = code;
  // A utility process's port keeps it alive: exit once the last messages had time to leave.
  if (parentPort) setTimeout(() => process.exit(code), 250);
  else process.disconnect?.();
};
const fail = (error: unknown) => {
  const code = error instanceof StudioError ? error.code : 'INTERNAL';
  send({ type: 'error', code, message: error instanceof Error ? error.message : String(error) });
  if (!(error instanceof StudioError)) console.error(error);
  done(error instanceof StudioError ? 1 : 2);
};

const [workspace, runIdText, mode] = process.argv.slice(2);
// Inflated .nii.gz copies go to the workspace's cache, as the studio's do.
if (workspace) setVolumeCopies(volumeCopiesDir(workspace));
const stop = new AbortController();
const pause = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop.abort());
// Orphaned (the parent died): stop cleanly rather than train for nobody.
process.on('disconnect', () => stop.abort());

/** Runs the run by its kind: pretraining, a probe, or fine-tuning. */
async function execute(workspaceDir: string, runId: number, options: ExecuteOptions) {
  const workspace = new Workspace(workspaceDir);
  let kind: string;
  let volume3d: boolean;
  try {
    const run = workspace.runs.get(runId);
    kind = run.kind;
    volume3d = isPretrain3dPlan(run.config);
  } finally {
    workspace.close();
  }
  if (kind === 'finetune') return executeFinetune(workspaceDir, runId, options);
  if (kind === 'probe') {
    const report = await executeProbe(workspaceDir, runId, options.log);
    const finished = { type: 'finished' as const, status: 'completed' as const, step: report.step, finalLoss: null };
    options.onProgress?.(finished);
    return finished;
  }
  if (volume3d) return executePretrain3d(workspaceDir, runId, options);
  return executePretrain(workspaceDir, runId, options);
}

if (runIdText === 'reprobe') {
  const opened = new Workspace(workspace!);
  reprobe(opened, Number(mode))
    .finally(() => opened.close())
    .then((report) => {
      send({ type: 'reprobe', report });
      done(0);
    }, fail);
} else if (runIdText === 'estimate') {
  onCommand((command) => {
    if (command?.type !== 'estimate') return;
    measureWarmup(workspace!, command.plan, { log: (line) => send({ type: 'log', line }) }).then((result) => {
      send({ type: 'estimate', ...result });
      done(0);
    }, fail);
  });
} else {
  onCommand((command) => {
    if (command?.type === 'stop') stop.abort();
    if (command?.type === 'pause') pause.abort();
  });
  execute(workspace!, Number(runIdText), {
    resume: mode === 'resume',
    signal: stop.signal,
    pause: pause.signal,
    onProgress: send,
    log: (line) => send({ type: 'log', line }),
    // MAE_STUDIO_TRAINING_CACHE=off reads every sample from its file (same pixels, no cache folder).
    cache: process.env.MAE_STUDIO_TRAINING_CACHE !== 'off',
  }).then(() => done(0), fail);
}
