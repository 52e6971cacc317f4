/** Test helper: drives a `MaeTrainer` with the calls the run's loop makes, for tests of the trainer alone. */
import type { StepMetrics } from './step-metrics';
import type { MaeTrainer } from './trainer';

/**
 * Trains to step `until` as `executePretrain` does: `advance` step by step, then the losses still
 * on the device read (`flushLosses`) before anything looks at the weights or writes a checkpoint.
 */
export async function trainTo(
  trainer: MaeTrainer,
  until: number,
  onMetrics: (metrics: StepMetrics) => void = () => {},
): Promise<void> {
  while (trainer.step < until) (await trainer.advance()).forEach(onMetrics);
  (await trainer.flushLosses()).forEach(onMetrics);
}
