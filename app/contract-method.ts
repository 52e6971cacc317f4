/**
 * How the contract declares a method — its argument tuple schema and its result type — shared
 * by `contract.ts` and the parts of the contract that live beside it (`contract-training.ts`,
 * `contract-downstream.ts`). No Node, Electron or DOM here: the renderer imports it too.
 */
import { z } from 'zod';

/** Phantom marker carrying a method's result type; it has no runtime content. */
export interface Returns<T> {
  readonly __returns?: T;
}

/** A method: its argument tuple schema and its result type. */
export interface MethodSpec<A extends z.ZodTuple = z.ZodTuple, R = unknown> {
  readonly args: A;
  readonly returns: Returns<R>;
}

export function method<A extends z.ZodTuple, R>(args: A, _returns: Returns<R>): MethodSpec<A, R> {
  return { args, returns: {} };
}

export function returns<R>(): Returns<R> {
  return {};
}

/** A row id: a positive safe integer. */
export const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** A folder on this machine, as typed or picked. */
export const FolderPath = z.string().min(1, 'a folder path is required').max(4096);
