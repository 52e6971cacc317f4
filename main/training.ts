/**
 * Training processes in the desktop app: Electron's `utilityProcess` runs the same worker file
 * the CLI forks (so a crash or out-of-memory in training never takes the window down), and
 * closing the window or quitting while a run trains asks what to do with it.
 */
import path from 'node:path';
import { app, dialog, utilityProcess, type BrowserWindow } from 'electron';
import type { LaunchWorker } from '../app/train/host';
import type { Studio } from '../app/studio';

/** The built worker, beside the built CLI. */
export function workerPath(distDir: string): string {
  return path.join(distDir, 'cli', 'train-worker.js');
}

/** Launches workers as utility processes. */
export const utilityWorker: LaunchWorker = (modulePath, args) => {
  const child = utilityProcess.fork(modulePath, args, { serviceName: 'MAE Studio training', stdio: 'inherit' });
  return {
    get pid() {
      return child.pid;
    },
    send: (command) => child.postMessage(command),
    kill: () => void child.kill(),
    onMessage: (listener) => child.on('message', listener),
    // A utility process reports only its exit code; a kill shows as a non-zero code.
    onExit: (listener) => child.once('exit', (code) => listener(code, null)),
    onError: (listener) => child.once('error', (type, location) => listener(new Error(`${type} at ${location}`))),
  };
};

/**
 * Before the window closes or the app quits with runs training: ask whether to pause them
 * (checkpoint, resume later), stop them, or keep the app open.
 */
export function setupQuitGuard(studio: Studio, getWindow: () => BrowserWindow | undefined): void {
  let confirmed = false;
  const ask = async (): Promise<boolean> => {
    const active = await studio.services.training.active();
    if (active.length === 0) return true;
    const names = active.map((run) => `run ${run.id}`).join(', ');
    const window = getWindow();
    const options: Electron.MessageBoxOptions = {
      type: 'question',
      title: 'Training is running',
      message: `${active.length === 1 ? 'A run is' : `${active.length} runs are`} still training (${names}).`,
      detail:
        'Pause saves a checkpoint so you can resume later from the ' +
        'run history. Stop ends the run (it can still be resumed).',
      buttons: ['Pause and quit', 'Stop and quit', 'Keep training'],
      defaultId: 0,
      cancelId: 2,
    };
    const { response } = window ? await dialog.showMessageBox(window, options) : await dialog.showMessageBox(options);
    if (response === 2) return false;
    for (const run of active) {
      try {
        await (response === 0 ? studio.services.training.pause(run.id) : studio.services.training.stop(run.id));
      } catch {
        // It ended by itself meanwhile.
      }
    }
    await studio.training.close(); // waits for the checkpoints, bounded
    return true;
  };
  const guard = (event: Electron.Event) => {
    if (confirmed) return;
    event.preventDefault();
    void ask().then((proceed) => {
      if (!proceed) return;
      confirmed = true;
      app.quit(); // will-quit closes the studio, which waits for the paused runs' checkpoints
    });
  };
  getWindow()?.on('close', guard);
  app.on('before-quit', guard);
}
