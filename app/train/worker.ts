/**
 * Entry of the training process (`child_process.fork` from the CLI and serve mode; Electron's
 * utilityProcess runs the same file) for pretraining, probe and fine-tuning runs alike. Arguments: <workspace> <runId> [resume]. It reports
 * `RunProgress` messages to its parent; `{type: 'stop'}`, SIGINT or SIGTERM stop it after the
 * current step, with a checkpoint, so the run can be resumed.
 */
import { StudioError } from '../contract';
import { Workspace } from '../workspace';
import { executeFinetune } from './finetune-run';
import { executeProbe } from './probe-run';
import { executePretrain, type ExecuteOptions } from './pretrain-run';

/** Messages the worker sends besides `RunProgress`. */
export type WorkerMessage = { type: 'log'; line: string } | { type: 'error'; code: string; message: string };

const [workspace, runIdText, mode] = process.argv.slice(2);
const controller = new AbortController();
const send = (message: unknown) => process.send?.(message);

process.on('message', (message: { type?: string }) => {
  if (message?.type === 'stop') controller.abort();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => controller.abort());
// Orphaned (the parent died): stop cleanly rather than train for nobody.
process.on('disconnect', () => controller.abort());

/** Runs the run by its kind: pretraining, a probe, or fine-tuning. */
async function execute(workspaceDir: string, runId: number, options: ExecuteOptions) {
  const workspace = new Workspace(workspaceDir);
  let kind: string;
  try {
    kind = workspace.runs.get(runId).kind;
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
  return executePretrain(workspaceDir, runId, options);
}

execute(workspace!, Number(runIdText), {
  resume: mode === 'resume',
  signal: controller.signal,
  onProgress: send,
  log: (line) => send({ type: 'log', line }),
}).then(
  () => {
    process.exitCode = 0;
    process.disconnect?.();
  },
  (error: unknown) => {
    const code = error instanceof StudioError ? error.code : 'INTERNAL';
    send({ type: 'error', code, message: error instanceof Error ? error.message : String(error) });
    if (!(error instanceof StudioError)) console.error(error);
    process.exitCode = error instanceof StudioError ? 1 : 2;
    process.disconnect?.();
  },
);
