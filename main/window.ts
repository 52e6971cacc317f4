/** The main window, with the secure web preferences every window must have. */
import path from 'node:path';
import { BrowserWindow } from 'electron';
import { APP_URL } from './protocol';

/** Creates and loads the studio window. */
export function createMainWindow(preload: string): BrowserWindow {
  const window = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 1024,
    minHeight: 640,
    show: false,
    title: 'MAE Studio',
    backgroundColor: '#16181d',
    webPreferences: {
      // The security lint's PRELOAD_JS_CHECK is off on the next line: the preload is sandboxed and exposes only
      // the contract bridge (main/bridge.ts).
      preload: path.resolve(preload), // eng-disable PRELOAD_JS_CHECK
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      // Middle-click would open links as new windows; nothing in the app needs it.
      disableBlinkFeatures: 'Auxclick',
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(APP_URL);
  return window;
}
