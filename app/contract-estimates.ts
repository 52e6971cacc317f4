/**
 * How long a run would take, as the contract says it: the warm-up steps timed in a training
 * process (`training.estimate`) and the run's time worked out from them (in `training.check`'s
 * answer and a run's plan). Types only; `contract.ts` re-exports them.
 */
/** A run's time, and how it was worked out. */
export interface RunTimeEstimate {
  seconds: number;
  /** Optimizer steps timed in the warm-up, and where. */
  measuredSteps: number;
  backend: string;
  device: string;
  /** Parts of `seconds`: start-up, the steps, and validation / reconstruction / checkpoint passes. */
  parts: { startup: number; steps: number; validation: number; reconstruction: number; checkpoints: number };
}

/** Warm-up steps timed in a training process, on the backend the run would use. */
export interface WarmupEstimate {
  backend: string;
  /** The hardware; for webgpu the adapter (vendor, architecture, graphics API). */
  device: string;
  /** Why this backend: requested, or why each faster one was not used. */
  reason: string;
  /**
   * On webgpu: GPU buffer bytes held by tensors, the adapter's largest buffer, and the largest
   * batch whose biggest tensor fits in one (null on the CPU backends).
   */
  gpu: { bytesInUse: number; maxBufferBytes: number; largestBatch: number } | null;
  /** Median of the timed steps after the first (which compiles and warms caches). */
  msPerStep: number;
  /** Steps timed after the first. */
  measuredSteps: number;
  /** One validation pass, one reconstruction grid and one checkpoint, as the run does them. */
  validationMs: number;
  reconstructionMs: number;
  checkpointMs: number;
  /** From starting the process to the first step done: backend, model, data, compile. */
  startupMs: number;
  secondsPerEpoch: number;
  /** The run this recipe plans, at these costs. */
  time: RunTimeEstimate;
  /** Largest tensor memory seen, and the process's resident memory at the end. */
  tensorBytes: number;
  rssBytes: number;
}
