/**
 * The seeded train/val split: stratified by label, the same for the same seed.
 */
import { describe, expect, it } from 'vitest';
import { stratifiedSplit } from './split';

describe('stratifiedSplit', () => {
  it('holds out a seeded, label-stratified validation split', () => {
    const items = [...Array(20)].map((_, i) => ({ id: i, label: i < 10 ? 'a' : 'b' }));
    const first = stratifiedSplit(items, 0.2, 1);
    expect(first.val.filter((i) => i.label === 'a')).toHaveLength(2);
    expect(first.val.filter((i) => i.label === 'b')).toHaveLength(2);
    expect(stratifiedSplit(items, 0.2, 1).val).toEqual(first.val);
    expect(stratifiedSplit(items, 0.2, 2).val).not.toEqual(first.val);
  });
});
