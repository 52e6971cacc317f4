import { describe, expect, it } from 'vitest';
import { includesZero, pairedBootstrap, percentile, wilsonInterval } from './intervals';

describe('Wilson score interval', () => {
  it('matches the published values (Newcombe 1998, Table I, method 3)', () => {
    const cases: [number, number, number, number][] = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0, 0.1611],
      [1, 29, 0.0061, 0.1718],
    ];
    for (const [correct, total, low, high] of cases) {
      const interval = wilsonInterval(correct, total);
      expect(interval.low).toBeCloseTo(low, 4);
      expect(interval.high).toBeCloseTo(high, 4);
    }
  });

  it('is symmetric in right and wrong, stays inside [0, 1], and narrows as images are added', () => {
    const a = wilsonInterval(20, 29);
    const b = wilsonInterval(9, 29);
    expect(a.low).toBeCloseTo(1 - b.high, 12);
    expect(wilsonInterval(29, 29).high).toBe(1);
    expect(wilsonInterval(29, 29).low).toBeLessThan(1); // all right is not "certainly 100 %"
    const small = wilsonInterval(7, 10);
    const large = wilsonInterval(700, 1000);
    expect(large.high - large.low).toBeLessThan((small.high - small.low) / 5);
  });

  it('says nothing is known when nothing was scored, and refuses impossible counts', () => {
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
    expect(() => wilsonInterval(5, 4)).toThrow(/correct must be an integer in 0..4, got 5/);
    expect(() => wilsonInterval(1, 2.5)).toThrow(/total must be a non-negative integer/);
  });
});

describe('paired bootstrap of a gain', () => {
  const right = (pattern: string) => [...pattern].map((c) => c === '1');

  it('reports the observed difference with an interval around it, the same for the same seed', () => {
    // a is right on 60 of 100 images, b on 50; they disagree on 10.
    const a = right('1'.repeat(50) + '1'.repeat(10) + '0'.repeat(10) + '0'.repeat(30));
    const b = right('1'.repeat(50) + '0'.repeat(50));
    const gain = pairedBootstrap(a, b, { resamples: 2000, seed: 1 });
    expect(gain.estimate).toBeCloseTo(0.1, 12);
    expect(gain.low).toBeLessThan(0.1);
    expect(gain.high).toBeGreaterThan(0.1);
    // Normal theory for 10 discordant images of 100: sd ≈ sqrt(10)/100 ≈ 0.032, so 95 % ≈ ±0.062.
    expect(gain.low).toBeGreaterThan(0.02);
    expect(gain.high).toBeLessThan(0.18);
    expect(includesZero(gain)).toBe(false);
    expect(pairedBootstrap(a, b, { resamples: 2000, seed: 1 })).toEqual(gain);
  });

  it('is exactly zero when both classifiers are right on the same images (the pairing)', () => {
    const same = right('1101101001'.repeat(5));
    expect(pairedBootstrap(same, same)).toEqual({ estimate: 0, low: 0, high: 0 });
  });

  it('includes 0 when two classifiers differ on a few images only', () => {
    const a = right('1'.repeat(30) + '10' + '0'.repeat(8));
    const b = right('1'.repeat(30) + '01' + '0'.repeat(8));
    expect(includesZero(pairedBootstrap(a, b))).toBe(true);
  });

  it('refuses classifiers scored on different images', () => {
    expect(() => pairedBootstrap([true], [true, false])).toThrow(/same images, got 1 and 2/);
  });
});

describe('percentile', () => {
  it('interpolates between order statistics as numpy does', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5], 0.025)).toBeCloseTo(1.1, 12);
  });
});
