/**
 * Serve mode: the renderer's static files, thumbnails and the contract over one WebSocket, for a
 * browser on this machine. Every request needs the token; only workspace thumbnails and the
 * renderer's own files are ever read from disk.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { EVENTS, StudioError, type ErrorShape } from '../contract';
import { createDispatcher } from '../rpc';
import { realFileInside } from '../safe-path';
import type { Studio } from '../studio';
import {
  allowedHostNames,
  COOKIE_NAME,
  hostAllowed,
  newToken,
  originAllowed,
  presentedToken,
  tokenMatches,
} from './auth';

export interface ServeOptions {
  studio: Studio;
  /** Folder of the built renderer (index.html and assets). */
  staticDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  token?: string;
}

/** A running server. */
export interface Served {
  url: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

/** Largest message a client may send: calls are small; anything bigger is hostile. */
const MAX_MESSAGE_BYTES = 1 << 20;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Starts serve mode; resolves once listening. */
export async function startServer(options: ServeOptions): Promise<Served> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? newToken();
  const staticDir = path.resolve(options.staticDir);
  const dispatch = createDispatcher(options.studio.services);
  // Told to every page on connect: a page that reconnects to another instance knows the server restarted.
  const instance = randomUUID();
  let allowedHosts = new Set<string>();

  const server = http.createServer((request, response) => {
    handleHttp(request, response).catch((error: unknown) => {
      console.error('[serve] request failed:', error);
      if (!response.headersSent) send(response, 500, 'internal error');
      else response.destroy();
    });
  });

  async function handleHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!hostAllowed(request, allowedHosts)) return send(response, 421, 'unexpected Host header');
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/session') {
      // Answered without the token, and says only whether the page's token is still good: after a
      // restart with a new token, an open page learns it needs the new link (and says so).
      const valid = tokenMatches(presentedToken(request, url), token);
      response
        .writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...SECURITY_HEADERS })
        .end(JSON.stringify({ valid }));
      return;
    }
    if (!tokenMatches(presentedToken(request, url), token)) {
      return send(response, 401, 'MAE Studio: missing or wrong token. Open the URL printed by `mae-studio serve`.');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'method not allowed');
    if (url.searchParams.has('token')) {
      // Trade the token in the address for a cookie, so it leaves the URL bar and history.
      response.setHeader(
        'Set-Cookie',
        `${COOKIE_NAME}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
      );
      url.searchParams.delete('token');
      response.writeHead(303, { Location: url.pathname + url.search, ...SECURITY_HEADERS }).end();
      return;
    }
    const thumb = /^\/thumbs\/(\d{1,15})$/.exec(url.pathname);
    if (thumb) return serveThumbnail(response, Number(thumb[1]));
    return serveStatic(response, url.pathname);
  }

  function serveThumbnail(response: ServerResponse, imageId: number): void {
    const file = options.studio.workspace.thumbnailFile(imageId);
    if (!file) return send(response, 404, 'no thumbnail for that image');
    sendFile(response, file, 'private, max-age=86400');
  }

  function serveStatic(response: ServerResponse, pathname: string): void {
    let relative: string;
    try {
      relative = decodeURIComponent(pathname);
    } catch {
      return send(response, 400, 'malformed path');
    }
    if (relative.includes('\0')) return send(response, 400, 'malformed path');
    const file = realFileInside(staticDir, '.' + (relative === '/' ? '/index.html' : relative));
    if (!file)
      return send(response, 404, fs.existsSync(staticDir) ? 'not found' : 'renderer not built: run `npm run build`');
    sendFile(response, file, file.endsWith('index.html') ? 'no-store' : 'private, max-age=3600');
  }

  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const refuse = (status: number, reason: string) => {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n\r\n`);
    };
    if (!hostAllowed(request, allowedHosts) || !originAllowed(request, allowedHosts)) return refuse(403, 'Forbidden');
    if (url.pathname !== '/ws') return refuse(404, 'Not Found');
    if (!tokenMatches(presentedToken(request, url), token)) return refuse(401, 'Unauthorized');
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  });

  const offEvents = options.studio.events.onAny((event, payload) => {
    const message = JSON.stringify({ type: 'event', event, payload });
    for (const client of sockets.clients) if (client.readyState === client.OPEN) client.send(message);
  }, EVENTS);

  sockets.on('connection', (ws: WebSocket) => {
    ws.send(JSON.stringify({ type: 'hello', instance }));
    ws.on('message', (data, isBinary) => {
      void answer(ws, isBinary ? null : data.toString());
    });
  });

  async function answer(ws: WebSocket, text: string | null): Promise<void> {
    const call = parseCall(text);
    if ('error' in call) {
      ws.send(JSON.stringify({ type: 'reply', id: call.id, reply: { ok: false, error: call.error } }));
      return;
    }
    const reply = await dispatch(call.channel, call.args);
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'reply', id: call.id, reply }));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  allowedHosts = allowedHostNames(host, port);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    token,
    port,
    close: async () => {
      offEvents();
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Validates one WebSocket message's envelope (its arguments are the dispatcher's business). */
function parseCall(
  text: string | null,
): { id: number; channel: string; args: unknown } | { id: number | null; error: ErrorShape } {
  const invalid = (id: number | null, message: string) => ({
    id,
    error: new StudioError('INVALID_ARGUMENT', message).toJSON(),
  });
  if (text === null) return invalid(null, 'binary messages are not accepted');
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return invalid(null, 'message is not JSON');
  }
  if (typeof message !== 'object' || message === null) return invalid(null, 'message must be an object');
  const { type, id, channel, args } = message as Record<string, unknown>;
  const safeId = typeof id === 'number' && Number.isSafeInteger(id) ? id : null;
  if (type !== 'call') return invalid(safeId, 'message.type must be "call"');
  if (safeId === null) return invalid(null, 'message.id must be an integer');
  if (typeof channel !== 'string') return invalid(safeId, 'message.channel must be a string');
  return { id: safeId, channel, args: args === undefined ? [] : args };
}

function send(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS }).end(text + '\n');
}

function sendFile(response: ServerResponse, file: string, cacheControl: string): void {
  const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  response.writeHead(200, { 'Content-Type': type, 'Cache-Control': cacheControl, ...SECURITY_HEADERS });
  fs.createReadStream(file)
    .on('error', () => response.destroy())
    .pipe(response);
}
