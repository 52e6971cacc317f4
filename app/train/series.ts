/**
 * Chart series small enough to draw smoothly: a metric with more points than a chart has pixels
 * keeps, per bucket of consecutive steps, its minimum and its maximum (in step order), so spikes
 * and the curve's envelope survive while 100k points become a few thousand.
 */

/** Downsamples (steps, values) to at most `maxPoints` points, keeping each bucket's min and max. */
export function downsampleMinMax(
  steps: readonly number[],
  values: readonly number[],
  maxPoints: number,
): { steps: number[]; values: number[] } {
  if (steps.length <= maxPoints) return { steps: [...steps], values: [...values] };
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const size = steps.length / buckets;
  const outSteps: number[] = [];
  const outValues: number[] = [];
  for (let bucket = 0; bucket < buckets; bucket++) {
    const start = Math.floor(bucket * size);
    const end = Math.min(steps.length, Math.floor((bucket + 1) * size));
    let low = start;
    let high = start;
    for (let i = start + 1; i < end; i++) {
      if (values[i]! < values[low]!) low = i;
      if (values[i]! > values[high]!) high = i;
    }
    for (const index of low === high ? [low] : low < high ? [low, high] : [high, low]) {
      outSteps.push(steps[index]!);
      outValues.push(values[index]!);
    }
  }
  return { steps: outSteps, values: outValues };
}
