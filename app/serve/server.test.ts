import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../studio';
import { startServer, type Served } from './server';

let dir: string;
let studio: Studio;
let served: Served;
let origin: string;

/** A raw GET, so tests control every header (fetch would add its own). */
function get(
  pathname: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port: served.port, path: pathname, headers }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
    });
    request.on('error', reject);
  });
}

/** Opens a WebSocket and resolves with the HTTP status of the upgrade (101 when accepted). */
function upgrade(pathname: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`ws://127.0.0.1:${served.port}${pathname}`, { headers });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.once('error', () => resolve(0));
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-serve-'));
  const rendererDir = path.join(dir, 'renderer');
  fs.mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>MAE Studio</title>');
  fs.writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'do not serve');
  // Links planted inside the served folders, pointing out of them.
  fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(rendererDir, 'assets', 'leak.js'));
  fs.symlinkSync(dir, path.join(rendererDir, 'outside'));
  studio = new Studio(path.join(dir, 'workspace'));
  // Thumbnails: one real; the others are rows whose stored path leads out of the project folder.
  const project = studio.workspace.projects.create('Serve test', 'microscopy');
  const thumbs = path.join(studio.workspace.projectDir(project.id), 'thumbs');
  fs.mkdirSync(thumbs, { recursive: true });
  fs.writeFileSync(path.join(thumbs, 'good.webp'), 'thumbnail bytes');
  fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(thumbs, 'link.webp'));
  const insert = studio.workspace.db.prepare(
    'INSERT INTO images (id, project_id, path, thumbnail, imported_at) VALUES (?, ?, ?, ?, ?)',
  );
  const thumbnailPaths = [
    'thumbs/good.webp',
    'thumbs/link.webp',
    '../../../secret.txt',
    path.join(dir, 'secret.txt'),
    'thumbs',
    '../../studio.sqlite',
  ];
  thumbnailPaths.forEach((thumbnail, index) =>
    insert.run(100 + index, project.id, `/images/${index}.tif`, thumbnail, new Date().toISOString()),
  );
  served = await startServer({ studio, staticDir: rendererDir });
  origin = `http://127.0.0.1:${served.port}`;
});
afterAll(async () => {
  await served.close();
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('serve mode', () => {
  it('binds to 127.0.0.1 and prints a URL carrying a long random token', () => {
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/);
  });

  it('refuses every HTTP request without the right token', async () => {
    for (const pathname of ['/', '/index.html', '/assets/app.js', '/thumbs/1', `/?token=${'x'.repeat(43)}`]) {
      const response = await get(pathname);
      expect(response.status, pathname).toBe(401);
      expect(response.body).toMatch(/token/);
    }
  });

  it('trades the token for an HttpOnly cookie and then serves the app', async () => {
    const first = await get(`/?token=${served.token}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    const cookie = first.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await get('/', { cookie: cookie.split(';')[0]! });
    expect(page.status).toBe(200);
    expect(page.body).toContain('MAE Studio');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('serves nothing outside the renderer folder or workspace thumbnails', async () => {
    const auth = { authorization: `Bearer ${served.token}` };
    for (const pathname of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/thumbs/../studio.sqlite',
      '/thumbs/1',
      '/%00',
    ]) {
      const response = await get(pathname, auth);
      expect([400, 404], pathname).toContain(response.status);
      expect(response.body).not.toContain('do not serve');
    }
  });

  it('refuses absolute paths, encoded dot segments and backslashes', async () => {
    const auth = { authorization: `Bearer ${served.token}` };
    const secret = encodeURIComponent(path.join(dir, 'secret.txt'));
    for (const pathname of [
      `/${secret}`,
      `//${path.join(dir, 'secret.txt').slice(1)}`,
      '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/%2E%2E%2Fsecret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%5csecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/%252e%252e/secret.txt',
      '/%c0%ae%c0%ae/secret.txt',
    ]) {
      const response = await get(pathname, auth);
      expect([400, 404], pathname).toContain(response.status);
      expect(response.body, pathname).not.toContain('do not serve');
    }
  });

  it('follows no symlink out of the renderer folder', async () => {
    const auth = { authorization: `Bearer ${served.token}` };
    expect((await get('/assets/app.js', auth)).status).toBe(200); // the control: a real file is served
    for (const pathname of ['/assets/leak.js', '/outside/secret.txt']) {
      const response = await get(pathname, auth);
      expect(response.status, pathname).toBe(404);
      expect(response.body, pathname).not.toContain('do not serve');
    }
  });

  it('serves a thumbnail only from its project folder, whatever path the database holds', async () => {
    const auth = { authorization: `Bearer ${served.token}` };
    const good = await get('/thumbs/100', auth);
    expect(good.status).toBe(200);
    expect(good.body).toBe('thumbnail bytes');
    for (const id of [101, 102, 103, 104, 105, 999]) {
      const response = await get(`/thumbs/${id}`, auth);
      expect(response.status, `image ${id}`).toBe(404);
      expect(response.body).not.toContain('do not serve');
    }
  });

  it('refuses requests whose Host is not this server (DNS rebinding)', async () => {
    const response = await get('/', { authorization: `Bearer ${served.token}`, host: 'evil.example:80' });
    expect(response.status).toBe(421);
  });

  it('refuses WebSocket upgrades without the token or from a foreign origin', async () => {
    expect(await upgrade('/ws')).toBe(401);
    expect(await upgrade('/ws?token=wrong')).toBe(401);
    expect(await upgrade(`/ws?token=${served.token}`, { origin: 'https://evil.example' })).toBe(403);
    expect(await upgrade(`/elsewhere?token=${served.token}`)).toBe(404);
    expect(await upgrade(`/ws?token=${served.token}`, { origin })).toBe(101);
  });

  it('greets each socket with the server instance; tells a page lacking the token only that it is bad', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${served.port}/ws?token=${served.token}`);
    const hello = await new Promise<{ type: string; instance: string }>((resolve) =>
      socket.once('message', (data) => resolve(JSON.parse(data.toString()))),
    );
    expect(hello.type).toBe('hello');
    expect(hello.instance).toMatch(/^[0-9a-f-]{36}$/);
    socket.close();
    const session = async (headers: Record<string, string>) =>
      (await fetch(`http://127.0.0.1:${served.port}/session`, { headers })).json();
    expect(await session({})).toEqual({ valid: false });
    expect(await session({ cookie: 'mae_studio_token=stale' })).toEqual({ valid: false });
    expect(await session({ cookie: `mae_studio_token=${served.token}` })).toEqual({ valid: true });
  });

  it('answers malformed WebSocket messages with typed errors and keeps the connection', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${served.port}/ws?token=${served.token}`);
    await new Promise((resolve) => socket.once('open', resolve));
    const replies: { id: number | null; reply: { ok: boolean; error?: { code: string } } }[] = [];
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === 'reply') replies.push(message);
    });
    for (const message of [
      'not json',
      '[]',
      '{"type":"call"}',
      '{"type":"call","id":2,"channel":5}',
      '{"type":"call","id":3,"channel":"no.such"}',
      '{"type":"call","id":4,"channel":"projects.get","args":["x"]}',
      '{"type":"call","id":5,"channel":"projects.list","args":[]}',
    ]) {
      socket.send(message);
    }
    await expect.poll(() => replies.length).toBe(7);
    expect(replies.slice(0, 6).every((r) => r.reply.ok === false)).toBe(true);
    expect(replies.find((r) => r.id === 3)?.reply.error?.code).toBe('UNKNOWN_METHOD');
    expect(replies.find((r) => r.id === 4)?.reply.error?.code).toBe('INVALID_ARGUMENT');
    expect(replies.find((r) => r.id === 5)?.reply.ok).toBe(true);
    socket.close();
  });
});
