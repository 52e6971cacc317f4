import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StudioError } from '$contract';
import { createBrowserTransport, type ConnectionStatus } from './transport';

/** A socket the test drives by hand: open it, feed it messages, drop it. */
class FakeSocket {
  static readonly OPEN = 1;
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  readonly #listeners = new Map<string, ((event: { data?: unknown }) => void)[]>();

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }

  addEventListener(type: string, listener: (event: { data?: unknown }) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  open(): void {
    this.readyState = FakeSocket.OPEN;
    this.#emit('open', {});
  }

  receive(message: unknown): void {
    this.#emit('message', { data: JSON.stringify(message) });
  }

  drop(): void {
    this.readyState = 3;
    this.#emit('close', {});
  }

  #emit(type: string, event: { data?: unknown }): void {
    for (const listener of this.#listeners.get(type) ?? []) listener(event);
  }
}

function latestSocket(): FakeSocket {
  const socket = FakeSocket.instances.at(-1);
  if (!socket) throw new Error('no socket was opened');
  return socket;
}

describe('createBrowserTransport', () => {
  let address: string;

  beforeEach(() => {
    FakeSocket.instances = [];
    address = 'http://127.0.0.1:5183/?token=secret#top';
    vi.stubGlobal('WebSocket', FakeSocket);
    vi.stubGlobal('location', {
      get href() {
        return address;
      },
      protocol: 'http:',
      host: '127.0.0.1:5183',
    });
    vi.stubGlobal('history', {
      state: null,
      replaceState: (_state: unknown, _title: string, url: string) => {
        address = new URL(url, 'http://127.0.0.1:5183').href;
      },
    });
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('takes the token off the address bar and hands it to the socket', () => {
    createBrowserTransport();
    expect(latestSocket().url).toBe('ws://127.0.0.1:5183/ws?token=secret');
    expect(address).toBe('http://127.0.0.1:5183/#top');
  });

  it('sends calls made before the socket opens, and resolves each by its id', async () => {
    const transport = createBrowserTransport();
    const first = transport.invoke('projects.list', []);
    const second = transport.invoke('projects.get', [7]);
    const socket = latestSocket();
    socket.open();
    expect(socket.sent).toEqual([
      { type: 'call', id: 1, channel: 'projects.list', args: [] },
      { type: 'call', id: 2, channel: 'projects.get', args: [7] },
    ]);
    socket.receive({ type: 'reply', id: 2, reply: { ok: true, value: 'seven' } });
    socket.receive({ type: 'reply', id: 1, reply: { ok: true, value: [] } });
    await expect(first).resolves.toEqual({ ok: true, value: [] });
    await expect(second).resolves.toEqual({ ok: true, value: 'seven' });
  });

  it('delivers events to their subscribers until they unsubscribe', () => {
    const transport = createBrowserTransport();
    const socket = latestSocket();
    socket.open();
    const heard: unknown[] = [];
    const stop = transport.subscribe('importProgress', (payload) => heard.push(payload));
    socket.receive({ type: 'event', event: 'importProgress', payload: { processed: 1 } });
    socket.receive({ type: 'event', event: 'importFinished', payload: { imported: 1 } });
    stop();
    socket.receive({ type: 'event', event: 'importProgress', payload: { processed: 2 } });
    expect(heard).toEqual([{ processed: 1 }]);
  });

  it('rejects pending calls when the socket drops, then reconnects with backoff', async () => {
    vi.useFakeTimers();
    const transport = createBrowserTransport();
    const statuses: ConnectionStatus[] = [];
    transport.onStatus((status) => statuses.push(status));
    latestSocket().open();
    const pending = transport.invoke('projects.list', []);
    latestSocket().drop();

    const error = await pending.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StudioError);
    expect(error).toMatchObject({ code: 'INTERNAL', message: 'connection to MAE Studio lost' });
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting']);

    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.instances).toHaveLength(2);
    latestSocket().open();
    expect(statuses.at(-1)).toBe('open');
  });

  it('points thumbnails at the same-origin /thumbs route', () => {
    expect(createBrowserTransport().thumbnailUrl(42)).toBe('/thumbs/42');
  });
});
