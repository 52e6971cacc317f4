/**
 * Every row's k nearest rows at once: cosine similarities of a block of rows against all rows
 * through one `matMul` on the active TF.js backend ([B, D] × [D, N], BLAS on `native`), then a
 * top-k pass per row in JavaScript. What the suspect list and the near-duplicate threshold need,
 * at a cost that grows as N² · D multiply-adds done by the backend rather than by JS loops.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { UnitRows } from './neighbours';

/** k nearest rows of each row: row r's are `rows[r·k .. r·k + count[r])`, nearest first. */
export interface NeighbourTable {
  k: number;
  rows: Int32Array;
  distances: Float32Array;
  /** Neighbours found per row (fewer than k when there are fewer candidates). */
  count: Int32Array;
}

const BLOCK = 256; // query rows per matMul: [256, N] similarities in memory at once

/**
 * The `k` nearest other rows of every row, among the rows where `candidate` is 1 (all when
 * absent); ties go to the lower row. Distances are 1 − cosine similarity, at least 0.
 */
export function neighbourTable(unit: UnitRows, k: number, candidate?: Uint8Array): NeighbourTable {
  const { rows: total, width } = unit;
  const table: NeighbourTable = {
    k,
    rows: new Int32Array(total * k),
    distances: new Float32Array(total * k),
    count: new Int32Array(total),
  };
  if (total === 0 || k === 0) return table;
  const all = tf.tensor2d(unit.values, [total, width]); // [N, D]
  const bestSimilarity = new Float64Array(k);
  const bestRow = new Int32Array(k);
  try {
    for (let start = 0; start < total; start += BLOCK) {
      const size = Math.min(BLOCK, total - start);
      const similarities = tf
        .tidy(() => tf.matMul(tf.slice(all, [start, 0], [size, width]), all, false, true))
        .dataSync(); // [B, N]
      for (let b = 0; b < size; b++) {
        const row = start + b;
        let found = 0;
        for (let other = 0; other < total; other++) {
          if (other === row || (candidate && candidate[other] === 0)) continue;
          const similarity = similarities[b * total + other]!;
          // Rows come in ascending order, so an equal similarity never displaces an earlier row.
          if (found === k && similarity <= bestSimilarity[k - 1]!) continue;
          let at = found < k ? found++ : k - 1;
          while (at > 0 && bestSimilarity[at - 1]! < similarity) {
            bestSimilarity[at] = bestSimilarity[at - 1]!;
            bestRow[at] = bestRow[at - 1]!;
            at--;
          }
          bestSimilarity[at] = similarity;
          bestRow[at] = other;
        }
        table.count[row] = found;
        for (let n = 0; n < found; n++) {
          table.rows[row * k + n] = bestRow[n]!;
          table.distances[row * k + n] = Math.max(0, 1 - bestSimilarity[n]!);
        }
      }
    }
  } finally {
    all.dispose();
  }
  return table;
}
