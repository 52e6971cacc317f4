import { describe, expect, it } from 'vitest';
import { InWalkOrder } from './in-walk-order';

describe('InWalkOrder', () => {
  it('hands values on in index order whatever order they finish in', () => {
    const handed: string[] = [];
    const order = new InWalkOrder<string>((value) => handed.push(value));
    order.add(2, 'c');
    order.add(1, 'b');
    expect(handed).toEqual([]);
    expect(order.waiting).toBe(2);
    order.add(0, 'a');
    expect(handed).toEqual(['a', 'b', 'c']);
    order.add(3, 'd');
    expect(handed).toEqual(['a', 'b', 'c', 'd']);
    expect(order.waiting).toBe(0);
  });

  it('drains what is left in order past the gaps of files that never finished', () => {
    const handed: number[] = [];
    const order = new InWalkOrder<number>((value) => handed.push(value));
    order.add(5, 5);
    order.add(0, 0);
    order.add(3, 3);
    expect(handed).toEqual([0]);
    order.drain();
    expect(handed).toEqual([0, 3, 5]);
    expect(order.waiting).toBe(0);
  });
});
