/**
 * The rules the main process enforces on web contents, kept free of Electron imports so they can
 * be tested in Node: which URLs are the app, which links may leave for the user's browser, and
 * which IPC senders are our own window.
 */

/** Hosts a link may open in the user's browser (`https:` only); everything else is dropped. */
export const EXTERNAL_HOSTS: readonly string[] = ['arxiv.org', 'github.com', 'www.electronjs.org'];

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** True for a page of the app itself: `studio://app/<path>`, no credentials, no port. */
export function isAppUrl(url: string): boolean {
  const parsed = parse(url);
  return (
    parsed !== null &&
    parsed.protocol === 'studio:' &&
    parsed.host === 'app' &&
    parsed.username === '' &&
    parsed.password === ''
  );
}

/** True when `url` may be handed to `shell.openExternal`: https, default port, a listed host. */
export function isAllowedExternalUrl(url: string): boolean {
  const parsed = parse(url);
  return (
    parsed !== null &&
    parsed.protocol === 'https:' &&
    parsed.port === '' &&
    parsed.username === '' &&
    parsed.password === '' &&
    EXTERNAL_HOSTS.includes(parsed.hostname)
  );
}

/** The parts of an Electron IPC event the sender check reads. */
export interface IpcEventLike {
  sender: unknown;
  senderFrame: { url: string; parent: unknown } | null;
}

/**
 * True when an IPC event comes from `window`'s own top frame showing an app page; events from
 * other web contents, from subframes or from a page navigated elsewhere are refused.
 */
export function isTrustedSender(
  event: unknown,
  window: { isDestroyed(): boolean; webContents: unknown } | undefined,
): boolean {
  if (!window || window.isDestroyed()) return false;
  const { sender, senderFrame } = (event ?? {}) as Partial<IpcEventLike>;
  if (sender !== window.webContents || !senderFrame) return false;
  return senderFrame.parent === null && isAppUrl(senderFrame.url);
}
