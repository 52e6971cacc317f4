/**
 * `ipcMain` bindings, derived from the contract: one handler per channel, each refusing senders
 * that are not our own window's top frame, each answering with a `Reply` from the dispatcher.
 */
import { CHANNELS, EVENTS, StudioError, type EventName } from '../app/contract';
import type { Dispatch } from '../app/rpc';
import type { StudioEvents } from '../app/rpc';
import { EVENT_CHANNEL, READY_CHANNEL } from './bridge';

/** The part of Electron's `ipcMain` used here. */
export interface IpcMainLike {
  // Electron passes its own event types; `any` keeps this usable with both Electron and test fakes.
  // biome-ignore lint/suspicious/noExplicitAny: Electron's event types and test fakes both fit here.
  handle(channel: string, handler: (event: any, ...args: any[]) => unknown): void;
  // biome-ignore lint/suspicious/noExplicitAny: Electron's event types and test fakes both fit here.
  on(channel: string, listener: (event: any, ...args: any[]) => void): unknown;
}

/** Binds every contract channel; `trusted` decides whether an IPC event comes from our window. */
export function bindIpc(ipcMain: IpcMainLike, dispatch: Dispatch, trusted: (event: unknown) => boolean): void {
  for (const channel of CHANNELS) {
    ipcMain.handle(channel, (event: unknown, ...args: unknown[]) => {
      if (!trusted(event)) {
        return { ok: false, error: new StudioError('UNAUTHORIZED', 'IPC from an unknown sender was refused').toJSON() };
      }
      return dispatch(channel, args);
    });
  }
}

/** Events kept for a renderer that has not said it listens yet; older ones are dropped. */
const MAX_QUEUED_EVENTS = 500;

/** A renderer that receives events. */
export interface EventTarget {
  isDestroyed(): boolean;
  send(channel: string, message: unknown): void;
}

/**
 * Forwards core events to a renderer, queueing them until its preload says it listens
 * (an event sent before that would be lost).
 */
export function forwardEvents(
  events: StudioEvents,
  target: EventTarget,
  ipcMain: IpcMainLike,
  isSender: (event: unknown) => boolean,
) {
  let ready = false;
  const queue: { event: EventName; payload: unknown }[] = [];
  ipcMain.on(READY_CHANNEL, (event: unknown) => {
    if (!isSender(event)) return;
    ready = true;
    for (const message of queue.splice(0)) target.send(EVENT_CHANNEL, message);
  });
  return events.onAny((event, payload) => {
    if (target.isDestroyed()) return;
    if (ready) target.send(EVENT_CHANNEL, { event, payload });
    else if (queue.push({ event, payload }) > MAX_QUEUED_EVENTS) queue.shift();
  }, EVENTS);
}
