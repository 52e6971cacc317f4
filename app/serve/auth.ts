/**
 * Serve mode's gate: a random token printed once, exchanged for an HttpOnly cookie, checked on
 * every HTTP request and WebSocket upgrade, plus Host and Origin checks against DNS rebinding and
 * cross-site WebSocket hijacking.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE_NAME = 'mae_studio_token';

/** A fresh 256-bit token, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison of a presented token with the real one. */
export function tokenMatches(presented: string | null | undefined, token: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token a request presents: `?token=`, `Authorization: Bearer`, or our cookie. */
export function presentedToken(request: IncomingMessage, url: URL): string | null {
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) return fromQuery;
  const authorization = request.headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice('Bearer '.length).trim();
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE_NAME) return decodeURIComponent(value.join('='));
  }
  return null;
}

/** True when the Host header names this server (not a rebound DNS name). */
export function hostAllowed(request: IncomingMessage, allowedHosts: ReadonlySet<string>): boolean {
  const host = request.headers.host?.toLowerCase();
  return host !== undefined && allowedHosts.has(host);
}

/** True when a WebSocket's Origin is one of our own (browsers always send it). */
export function originAllowed(request: IncomingMessage, allowedHosts: ReadonlySet<string>): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true; // not a browser: the token alone decides
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && allowedHosts.has(url.host.toLowerCase());
  } catch {
    return false;
  }
}

/** The host:port names a browser may use to reach a server bound to `host`:`port`. */
export function allowedHostNames(host: string, port: number): Set<string> {
  const names = new Set([`${host}:${port}`]);
  if (host === '127.0.0.1' || host === 'localhost' || host === '::1') {
    for (const name of ['127.0.0.1', 'localhost', '[::1]']) names.add(`${name}:${port}`);
  }
  if (host.includes(':') && !host.startsWith('[')) names.add(`[${host}]:${port}`);
  return names;
}
