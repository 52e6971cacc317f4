/**
 * The renderer's side of the two transports: Electron's preload bridge, or a WebSocket to serve
 * mode when the page runs in a plain browser. Both carry the same `Reply` envelopes, so the typed
 * client from `createClient` sits on top of either without knowing which.
 */
import { StudioError, type Channel, type EventName, type Reply, type Transport } from '$contract';

/** What the Electron preload exposes on `window.studioBridge`. */
export interface StudioBridge {
  invoke(channel: string, args: unknown[]): Promise<Reply>;
  subscribe(event: string, listener: (payload: unknown) => void): () => void;
  /** `studio://thumbs/<id>`, served by the main process. */
  thumbnailUrl(imageId: number): string;
  /** The absolute path of a dropped file or folder. */
  pathForFile(file: File): string;
}

declare global {
  interface Window {
    studioBridge?: StudioBridge;
  }
}

/**
 * Whether the renderer can reach the core right now. 'new-link': serve mode restarted with a new
 * token, so this page can never reconnect; the user needs the link the new server printed.
 */
export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'new-link';

/** A transport plus what the UI needs to know about where it runs. */
export type RendererTransport = Transport & {
  readonly kind: 'electron' | 'browser';
  /** Where the `<img>` of an image's thumbnail points. */
  thumbnailUrl(imageId: number): string;
  /** Absolute path of a dropped file; only Electron knows it. */
  pathForFile?(file: File): string;
  /** Hears connection changes; Electron is always open. */
  onStatus(listener: (status: ConnectionStatus) => void): () => void;
  /** Hears that the page reconnected to a restarted server (serve mode with a stable token). */
  onRestart?(listener: () => void): () => void;
};

/** Picks the transport for this page: the preload bridge when present, else serve mode's socket. */
export function createRendererTransport(): RendererTransport {
  const bridge = window.studioBridge;
  return bridge ? createElectronTransport(bridge) : createBrowserTransport();
}

/** Wraps Electron's preload bridge. */
export function createElectronTransport(bridge: StudioBridge): RendererTransport {
  return {
    kind: 'electron',
    invoke: (channel, args) => bridge.invoke(channel, args),
    subscribe: (event, listener) => bridge.subscribe(event, listener),
    thumbnailUrl: (imageId) => bridge.thumbnailUrl(imageId),
    pathForFile: (file) => bridge.pathForFile(file),
    onStatus(listener) {
      listener('open');
      return () => {};
    },
  };
}

type ServerMessage =
  | { type: 'reply'; id: number; reply: Reply }
  | { type: 'event'; event: string; payload: unknown }
  | { type: 'hello'; instance: string };

interface PendingCall {
  resolve(reply: Reply): void;
  reject(error: StudioError): void;
  message: string;
  sent: boolean;
}

const FIRST_RETRY_MS = 400;
const MAX_RETRY_MS = 8000;

/** Connects to serve mode over `/ws`, reconnecting with backoff whenever the socket drops. */
export function createBrowserTransport(): RendererTransport {
  const token = takeTokenFromAddressBar();
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${query}`;
  const pending = new Map<number, PendingCall>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const statusListeners = new Set<(status: ConnectionStatus) => void>();
  let status: ConnectionStatus = 'connecting';
  let socket: WebSocket | null = null;
  const restartListeners = new Set<() => void>();
  let instance: string | null = null;
  let nextId = 1;
  let attempt = 0;

  function setStatus(next: ConnectionStatus): void {
    status = next;
    for (const listener of statusListeners) listener(next);
  }

  async function tokenStillValid(): Promise<boolean> {
    try {
      const response = await fetch('/session', { cache: 'no-store', credentials: 'same-origin' });
      return ((await response.json()) as { valid?: boolean }).valid !== false;
    } catch {
      return true; // the server is down, not replaced: keep trying
    }
  }

  function connect(): void {
    const ws = new WebSocket(url);
    let opened = false;
    socket = ws;
    ws.addEventListener('open', () => {
      opened = true;
      attempt = 0;
      setStatus('open');
      for (const call of pending.values()) {
        if (!call.sent) {
          ws.send(call.message);
          call.sent = true;
        }
      }
    });
    ws.addEventListener('message', (event) => handleMessage(event.data));
    ws.addEventListener('close', () => {
      if (socket !== ws) return;
      socket = null;
      failPending();
      if (status !== 'new-link') setStatus('reconnecting');
      // Exponential backoff with jitter, so many tabs do not hammer a restarting server at once.
      const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      attempt += 1;
      // A server that answers but refuses the socket was restarted with another token.
      const retry = opened ? Promise.resolve(true) : tokenStillValid();
      void retry.then((valid) => {
        if (!valid) setStatus('new-link');
        setTimeout(connect, valid ? delay : MAX_RETRY_MS);
      });
    });
  }

  function handleMessage(data: unknown): void {
    let message: ServerMessage;
    try {
      message = JSON.parse(String(data)) as ServerMessage;
    } catch (error) {
      console.error('[studio] unreadable message from the server', error);
      return;
    }
    if (message.type === 'reply') {
      const call = pending.get(message.id);
      pending.delete(message.id);
      call?.resolve(message.reply);
    } else if (message.type === 'event') {
      for (const listener of listeners.get(message.event) ?? []) listener(message.payload);
    } else if (message.type === 'hello') {
      if (instance !== null && instance !== message.instance) for (const listener of restartListeners) listener();
      instance = message.instance;
    }
  }

  function failPending(): void {
    const calls = [...pending.values()];
    pending.clear();
    for (const call of calls) call.reject(new StudioError('INTERNAL', 'connection to MAE Studio lost'));
  }

  connect();

  return {
    kind: 'browser',
    invoke(channel: Channel, args: unknown[]) {
      return new Promise<Reply>((resolve, reject) => {
        const id = nextId++;
        const message = JSON.stringify({ type: 'call', id, channel, args });
        const open = socket?.readyState === WebSocket.OPEN;
        pending.set(id, { resolve, reject, message, sent: open });
        if (open) socket?.send(message);
      });
    },
    subscribe(event: EventName, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
    thumbnailUrl: (imageId) => `/thumbs/${imageId}`,
    onRestart(listener) {
      restartListeners.add(listener);
      return () => restartListeners.delete(listener);
    },
    onStatus(listener) {
      statusListeners.add(listener);
      listener(status);
      return () => statusListeners.delete(listener);
    },
  };
}

/** Reads `?token=` from the page URL and removes it from the address bar (and history). */
function takeTokenFromAddressBar(): string | null {
  const address = new URL(location.href);
  const token = address.searchParams.get('token');
  if (token !== null) {
    address.searchParams.delete('token');
    history.replaceState(history.state, '', address.pathname + address.search + address.hash);
  }
  return token;
}
