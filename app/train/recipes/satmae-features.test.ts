import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateMaeConfig } from '../../mae/config';
import { useCpuBackend } from '../../mae/mae.fixtures';
import { createMae, disposeModel, embedAllPatches } from '../../mae/model';
import { encodeAllPatches, encodeFeatures } from '../probe-features';

beforeAll(useCpuBackend);

describe('SatMAE encoders in probes and embeddings', () => {
  it('encode every group token and mean-pool over all G·L of them', () => {
    const config = validateMaeConfig({
      imgSize: 8,
      patchSize: 4,
      inChans: 5,
      embedDim: 16,
      depth: 1,
      numHeads: 2,
      decoderEmbedDim: 16,
      decoderDepth: 1,
      decoderNumHeads: 2,
      mlpRatio: 2,
      normPixLoss: true,
      groupedBands: { groups: [[0, 1, 2], [3], [4]], spatialMask: false },
    });
    const model = createMae(config, 1);
    const imgs = tf.randomNormal([2, 5, 8, 8], 0, 1, 'float32', 7);
    const tokens = encodeAllPatches(model, imgs);
    expect(tokens.shape).toEqual([2, 1 + 3 * 4, 16]);
    const pooled = encodeFeatures(model, imgs, 'mean');
    expect(pooled.shape).toEqual([2, 16]);
    const expected = tf.mean(tf.slice(tokens, [0, 1, 0], [-1, -1, -1]), 1);
    expect(Array.from(pooled.dataSync())).toEqual(Array.from(expected.dataSync()));
    // Each group's embedding reads only its own bands: changing band 4 moves only group 2's tokens (rows 1+8 .. 1+11).
    const changed = tf.tidy(() =>
      tf.concat(
        [tf.slice(imgs, [0, 0, 0, 0], [-1, 4, -1, -1]), tf.add(tf.slice(imgs, [0, 4, 0, 0], [-1, 1, -1, -1]), 1)],
        1,
      ),
    );
    const [a, b] = [embedAllPatches(model, imgs), embedAllPatches(model, changed)];
    const moved = tf.tidy(() => Array.from(tf.max(tf.abs(tf.sub(a, b)), [0, 2]).dataSync()));
    expect(moved.slice(0, 9).every((value) => value === 0)).toBe(true);
    expect(moved.slice(9).every((value) => value > 0)).toBe(true);
    tf.dispose([a, b]);
    tf.dispose([imgs, tokens, pooled, expected, changed]);
    disposeModel(model);
  });
});
