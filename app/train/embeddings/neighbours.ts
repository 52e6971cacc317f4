/**
 * What a project's embeddings say about its images, on unit-length rows with cosine distance
 * (1 − cosine similarity): each image's nearest neighbours, a near-duplicate threshold relative
 * to how close the model puts images anyway, and the images whose embedding disagrees with their
 * label — most of their k nearest labelled neighbours and the nearest class centroid name another
 * class (Northcutt et al.'s confident learning asks the same question of a classifier's scores) —
 * or that sit far from their class's centroid (a modified z-score of the angle to it above 3.5,
 * Iglewicz & Hoaglin).
 * One query is a JavaScript loop, O(N · D); every row's neighbours at once (the suspects, the
 * median) go through the TF.js backend's matMul (`neighbour-table.ts`).
 */
import { median } from '../../data/median';
import { normaliseRows } from '../knn';
import { neighbourTable } from './neighbour-table';

/** Unit-length rows of a row-major [rows, width] matrix. */
export interface UnitRows {
  rows: number;
  width: number;
  values: Float32Array;
}

/** Defaults of the suspect search. */
export const DEFAULT_SUSPECTS = {
  k: 10, // neighbours that vote on an image's label
  outlierZ: 3.5, // Iglewicz & Hoaglin's cut-off for the modified z-score
  nearDuplicateFraction: 1 / 20, // near duplicate: closer than this share of the median nearest-neighbour distance
};

/** Scales every row to unit length. */
export function unitRows(values: Float32Array, rows: number, width: number): UnitRows {
  if (values.length !== rows * width) throw new Error(`unitRows: ${values.length} values for ${rows} × ${width}`);
  return { rows, width, values: normaliseRows(values, width) };
}

function dot(unit: UnitRows, a: number, b: number): number {
  const { width, values } = unit;
  let sum = 0;
  for (let d = 0; d < width; d++) sum += values[a * width + d]! * values[b * width + d]!;
  return sum;
}

/** Cosine distances from row `query` to every row (its own included, ≈ 0). */
export function distancesFrom(unit: UnitRows, query: number): Float64Array {
  const out = new Float64Array(unit.rows);
  for (let row = 0; row < unit.rows; row++) out[row] = 1 - dot(unit, query, row);
  return out;
}

/** The `k` rows nearest to `query` (itself left out), nearest first, ties by row. */
export function nearestRows(unit: UnitRows, query: number, k: number): { row: number; distance: number }[] {
  const distances = distancesFrom(unit, query);
  const best: number[] = []; // rows, nearest first; kept at most k long
  for (let row = 0; row < unit.rows; row++) {
    if (row === query) continue;
    if (best.length === k && distances[row]! >= distances[best[k - 1]!]!) continue;
    let at = best.length;
    while (at > 0 && distances[best[at - 1]!]! > distances[row]!) at--;
    best.splice(at, 0, row);
    if (best.length > k) best.pop();
  }
  return best.map((row) => ({ row, distance: Math.max(0, distances[row]!) }));
}

/** Median distance from a row to its nearest other row, over every row. */
export function medianNearestDistance(unit: UnitRows): number {
  if (unit.rows < 2) return 0;
  const table = neighbourTable(unit, 1);
  return median(Array.from(table.distances));
}

/** One suspect, by row; the caller names the image. */
export interface SuspectRow {
  row: number;
  kind: 'label' | 'outlier';
  /** Class index the embedding suggests (label errors). */
  suggested: number | null;
  disagreement: number;
  classDistance: number;
  /** Distance to the nearest other class's centroid. */
  otherDistance: number;
  /** The class median of `classDistance`, for the explanation. */
  classMedian: number;
  robustZ: number;
  score: number;
}

function cosineToSum(unit: UnitRows, row: number, sum: Float64Array, minus: boolean): number {
  let dotSum = 0;
  let norm = 0;
  for (let d = 0; d < unit.width; d++) {
    const centre = sum[d]! - (minus ? unit.values[row * unit.width + d]! : 0);
    dotSum += unit.values[row * unit.width + d]! * centre;
    norm += centre * centre;
  }
  return norm > 0 ? 1 - dotSum / Math.sqrt(norm) : 1;
}

/** What `findSuspects` found. */
export interface SuspectSearch {
  labelErrors: SuspectRow[];
  outliers: SuspectRow[];
  k: number;
  /** Labelled rows judged (their class has another member). */
  judged: number;
  /** Share of judged rows whose k nearest labelled neighbours mostly carry their own label; null when none. */
  agreement: number | null;
}

/** Below this neighbour agreement the embedding itself mixes the classes, and the suspect list says so. */
export const WEAK_AGREEMENT = 0.8;

/**
 * Likely label errors and outliers among labelled rows (`labels[row]` a class index, or −1 for
 * none; unlabelled rows neither vote nor are judged). Worst first within each kind.
 */
export function findSuspects(
  unit: UnitRows,
  labels: readonly number[],
  numClasses: number,
  k = DEFAULT_SUSPECTS.k,
  outlierZ = DEFAULT_SUSPECTS.outlierZ,
): SuspectSearch {
  if (labels.length !== unit.rows) throw new Error(`findSuspects: ${labels.length} labels for ${unit.rows} rows`);
  const labelled = labels.flatMap((label, row) => (label >= 0 ? [row] : []));
  const sums = Array.from({ length: numClasses }, () => new Float64Array(unit.width));
  const counts = new Array<number>(numClasses).fill(0);
  for (const row of labelled) {
    const label = labels[row]!;
    counts[label]! += 1;
    for (let d = 0; d < unit.width; d++) sums[label]![d]! += unit.values[row * unit.width + d]!;
  }
  const votes = Math.max(0, Math.min(k, labelled.length - 1));
  const isLabelled = Uint8Array.from(labels, (label) => (label >= 0 ? 1 : 0));
  const table = neighbourTable(unit, votes, isLabelled);
  // Only classes with another member have a centroid without the image itself.
  const judged = labelled.filter((row) => counts[labels[row]!]! >= 2);
  const measured = judged.map((row) => {
    const own = labels[row]!;
    const classDistance = cosineToSum(unit, row, sums[own]!, true);
    let otherDistance = Infinity;
    let otherClass = -1;
    for (let c = 0; c < numClasses; c++) {
      if (c === own || counts[c] === 0) continue;
      const distance = cosineToSum(unit, row, sums[c]!, false);
      if (distance < otherDistance) {
        otherDistance = distance;
        otherClass = c;
      }
    }
    const neighbours = Array.from({ length: table.count[row]! }, (_, n) => ({ row: table.rows[row * votes + n]! }));
    const tally = new Map<number, number>();
    for (const { row: other } of neighbours)
      if (labels[other] !== own) tally.set(labels[other]!, (tally.get(labels[other]!) ?? 0) + 1);
    const disagreeing = [...tally.values()].reduce((a, b) => a + b, 0);
    // The most frequent other label; on a tie, the one whose first voter is nearest.
    const firstSeen = (label: number) => neighbours.findIndex((n) => labels[n.row] === label);
    const suggested =
      [...tally.entries()].sort((a, b) => b[1] - a[1] || firstSeen(a[0]) - firstSeen(b[0]))[0]?.[0] ?? null;
    return {
      row,
      own,
      classDistance,
      otherDistance,
      otherClass,
      disagreement: neighbours.length ? disagreeing / neighbours.length : 0,
      suggested,
    };
  });
  // z is taken on the angle to the centroid: cosine distance grows with its square, which skews
  // every class's distances to the right and would flag the ordinary far end of a tight class.
  const angle = (distance: number) => Math.acos(Math.min(1, Math.max(-1, 1 - distance)));
  const byClass = new Map<number, { median: number; medianAngle: number; mad: number }>();
  for (let c = 0; c < numClasses; c++) {
    const distances = measured.filter((m) => m.own === c).map((m) => m.classDistance);
    if (distances.length === 0) continue;
    const angles = distances.map(angle);
    const middle = median(angles);
    byClass.set(c, {
      median: median(distances),
      medianAngle: middle,
      mad: median(angles.map((a) => Math.abs(a - middle))),
    });
  }
  const labelErrors: SuspectRow[] = [];
  const outliers: SuspectRow[] = [];
  for (const m of measured) {
    const { median: classMedian, medianAngle, mad } = byClass.get(m.own)!;
    const robustZ = mad > 0 ? (angle(m.classDistance) - medianAngle) / (1.4826 * mad) : 0;
    const base = {
      row: m.row,
      disagreement: m.disagreement,
      classDistance: m.classDistance,
      otherDistance: m.otherDistance,
      classMedian,
      robustZ,
    };
    if (m.disagreement > 0.5 && m.otherDistance < m.classDistance && m.suggested !== null) {
      labelErrors.push({
        ...base,
        kind: 'label',
        suggested: m.suggested,
        score: m.disagreement + (m.classDistance - m.otherDistance),
      });
    } else if (robustZ > outlierZ) {
      outliers.push({ ...base, kind: 'outlier', suggested: null, score: robustZ });
    }
  }
  const worstFirst = (a: SuspectRow, b: SuspectRow) => b.score - a.score || a.row - b.row;
  const agreeing = measured.filter((m) => m.disagreement < 0.5).length;
  return {
    labelErrors: labelErrors.sort(worstFirst),
    outliers: outliers.sort(worstFirst),
    k: votes,
    judged: judged.length,
    agreement: measured.length ? agreeing / measured.length : null,
  };
}
