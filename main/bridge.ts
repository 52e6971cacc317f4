/**
 * The preload's bridge, derived from the contract: it forwards only the contract's channels and
 * events, so a compromised renderer cannot reach any other IPC channel. Kept free of Electron
 * imports so it can be tested with a fake `ipcRenderer`.
 */
import { CHANNELS, EVENTS, type EventName, type Reply } from '../app/contract';

/** The IPC channel on which main pushes every contract event. */
export const EVENT_CHANNEL = 'studio:event';
/** Sent once by the renderer when it listens, so main flushes queued events. */
export const READY_CHANNEL = 'studio:ready';

/** The part of Electron's `ipcRenderer` the bridge uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  send(channel: string, ...args: unknown[]): void;
}

/** What the preload exposes as `window.studioBridge`. */
export interface StudioBridge {
  invoke(channel: string, args: unknown[]): Promise<Reply>;
  subscribe(event: string, listener: (payload: unknown) => void): () => void;
  thumbnailUrl(imageId: number): string;
  pathForFile(file: unknown): string;
}

const channelSet = new Set<string>(CHANNELS);
const eventSet = new Set<string>(EVENTS);

/** Builds the bridge over an `ipcRenderer` (and Electron's `webUtils` for dropped files). */
export function createBridge(ipc: IpcRendererLike, pathForFile: (file: unknown) => string): StudioBridge {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let ready = false;
  ipc.on(EVENT_CHANNEL, (_event, message) => {
    const { event, payload } = (message ?? {}) as { event?: string; payload?: unknown };
    for (const listener of listeners.get(event ?? '') ?? []) listener(payload);
  });
  return {
    async invoke(channel, args) {
      if (typeof channel !== 'string' || !channelSet.has(channel)) {
        return {
          ok: false,
          error: { code: 'UNKNOWN_METHOD', message: `unknown method ${String(channel).slice(0, 100)}` },
        };
      }
      return (await ipc.invoke(channel, ...(Array.isArray(args) ? args : [args]))) as Reply;
    },
    subscribe(event, listener) {
      if (!eventSet.has(event)) throw new Error(`unknown event ${String(event).slice(0, 100)}`);
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener);
      if (!ready) {
        ready = true;
        ipc.send(READY_CHANNEL);
      }
      return () => set.delete(listener);
    },
    thumbnailUrl: (imageId) => `studio://thumbs/${Math.trunc(Number(imageId))}`,
    pathForFile,
  };
}

/** Unused at run time; keeps the event type list honest for the compiler. */
export type BridgeEvent = EventName;
