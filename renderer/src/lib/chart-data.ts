/** Lines measured at different steps (train loss every step, val loss per epoch) on one x axis. */

/** A metric's points in step order. */
export interface StepSeries {
  steps: readonly number[];
  values: readonly number[];
}

/** Merges series on the union of their steps; a series without a point at a step gets null. */
export function alignSeries(series: readonly StepSeries[]): { x: number[]; lines: (number | null)[][] } {
  const x: number[] = [];
  const lines: (number | null)[][] = series.map(() => []);
  const cursors = series.map(() => 0);
  for (;;) {
    let next = Infinity;
    series.forEach((s, i) => {
      const step = s.steps[cursors[i]!];
      if (step !== undefined && step < next) next = step;
    });
    if (next === Infinity) break;
    x.push(next);
    series.forEach((s, i) => {
      if (s.steps[cursors[i]!] === next) {
        lines[i]!.push(s.values[cursors[i]!]!);
        cursors[i]! += 1;
      } else lines[i]!.push(null);
    });
  }
  return { x, lines };
}

/** Colours of compared runs, distinct in light and dark themes. */
export const RUN_COLORS = ['#3b63d8', '#d9822b', '#2f9e6b', '#b04fc4', '#d14b5a', '#2aa3b8', '#8a6d3b', '#5b5b66'];

/**
 * A log axis's range: the data padded by 8% each way (not whole decades, where a loss between 1.1 and 1.9 fills a fifth
 * of 1–10).
 */
export function logAxisRange(min: number, max: number): [number, number] {
  return min > 0 && max >= min ? [min / 1.08, max * 1.08] : [min, max];
}

/**
 * Five ticks evenly spaced in log space across [min, max], at three significant digits (uPlot's own mark only 1, 2, …,
 * 9 × 10^k).
 */
export function logAxisTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max > min)) return [min];
  return Array.from({ length: 5 }, (_, i) => Number((min * (max / min) ** ((i + 0.5) / 5)).toPrecision(3)));
}
