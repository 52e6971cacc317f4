/**
 * The neighbour and suspect logic on a constructed project: two tight classes far apart in
 * direction, one image of class A carrying B's label, one A image pushed off its class, unlabelled
 * images that neither vote nor get judged.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../../mae/mae.fixtures';
import { Rng } from '../../mae/rng';
import { neighbourTable } from './neighbour-table';
import { findSuspects, medianNearestDistance, nearestRows, unitRows } from './neighbours';

beforeAll(useCpuBackend);

const WIDTH = 8;

/** A point near `axis` (a unit vector along that dimension) with seeded noise of `spread`. */
function near(axis: number, spread: number, rng: Rng, extra?: { axis: number; weight: number }): number[] {
  return Array.from(
    { length: WIDTH },
    (_, d) => (d === axis ? 1 : 0) + (extra && d === extra.axis ? extra.weight : 0) + spread * (rng.uniform() - 0.5),
  );
}

const PER_CLASS = 30;

function project(seed = 3) {
  const rng = Rng.fromSeed(seed, 0);
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < PER_CLASS; i++) {
    rows.push(near(0, 0.2, rng));
    labels.push(0);
  } // rows 0..29: class A around axis 0
  for (let i = 0; i < PER_CLASS; i++) {
    rows.push(near(1, 0.2, rng));
    labels.push(1);
  } // rows 30..59: class B around axis 1
  rows.push(near(0, 0.2, rng));
  labels.push(1); // row 60: an A image labelled B
  rows.push(near(0, 0.1, rng, { axis: 2, weight: 1.2 }));
  labels.push(0); // row 61: an A image far from A (towards axis 2)
  rows.push(near(1, 0.2, rng));
  labels.push(-1); // row 62: unlabelled
  return { unit: unitRows(Float32Array.from(rows.flat()), rows.length, WIDTH), labels };
}

describe('similar images', () => {
  it('lists the nearest rows by cosine distance, the query itself left out', () => {
    const { unit } = project();
    const nearest = nearestRows(unit, 3, 5);
    expect(nearest).toHaveLength(5);
    expect(nearest.every((n) => n.row !== 3)).toBe(true);
    // Row 3 is an A image: its neighbours are A images (or the mislabelled A image), all closer than any B image.
    expect(nearest.every((n) => n.row < PER_CLASS || n.row === 60)).toBe(true);
    for (let i = 1; i < nearest.length; i++)
      expect(nearest[i]!.distance).toBeGreaterThanOrEqual(nearest[i - 1]!.distance);
    const toB = nearestRows(unit, 3, 63).find((n) => n.row === PER_CLASS)!.distance;
    expect(toB).toBeGreaterThan(0.5); // orthogonal classes: cosine distance about 1
  });

  it('puts a re-encoded copy (almost the same vector) far under the median nearest-neighbour distance', () => {
    const rows = [...Array.from(project().unit.values)];
    rows.push(...rows.slice(5 * WIDTH, 6 * WIDTH).map((v) => v * 1.01 + 1e-4)); // row 63: a near copy of row 5
    const unit = unitRows(Float32Array.from(rows), 64, WIDTH);
    const median = medianNearestDistance(unit);
    const copy = nearestRows(unit, 63, 1)[0]!;
    expect(copy.row).toBe(5);
    expect(copy.distance).toBeLessThan(median / 20);
    expect(median).toBeGreaterThan(1e-3);
  });
});

describe('the neighbour table', () => {
  it('gives every row the same k nearest rows as one query at a time, among the candidates only', () => {
    const rng = Rng.fromSeed(5, 0);
    const rows = 300; // more than one block of 256
    const unit = unitRows(
      Float32Array.from({ length: rows * WIDTH }, () => rng.uniform() - 0.5),
      rows,
      WIDTH,
    );
    const candidate = Uint8Array.from({ length: rows }, (_, row) => (row % 3 === 0 ? 0 : 1));
    const table = neighbourTable(unit, 4, candidate);
    for (let row = 0; row < rows; row++) {
      const expected = nearestRows(unit, row, rows)
        .filter((n) => candidate[n.row] === 1)
        .slice(0, 4);
      expect(Array.from(table.rows.subarray(row * 4, row * 4 + 4))).toEqual(expected.map((n) => n.row));
      for (const [n, near] of expected.entries()) expect(table.distances[row * 4 + n]).toBeCloseTo(near.distance, 5);
    }
  });
});

describe('suspects', () => {
  it('names the mislabelled image a label error suggesting its real class, the displaced one an outlier', () => {
    const { unit, labels } = project();
    const found = findSuspects(unit, labels, 2, 5);
    expect(found.k).toBe(5);
    expect(found.judged).toBe(62); // the unlabelled row is not judged
    expect(found.labelErrors.map((s) => s.row)).toEqual([60]);
    expect(found.labelErrors[0]).toMatchObject({ kind: 'label', suggested: 0 });
    expect(found.labelErrors[0]!.disagreement).toBeGreaterThan(0.5);
    expect(found.outliers.map((s) => s.row)).toEqual([61]);
    expect(found.agreement).toBeGreaterThan(0.95); // the two classes are apart: one wrong label of 62
    expect(found.outliers[0]!.robustZ).toBeGreaterThan(3.5);
  });

  it('flags nothing in clean projects (five seeds)', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const { unit, labels } = project(seed);
      const keep = Array.from({ length: 2 * PER_CLASS }, (_, row) => row);
      const clean = unitRows(unit.values.slice(0, keep.length * WIDTH), keep.length, WIDTH);
      const found = findSuspects(
        clean,
        keep.map((row) => labels[row]!),
        2,
        5,
      );
      expect(found.labelErrors, `seed ${seed}`).toEqual([]);
      expect(found.outliers, `seed ${seed}`).toEqual([]);
    }
  });

  it('measures how far the embedding mixes classes: random labels on random vectors agree about as chance', () => {
    const rng = Rng.fromSeed(11, 0);
    const rows = 200;
    const unit = unitRows(
      Float32Array.from({ length: rows * WIDTH }, () => rng.uniform() - 0.5),
      rows,
      WIDTH,
    );
    const found = findSuspects(
      unit,
      Array.from({ length: rows }, () => Math.floor(rng.uniform() * 4)),
      4,
      10,
    );
    expect(found.agreement).toBeLessThan(0.2); // a majority of 10 neighbours from one of 4 classes by chance is rare
    // and the list is then mostly noise: what the warning says
    expect(found.labelErrors.length).toBeGreaterThan(rows / 2);
  });

  it('sorts label errors worst first', () => {
    const { unit, labels } = project();
    const rows = [...Array.from(unit.values)];
    const rng = Rng.fromSeed(9, 0);
    // rows 63, 64: A images labelled B, the second half-way
    rows.push(...near(0, 0.05, rng), ...near(0, 0.4, rng, { axis: 1, weight: 0.6 }));
    const found = findSuspects(unitRows(Float32Array.from(rows), 65, WIDTH), [...labels, 1, 1], 2, 5);
    const order = found.labelErrors.map((s) => s.row);
    expect(order).toContain(63);
    expect(found.labelErrors[0]!.score).toBeGreaterThanOrEqual(found.labelErrors.at(-1)!.score);
    expect(order.indexOf(63)).toBeLessThan(order.includes(64) ? order.indexOf(64) : Infinity);
  });
});
