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

/** Images picked by id and/or every image under a folder. */
export const ImageSelection = z.strictObject({
  imageIds: z.array(Id).max(100_000).optional(),
  /** Every image under this folder. */
  folder: z.string().min(1).max(4096).optional(),
});

/** A label set by hand: trimmed, 1–512 characters; null clears it (the image has no label). */
export const LabelValue = z.string().trim().min(1).max(512).nullable();
