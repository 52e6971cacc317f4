/**
 * App-wide hardening for every web contents: no navigation away from the app, no new windows,
 * no webviews, every permission request denied, links open in the browser only for listed hosts.
 */
import { app, session, shell } from 'electron';
import { isAllowedExternalUrl, isAppUrl } from './navigation';

/** Installs the handlers; call before `app.ready` (the sandbox switch) and before any window. */
export function setupSecurity(): void {
  // Every renderer sandboxed, whatever a future window's webPreferences say.
  app.enableSandbox();
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      // Nothing opens inside the app; a link to a listed documentation host opens in the browser.
      // The security lint's OPEN_EXTERNAL_JS_CHECK is off on the next line: isAllowedExternalUrl checks the URL.
      if (isAllowedExternalUrl(url)) void shell.openExternal(url); // eng-disable OPEN_EXTERNAL_JS_CHECK
      return { action: 'deny' };
    });
  });
}

/** Denies every permission the web platform can ask for (camera, notifications, HID, USB, …). */
export function setupSessionPermissions(): void {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  session.defaultSession.setDevicePermissionHandler(() => false);
}
