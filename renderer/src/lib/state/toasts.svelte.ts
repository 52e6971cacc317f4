/**
 * Global notifications. Every failed call that is not shown inline lands here, so no error is
 * ever swallowed; errors stay until dismissed, notices leave on their own.
 */
import { getContext, setContext } from 'svelte';
import { StudioError } from '$contract';
import { errorMessage } from '../errors';

/** One notification on screen. */
export interface Toast {
  id: number;
  kind: 'error' | 'success' | 'info';
  title: string;
  message: string;
}

const NOTICE_MS = 5000;
const ERROR_MS = 12000;

/** The stack of notifications. */
export class ToastState {
  items = $state<Toast[]>([]);
  #nextId = 1;

  /** Shows an error; a StudioError's code becomes the title. */
  error(error: unknown, title?: string): void {
    console.error('[studio]', error);
    const heading = title ?? (error instanceof StudioError ? titleFor(error) : 'Something went wrong');
    const message = errorMessage(error);
    // When the connection drops, every pending call fails with the same message: say it once.
    if (this.items.some((toast) => toast.kind === 'error' && toast.message === message)) return;
    this.#push({ kind: 'error', title: heading, message }, ERROR_MS);
  }

  /** Shows a short confirmation. */
  success(title: string, message = ''): void {
    this.#push({ kind: 'success', title, message }, NOTICE_MS);
  }

  /** Removes one notification. */
  dismiss(id: number): void {
    this.items = this.items.filter((toast) => toast.id !== id);
  }

  #push(toast: Omit<Toast, 'id'>, lifetimeMs: number): void {
    const id = this.#nextId++;
    // Keep the stack short: the oldest goes when a fifth arrives.
    this.items = [...this.items.slice(-3), { id, ...toast }];
    setTimeout(() => this.dismiss(id), lifetimeMs);
  }
}

function titleFor(error: StudioError): string {
  switch (error.code) {
    case 'INVALID_ARGUMENT':
      return 'Check the input';
    case 'NOT_FOUND':
      return 'Not found';
    case 'CONFLICT':
      return 'Conflict';
    case 'UNSUPPORTED':
      return 'Not available here';
    case 'UNAUTHORIZED':
      return 'Not authorized';
    default:
      return 'Something went wrong';
  }
}

const KEY = Symbol('toasts');

/** Provides the toast stack; call once in the root component. */
export function setToasts(state = new ToastState()): ToastState {
  return setContext(KEY, state);
}

/** The toast stack provided by the root component. */
export function useToasts(): ToastState {
  return getContext<ToastState>(KEY);
}
