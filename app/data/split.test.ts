/**
 * The seeded train/val split: stratified by label, the same for the same seed.
 */
import { describe, expect, it } from 'vitest';
import { splitGroupOf, stratifiedSplit } from './split';

describe('stratifiedSplit', () => {
  it('holds out a seeded, label-stratified validation split', () => {
    const items = [...Array(20)].map((_, i) => ({ id: i, label: i < 10 ? 'a' : 'b' }));
    const first = stratifiedSplit(items, 0.2, 1);
    expect(first.val.filter((i) => i.label === 'a')).toHaveLength(2);
    expect(first.val.filter((i) => i.label === 'b')).toHaveLength(2);
    expect(stratifiedSplit(items, 0.2, 1).val).toEqual(first.val);
    expect(stratifiedSplit(items, 0.2, 2).val).not.toEqual(first.val);
  });

  it('keeps every slice of a volume or subject on one side', () => {
    // 12 volumes of 20 slices each (two labels), plus 10 plain images.
    const slices = [...Array(240)].map((_, i) => ({
      id: i,
      label: i < 120 ? 'a' : 'b',
      group: `volume-${Math.floor(i / 20)}`,
    }));
    const plain = [...Array(10)].map((_, i) => ({ id: 240 + i, label: 'a', group: null }));
    for (const seed of [1, 2, 3, 4, 5]) {
      const { train, val } = stratifiedSplit([...slices, ...plain], 0.25, seed);
      const trainGroups = new Set(train.map((item) => item.group).filter(Boolean));
      const valGroups = new Set(val.map((item) => item.group).filter(Boolean));
      expect([...valGroups].filter((group) => trainGroups.has(group))).toEqual([]);
      // A quarter of each label's units: label a has 6 volumes + 10 images = 16 units → 4;
      // b has 6 → 2 (rounded from 1.5).
      expect(val.filter((item) => item.label === 'b')).toHaveLength(40);
      expect(train.length + val.length).toBe(250);
    }
  });

  it("takes the group from a slice's volume: its subject, else the volume", () => {
    expect(splitGroupOf({ volume: { slice: 0, slices: 3, axis: 'k', key: 'v1', group: 'patient-7' } })).toBe(
      'patient-7',
    );
    expect(splitGroupOf({ volume: { slice: 0, slices: 3, axis: 'k', key: 'v1' } })).toBe('v1');
    expect(splitGroupOf({ sampleType: 'uint8' })).toBeNull();
  });
});
