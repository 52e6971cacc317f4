/**
 * Electron main process: opens the workspace, wires the contract to IPC, installs the protocol
 * and the hardening, then opens the window. Domain logic lives in app/; this file only wires.
 */
import './threadpool';
import path from 'node:path';
import { app, type BrowserWindow, dialog, ipcMain } from 'electron';
import { createDispatcher } from '../app/rpc';
import { Studio } from '../app/studio';
import { bindIpc, forwardEvents } from './ipc';
import { setupMenu } from './menu';
import { isTrustedSender } from './navigation';
import { registerScheme, setupProtocol } from './protocol';
import { setupSecurity, setupSessionPermissions } from './security';
import { setupQuitGuard, utilityWorker, workerPath } from './training';
import { createMainWindow } from './window';

const distDir = path.resolve(__dirname, '..');
let studio: Studio | undefined;
let mainWindow: BrowserWindow | undefined;

/** True when an IPC event comes from our main window's own top frame at our own URL. */
function fromMainWindow(event: unknown): boolean {
  return isTrustedSender(event, mainWindow);
}

async function start(): Promise<void> {
  const workspace = process.env.MAE_STUDIO_WORKSPACE ?? app.getPath('userData');
  studio = new Studio(workspace, {
    pickFolder: async () => {
      const options: Electron.OpenDialogOptions = { title: 'Import a folder of images', properties: ['openDirectory'] };
      const result = mainWindow
        ? await dialog.showOpenDialog(mainWindow, options)
        : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    training: { launch: utilityWorker, workerPath: workerPath(distDir) },
    // The import's worker threads: the same file the CLI starts (the CommonJS main cannot find it by itself).
    importWorkerPath: path.join(distDir, 'cli', 'import-worker.js'),
    mapWorkerPath: path.join(distDir, 'cli', 'map-worker.js'),
    embeddingWorkerPath: path.join(distDir, 'cli', 'embedding-worker.js'),
  });
  setupSessionPermissions();
  setupProtocol(studio, path.join(distDir, 'renderer'));
  bindIpc(ipcMain, createDispatcher(studio.services), fromMainWindow);
  setupMenu();
  mainWindow = createMainWindow(path.join(distDir, 'main', 'preload.cjs'));
  forwardEvents(studio.events, mainWindow.webContents, ipcMain, fromMainWindow);
  setupQuitGuard(studio, () => mainWindow);
}

registerScheme();
setupSecurity();
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow?.isMinimized()) mainWindow.restore();
    mainWindow?.focus();
  });
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', () => void studio?.close());
  app
    .whenReady()
    .then(start)
    .catch((error: unknown) => {
      dialog.showErrorBox('MAE Studio could not start', error instanceof Error ? error.message : String(error));
      app.exit(2);
    });
}
