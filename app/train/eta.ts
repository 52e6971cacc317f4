/**
 * A live run's time left, corrected from the run's own wall clock. Each step's end is recorded
 * as the process saw it, so the pace includes everything between steps (validation passes,
 * reconstruction grids, checkpoints, other programs on the machine) — not just the step's math,
 * which is what the ETA used to extrapolate. Until the run has timed enough of its own steps
 * (5% of what is left when it starts, at least 3), the warm-up's estimate is used when the run
 * has one; after that the run's own pace over every step since its first.
 */

/** Where an ETA came from. */
export type EtaBasis = 'warm-up' | 'run';

/** The time left and how it was worked out. */
export interface Eta {
  seconds: number;
  basis: EtaBasis;
  /** Steps of this run the pace was measured over (0 when the warm-up's estimate is used). */
  measuredSteps: number;
}

/** Options of {@link RunEta}. */
export interface RunEtaOptions {
  /** Share of the steps left at the start to time before trusting the run's pace. */
  settleShare: number;
  /** Steps to time at least before trusting the run's pace. */
  settleSteps: number;
}

/** The ETA's defaults. */
export const DEFAULT_RUN_ETA: RunEtaOptions = {
  settleShare: 0.05, // 5% of the run: long enough to include a validation pass on most recipes
  settleSteps: 3, // the first steps after compiling are still warming caches
};

/** Tracks a run's step times and says how long is left. */
export class RunEta {
  readonly #options: RunEtaOptions;
  readonly #settleAfter: number;
  #anchor: { step: number; seconds: number } | null = null;
  #startSeconds: number | null = null;

  /**
   * @param totalSteps the run's last step
   * @param warmup the warm-up's estimate of the run after start-up, in seconds (null when none was made)
   * @param startStep the step the process starts from (0, or a resumed run's checkpoint)
   */
  constructor(
    readonly totalSteps: number,
    readonly warmup: { seconds: number; totalSteps: number } | null,
    readonly startStep = 0,
    options: Partial<RunEtaOptions> = {},
  ) {
    this.#options = { ...DEFAULT_RUN_ETA, ...options };
    this.#settleAfter = Math.max(
      this.#options.settleSteps,
      Math.ceil(this.#options.settleShare * (totalSteps - startStep)),
    );
  }

  /** Marks when the process started working (before its first step), in seconds on the same clock. */
  start(seconds: number): void {
    this.#startSeconds = seconds;
  }

  /** Records that `step` finished at `seconds` (a monotonic clock) and returns the time left. */
  record(step: number, seconds: number): Eta {
    const left = Math.max(0, this.totalSteps - step);
    // The first step compiles and warms caches: the pace is measured from its end.
    if (this.#anchor === null) this.#anchor = { step, seconds };
    const measured = step - this.#anchor.step;
    if (measured >= this.#settleAfter || (this.warmup === null && measured > 0)) {
      const pace = (seconds - this.#anchor.seconds) / measured;
      return { seconds: left * pace, basis: 'run', measuredSteps: measured };
    }
    if (this.warmup !== null) {
      // The warm-up's pace: its estimate without start-up, per step.
      const pace = this.warmup.seconds / Math.max(1, this.warmup.totalSteps);
      return { seconds: left * pace, basis: 'warm-up', measuredSteps: 0 };
    }
    // No warm-up and only the first step: its time (compile included) is all there is.
    const elapsed = this.#startSeconds === null ? 0 : seconds - this.#startSeconds;
    return { seconds: left * (elapsed / Math.max(1, step - this.startStep)), basis: 'run', measuredSteps: 0 };
  }
}
