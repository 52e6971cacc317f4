/** The connection to the core as reactive state, for the "Reconnecting…" banner. */
import { getContext, setContext } from 'svelte';
import type { ConnectionStatus, RendererTransport } from '../transport';

/** Mirrors the transport's connection status. */
export class ConnectionState {
  status = $state<ConnectionStatus>('connecting');
  /** Bumped on every reconnect, so views can refetch what they show. */
  reconnects = $state(0);
  /** The page reconnected to a server that had restarted (same link, kept by --stable-token). */
  restarted = $state(false);
  readonly dispose: () => void;

  constructor(transport: RendererTransport) {
    let wasLost = false;
    transport.onRestart?.(() => {
      this.restarted = true;
      setTimeout(() => (this.restarted = false), 8000);
    });
    this.dispose = transport.onStatus((status) => {
      this.status = status;
      if (status === 'reconnecting') wasLost = true;
      if (status === 'open' && wasLost) {
        wasLost = false;
        this.reconnects += 1;
      }
    });
  }
}

const KEY = Symbol('connection');

/** Provides the connection state; call once in the root component. */
export function setConnection(state: ConnectionState): ConnectionState {
  return setContext(KEY, state);
}

/** The connection state provided by the root component. */
export function useConnection(): ConnectionState {
  return getContext<ConnectionState>(KEY);
}
