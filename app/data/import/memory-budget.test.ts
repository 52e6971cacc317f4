import { describe, expect, it } from 'vitest';
import { MemoryBudget } from './memory-budget';

describe('MemoryBudget', () => {
  it('lets reservations through while they fit and queues the rest in order', async () => {
    const budget = new MemoryBudget(100);
    const first = await budget.reserve(60);
    const granted: string[] = [];
    const second = budget.reserve(60).then((release) => {
      granted.push('second');
      return release;
    });
    const third = budget.reserve(30).then((release) => {
      granted.push('third');
      return release;
    });
    await Promise.resolve();
    expect(granted).toEqual([]);
    first();
    (await second)();
    (await third)();
    expect(granted).toEqual(['second', 'third']);
    expect(budget.used).toBe(0);
  });

  it('always admits one reservation alone, however large', async () => {
    const budget = new MemoryBudget(10);
    const release = await budget.reserve(1_000);
    expect(budget.used).toBe(1_000);
    release();
    release();
    expect(budget.used).toBe(0);
  });
});
