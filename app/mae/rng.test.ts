import { describe, expect, it } from 'vitest';
import { Rng } from './rng';

describe('Rng', () => {
  it('repeats its sequence for the same seed and stream', () => {
    const a = Rng.fromSeed(42, 1);
    const b = Rng.fromSeed(42, 1);
    expect(Array.from({ length: 5 }, () => a.uniform())).toEqual(Array.from({ length: 5 }, () => b.uniform()));
  });

  it('gives different streams for different stream ids', () => {
    expect(Rng.fromSeed(42, 1).uniform()).not.toBe(Rng.fromSeed(42, 2).uniform());
  });

  it('continues identically after saving and restoring its state', () => {
    const rng = Rng.fromSeed(7);
    rng.uniform();
    const restored = Rng.fromState(rng.state());
    expect([rng.uniform(), rng.normal()]).toEqual([restored.uniform(), restored.normal()]);
  });

  it('draws uniforms in [0, 1) with mean near 1/2 and normals with unit variance', () => {
    const rng = Rng.fromSeed(3);
    const uniforms = Array.from({ length: 20000 }, () => rng.uniform());
    const normals = Array.from({ length: 20000 }, () => rng.normal());
    expect(Math.min(...uniforms)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...uniforms)).toBeLessThan(1);
    expect(uniforms.reduce((a, b) => a + b) / uniforms.length).toBeCloseTo(0.5, 1);
    expect(normals.reduce((a, b) => a + b * b, 0) / normals.length).toBeCloseTo(1, 1);
  });
});
