import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ImportProgress } from '../../contract';
import { ProgressReporter } from './progress';

afterEach(() => vi.useRealTimers());

describe('ProgressReporter', () => {
  it('throttles updates within a phase but always reports phase changes and the end', () => {
    vi.useFakeTimers();
    const events: ImportProgress[] = [];
    const reporter = new ProgressReporter('i', 1, (event) => events.push(event));
    reporter.startWalking();
    for (let found = 1; found <= 50; found++) reporter.found(found);
    reporter.startImporting(50);
    for (let processed = 1; processed <= 50; processed++) {
      reporter.counts.processed = processed;
      reporter.counts.imported = processed;
      reporter.update();
    }
    reporter.done();
    expect(events.map((event) => event.phase)).toEqual(['walking', 'importing', 'done']);
    expect(events.at(-1)).toMatchObject({ found: 50, processed: 50, imported: 50, etaSeconds: 0 });
  });

  it('estimates the time left from the rate so far', () => {
    vi.useFakeTimers();
    const events: ImportProgress[] = [];
    const reporter = new ProgressReporter('i', 1, (event) => events.push(event));
    reporter.startImporting(100);
    vi.advanceTimersByTime(1000);
    reporter.counts.processed = 25;
    reporter.update();
    const last = events.at(-1)!;
    expect(last.filesPerSecond).toBeCloseTo(25, 0);
    expect(last.etaSeconds).toBeCloseTo(3, 0);
  });
});
