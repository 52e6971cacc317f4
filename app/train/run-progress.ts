/**
 * What a run in the training process is asked to do (`ExecuteOptions`) and what it reports while
 * it works (`RunProgress`). Pretraining (`pretrain-run.ts`), 3-D pretraining and fine-tuning runs
 * take and report these; the worker, its host, the run processes and the CLI's output read them.
 */
import type { EtaBasis } from './eta';

/** What the training process reports while it works. */
export type RunProgress =
  | { type: 'started'; runId: number; backend: string; device: string; step: number; totalSteps: number }
  | {
      type: 'step';
      step: number;
      totalSteps: number;
      loss: number;
      lr: number;
      imagesPerSecond: number;
      etaSeconds: number;
      /** Whether the ETA is the warm-up's or this run's own pace, and over how many steps. */
      etaBasis?: EtaBasis;
      etaMeasuredSteps?: number;
      /** Bytes held by tensors, and the training process's resident memory. */
      tensorBytes: number;
      rssBytes: number;
      /** Share of the time since the last step report spent waiting for the loader (0–1). */
      dataWaitShare?: number;
    }
  | {
      type: 'preparing';
      /**
       * Training samples looked at, of `total`; `read` of them were read from their files (`changed`: changed since
       * cached).
       */
      done: number;
      total: number;
      read: number;
      changed: number;
    }
  | { type: 'validation'; step: number; loss: number }
  | { type: 'checkpoint'; step: number; path: string }
  | { type: 'reconstruction'; step: number; file: string }
  | {
      type: 'finished';
      status: 'completed' | 'failed' | 'stopped' | 'paused';
      step: number;
      finalLoss: number | null;
      reason?: string;
    };

/** How the training process runs a run: fresh or resumed, the signals that end it, where it reports. */
export interface ExecuteOptions {
  resume?: boolean;
  /** Stop after the current step, with a checkpoint (status `stopped`). */
  signal?: AbortSignal;
  /** Pause after the current step, with a checkpoint (status `paused`; resume continues). */
  pause?: AbortSignal;
  /** Steps between reconstruction grids (default: every validation, at most 100 steps apart). */
  reconstructEvery?: number;
  onProgress?: (progress: RunProgress) => void;
  log?: (line: string) => void;
  /** Prepare the training images into the project's decoded cache and read them from it (default true). */
  cache?: boolean;
}
