/**
 * Every method of the contract must be reachable through every transport: the preload bridge +
 * ipcMain bindings, the serve-mode WebSocket router, and the typed client over each. Adding a
 * method to `app/contract.ts` without wiring it anywhere fails here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, createClient, EVENTS, type Channel, type Reply, type Transport } from '../app/contract';
import { createDispatcher } from '../app/rpc';
import { startServer, type Served } from '../app/serve/server';
import { Studio } from '../app/studio';
import { createBridge, EVENT_CHANNEL, type StudioBridge } from './bridge';
import { bindIpc, forwardEvents } from './ipc';

/** An in-memory stand-in for Electron's two IPC ends, failing like Electron on unknown channels. */
class FakeIpc {
  handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  mainListeners = new Map<string, ((event: unknown, ...args: unknown[]) => void)[]>();
  rendererListeners = new Map<string, ((event: unknown, ...args: unknown[]) => void)[]>();
  sender = { id: 'our-window' };

  main = {
    handle: (channel: string, handler: (event: unknown, ...args: unknown[]) => unknown) => {
      if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      this.handlers.set(channel, handler);
    },
    on: (channel: string, listener: (event: unknown, ...args: unknown[]) => void) => {
      this.mainListeners.set(channel, [...(this.mainListeners.get(channel) ?? []), listener]);
    },
  };

  renderer = {
    invoke: async (channel: string, ...args: unknown[]) => {
      const handler = this.handlers.get(channel);
      if (!handler) throw new Error(`Error invoking remote method '${channel}': No handler registered`);
      return handler({ sender: this.sender }, ...structuredClone(args));
    },
    on: (channel: string, listener: (event: unknown, ...args: unknown[]) => void) => {
      this.rendererListeners.set(channel, [...(this.rendererListeners.get(channel) ?? []), listener]);
    },
    send: (channel: string, ...args: unknown[]) => {
      for (const listener of this.mainListeners.get(channel) ?? []) listener({ sender: this.sender }, ...args);
    },
  };

  /** main → renderer (webContents.send) */
  webContents = {
    isDestroyed: () => false,
    send: (channel: string, message: unknown) => {
      for (const listener of this.rendererListeners.get(channel) ?? []) listener({}, structuredClone(message));
    },
  };
}

/** A Node WebSocket client speaking serve mode's protocol, as the renderer's transport does. */
function wsTransport(url: string): Promise<Transport & { close(): void }> {
  const socket = new WebSocket(url.replace(/^http/, 'ws').replace('/?token=', '/ws?token='));
  const pending = new Map<number, (reply: Reply) => void>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let nextId = 1;
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString());
    if (message.type === 'reply') pending.get(message.id)?.(message.reply);
    if (message.type === 'event') for (const listener of listeners.get(message.event) ?? []) listener(message.payload);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('open', () =>
      resolve({
        invoke: (channel, args) =>
          new Promise((done) => {
            const id = nextId++;
            pending.set(id, done);
            socket.send(JSON.stringify({ type: 'call', id, channel, args }));
          }),
        subscribe: (event, listener) => {
          const set = listeners.get(event) ?? new Set();
          listeners.set(event, set.add(listener));
          return () => set.delete(listener);
        },
        close: () => socket.close(),
      }),
    );
  });
}

let dir: string;
let studio: Studio;
let served: Served;
let ipc: FakeIpc;
let bridge: StudioBridge;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-transports-'));
  studio = new Studio(dir, { pickFolder: async () => null });
  served = await startServer({ studio, staticDir: path.join(dir, 'no-renderer') });
  ipc = new FakeIpc();
  const trusted = (event: unknown) => (event as { sender?: unknown }).sender === ipc.sender;
  bindIpc(ipc.main, createDispatcher(studio.services), trusted);
  forwardEvents(studio.events, ipc.webContents, ipc.main, trusted);
  bridge = createBridge(ipc.renderer, () => '/dropped');
});
afterAll(async () => {
  await served.close();
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A reply that shows the call reached the core: it either ran or was refused for its arguments. */
function reachedCore(reply: Reply): boolean {
  return reply.ok || reply.error.code === 'INVALID_ARGUMENT' || reply.error.code === 'NOT_FOUND';
}

describe('contract transports', () => {
  it('declares channels as service.method, without duplicates', () => {
    expect(CHANNELS.length).toBeGreaterThan(5);
    expect(new Set(CHANNELS).size).toBe(CHANNELS.length);
    for (const channel of CHANNELS) expect(channel).toMatch(/^[a-z]+\.[a-zA-Z]+$/);
  });

  it.each(CHANNELS.map((channel) => [channel]))('reaches %s through preload + ipcMain', async (channel) => {
    expect(ipc.handlers.has(channel)).toBe(true);
    const reply = await bridge.invoke(channel, []);
    expect(reachedCore(reply), JSON.stringify(reply)).toBe(true);
  });

  it.each(CHANNELS.map((channel) => [channel]))('reaches %s through the serve WebSocket', async (channel) => {
    const transport = await wsTransport(served.url);
    const reply = await transport.invoke(channel as Channel, []);
    transport.close();
    expect(reachedCore(reply), JSON.stringify(reply)).toBe(true);
  });

  it('builds a typed client with every method over either transport', async () => {
    const transport = await wsTransport(served.url);
    for (const client of [createClient(transport), createClient(bridge as unknown as Transport)]) {
      for (const channel of CHANNELS) {
        const [service, name] = channel.split('.') as [string, string];
        expect(typeof (client as unknown as Record<string, Record<string, unknown>>)[service]?.[name]).toBe('function');
      }
      const project = await client.projects.create({ name: 'Via client' });
      expect((await client.projects.get(project.id)).name).toBe('Via client');
      await expect(client.projects.get(999_999)).rejects.toMatchObject({ name: 'StudioError', code: 'NOT_FOUND' });
    }
    transport.close();
  });

  it('refuses unknown channels in the preload and untrusted senders in main', async () => {
    expect(await bridge.invoke('shell.openExternal', ['https://example.com'])).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_METHOD' },
    });
    const handler = ipc.handlers.get('projects.list')!;
    expect(await handler({ sender: { id: 'some-other-page' } })).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHORIZED' },
    });
    expect(() => bridge.subscribe('not-an-event', () => {})).toThrow(/unknown event/);
  });

  it('delivers core events through both transports, queued in IPC until the renderer listens', async () => {
    const ipcReceived: unknown[] = [];
    const wsReceived: unknown[] = [];
    const fresh = new FakeIpc();
    const trusted = (event: unknown) => (event as { sender?: unknown }).sender === fresh.sender;
    forwardEvents(studio.events, fresh.webContents, fresh.main, trusted);
    const freshBridge = createBridge(fresh.renderer, () => '');
    const transport = await wsTransport(served.url);
    transport.subscribe('importFinished', (payload) => wsReceived.push(payload));
    const payload = {
      importId: 'x',
      projectId: 1,
      filesSeen: 0,
      imported: 0,
      samples: 0,
      skipped: 0,
      skippedFiles: [],
      duplicates: [],
      errors: [],
      seconds: 0,
      cancelled: false,
    };
    studio.events.emit('importFinished', payload); // before the renderer listens: must be queued
    freshBridge.subscribe('importFinished', (p) => ipcReceived.push(p));
    await expect.poll(() => wsReceived.length).toBe(1);
    expect(ipcReceived).toEqual([payload]);
    expect(EVENTS).toContain('importFinished');
    expect(EVENT_CHANNEL).toBe('studio:event');
    transport.close();
  });
});
