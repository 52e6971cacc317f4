/**
 * The CLI's one way into the studio: the contract's client over `createDispatcher`, exactly as the
 * desktop and browser transports reach it, so a command gets the argument schemas, the checks and
 * the defaults the UI gets. The CLI is the studio's host: it hears the runs' processes (to print
 * their progress) and waits for the ones it started.
 */
import path from 'node:path';
import {
  createClient,
  StudioError,
  type ImportProgress,
  type ImportResult,
  type ImportStartOptions,
  type StudioClient,
} from '../contract';
import { createDispatcher } from '../rpc';
import { Studio } from '../studio';
import type { RunFinished, TrainingHost } from '../train/run-processes';

/** A workspace opened for one command: the client to call, and the studio to wait on. */
export interface CliSession {
  client: StudioClient;
  /** Resolves with how a run this session started ended; stops it (with a checkpoint) on Ctrl-C or SIGTERM. */
  finished(runId: number, stop: () => Promise<void>): Promise<RunFinished>;
}

/** Opens a workspace for one command, hands its session to `run`, and always closes it. */
export async function withClient<T>(
  workspace: string,
  host: TrainingHost,
  run: (session: CliSession) => Promise<T>,
): Promise<T> {
  const studio = new Studio(path.resolve(workspace), { training: host });
  const dispatch = createDispatcher(studio.services);
  const client = createClient({
    invoke: (channel, args) => dispatch(channel, args),
    subscribe: (event, listener) => studio.events.on(event, listener),
  });
  const finished = async (runId: number, stop: () => Promise<void>) => {
    const done = studio.training.processes.finished(runId);
    const onSignal = () => void stop().catch(() => {}); // ended meanwhile: nothing to stop
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      return await done;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  };
  try {
    return await run({ client, finished });
  } finally {
    await studio.close();
  }
}

/**
 * Imports folders through the `imports` service, as the UI does: progress from `importProgress`,
 * the result from `importFinished`; Ctrl-C cancels it (`imports.cancel`), keeping what was imported.
 */
export async function importAndWait(
  client: StudioClient,
  projectId: number,
  folders: string[],
  onProgress: (progress: ImportProgress) => void = () => {},
  options: ImportStartOptions = {},
): Promise<ImportResult> {
  const finished = new Map<string, ImportResult>();
  let importId: string | undefined;
  let settle: ((result: ImportResult) => void) | undefined;
  // Until `start` answers, this project's events are ours: the walk may report before it does.
  const ours = (event: { importId: string; projectId: number }) =>
    importId === undefined ? event.projectId === projectId : event.importId === importId;
  const offProgress = client.on('importProgress', (progress) => {
    if (ours(progress)) onProgress(progress);
  });
  const offFinished = client.on('importFinished', (result) => {
    finished.set(result.importId, result);
    if (result.importId === importId) settle?.(result);
  });
  const cancel = () => {
    if (importId !== undefined) void client.imports.cancel(importId).catch(() => {}); // finished meanwhile
  };
  process.once('SIGINT', cancel);
  try {
    const result = await new Promise<ImportResult>((resolve, reject) => {
      settle = resolve;
      client.imports.start(projectId, folders, options).then((started) => {
        importId = started.importId;
        const early = finished.get(importId);
        if (early) resolve(early);
      }, reject);
    });
    if (result.error) throw new StudioError('INTERNAL', `the import failed: ${result.error}`);
    return result;
  } finally {
    offProgress();
    offFinished();
    process.off('SIGINT', cancel);
  }
}
