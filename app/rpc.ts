/**
 * The server side of the contract, shared by every transport (IPC, WebSocket, in-process):
 * validates a call's channel and arguments against `contract.ts`, runs it, and turns any outcome
 * into a `Reply`. A malformed call gets a typed error; nothing a caller sends can crash the core.
 */
import { EventEmitter } from 'node:events';
import type { z } from 'zod';
import { methodSpec, StudioError, type EventName, type EventPayload, type Reply, type StudioImpl } from './contract';

/** Calls one channel with raw, untrusted arguments. */
export type Dispatch = (channel: string, args: unknown) => Promise<Reply>;

/** Builds the dispatcher for a core implementation. */
export function createDispatcher(impl: StudioImpl, log: (error: unknown) => void = logInternal): Dispatch {
  return async (channel, args) => {
    const spec = typeof channel === 'string' ? methodSpec(channel) : undefined;
    if (!spec) {
      return fail(new StudioError('UNKNOWN_METHOD', `unknown method ${JSON.stringify(String(channel)).slice(0, 200)}`));
    }
    if (!Array.isArray(args)) {
      return fail(new StudioError('INVALID_ARGUMENT', `${channel}: arguments must be an array`));
    }
    const parsed = spec.args.safeParse(args);
    if (!parsed.success) {
      return fail(
        new StudioError('INVALID_ARGUMENT', `${channel}: ${describeIssues(parsed.error)}`, {
          issues: parsed.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })),
        }),
      );
    }
    const [service, name] = channel.split('.') as [string, string];
    const table = (impl as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>)[service];
    const fn = table?.[name];
    if (typeof fn !== 'function') {
      return fail(new StudioError('UNSUPPORTED', `${channel} is not available here`));
    }
    try {
      const value = await fn.apply(table, parsed.data as unknown[]);
      return { ok: true, value: value === undefined ? null : value };
    } catch (error) {
      if (error instanceof StudioError) return fail(error);
      log(error);
      const message = error instanceof Error ? error.message : String(error);
      return fail(new StudioError('INTERNAL', `${channel} failed: ${message}`));
    }
  };
}

function fail(error: StudioError): Reply {
  return { ok: false, error: error.toJSON() };
}

/** `arg 0.name: a project needs a name` — the argument's path, then what was expected. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const [index, ...rest] = issue.path.map(String);
      const where = index === undefined ? 'arguments' : `argument ${index}${rest.length ? '.' + rest.join('.') : ''}`;
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

function logInternal(error: unknown): void {
  console.error('[studio] internal error:', error);
}

/** Typed event hub: the core emits, every transport forwards to its listeners. */
export class StudioEvents {
  readonly #emitter = new EventEmitter().setMaxListeners(0);

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    this.#emitter.emit(event, payload);
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    this.#emitter.on(event, listener);
    return () => this.#emitter.off(event, listener);
  }

  /** Subscribes one listener to every event; returns the unsubscribe. */
  onAny(listener: (event: EventName, payload: unknown) => void, names: readonly EventName[]): () => void {
    const offs = names.map((name) => this.on(name, (payload) => listener(name, payload)));
    return () => offs.forEach((off) => off());
  }
}
