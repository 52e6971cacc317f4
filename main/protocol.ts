/**
 * The `studio://` protocol: `studio://app/…` serves the built renderer (so module scripts load
 * without file:// CORS trouble) and `studio://thumbs/<imageId>` serves workspace thumbnails.
 * Nothing else on disk is reachable through it.
 */
import path from 'node:path';
import { net, protocol } from 'electron';
import { pathToFileURL } from 'node:url';
import { realFileInside } from '../app/safe-path';
import type { Studio } from '../app/studio';

export const SCHEME = 'studio';
/** The page every window loads. */
export const APP_URL = `${SCHEME}://app/index.html`;

/** The renderer's CSP: our own scripts and styles only, images from us. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' studio: data: blob:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/** Must run before `app.ready`. */
export function registerScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
  ]);
}

/** Installs the handler; `rendererDir` is the built renderer. */
export function setupProtocol(studio: Studio, rendererDir: string): void {
  const root = path.resolve(rendererDir);
  protocol.handle(SCHEME, async (request) => {
    const url = new URL(request.url);
    if (request.method !== 'GET') return new Response('method not allowed', { status: 405 });
    if (url.host === 'thumbs') {
      const match = /^\/(\d{1,15})$/.exec(url.pathname);
      const file = match ? studio.workspace.thumbnailFile(Number(match[1])) : null;
      return file ? net.fetch(pathToFileURL(file).toString()) : new Response('not found', { status: 404 });
    }
    if (url.host === 'app') {
      let relative: string;
      try {
        relative = decodeURIComponent(url.pathname);
      } catch {
        return new Response('bad path', { status: 400 });
      }
      const file = realFileInside(root, '.' + (relative === '/' ? '/index.html' : relative));
      if (!file) return new Response('not found', { status: 404 });
      const response = await net.fetch(pathToFileURL(file).toString());
      const headers = new Headers(response.headers);
      headers.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
      headers.set('X-Content-Type-Options', 'nosniff');
      return new Response(response.body, { status: response.status, headers });
    }
    return new Response('not found', { status: 404 });
  });
}
