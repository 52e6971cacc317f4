import { beforeAll, describe, expect, it } from 'vitest';
import { MAE_PRESETS } from '../mae/config';
import { createMae, disposeModel } from '../mae/model';
import { useCpuBackend } from '../mae/mae.fixtures';
import { validateTrainConfig } from './config';
import { estimateTrainingMemory, parameterCount } from './memory-estimate';

beforeAll(() => useCpuBackend());

describe('memory estimate', () => {
  it('counts exactly the parameters the engine builds', () => {
    const grouped = {
      groups: [
        [0, 1, 3],
        [4, 5],
      ],
      spatialMask: false,
    }; // band 2 in no group
    for (const config of [
      MAE_PRESETS.maeVitTinyPatch16Dec128d2b({ imgSize: 64, depth: 2, inChans: 1 }),
      MAE_PRESETS.maeVitTinyPatch8Dec128d2b({ imgSize: 32, depth: 1, inChans: 3 }),
      MAE_PRESETS.maeVitTinyPatch8Dec128d2b({ imgSize: 32, depth: 1, inChans: 6, groupedBands: grouped }),
      MAE_PRESETS.maeVitTinyPatch8Dec128d2b({ imgSize: 32, depth: 1, inChans: 5, channelAgnostic: true }),
    ]) {
      const model = createMae(config, 0);
      const built = [...model.params.values()].reduce((sum, variable) => sum + variable.size, 0);
      disposeModel(model);
      expect(parameterCount(config)).toBe(built);
    }
  });

  it('grows with the batch, and a ViT-Base batch of 512 at 224 px needs tens of GB', () => {
    const recipe = validateTrainConfig({ model: MAE_PRESETS.maeVitBasePatch16Dec512d8b(), batchSize: 8 });
    const small = estimateTrainingMemory(recipe);
    const large = estimateTrainingMemory({ ...recipe, batchSize: 512 });
    expect(large.parameterBytes).toBe(small.parameterBytes);
    expect(large.activationBytes).toBeCloseTo(small.activationBytes * 64, -3);
    expect(large.totalBytes).toBeGreaterThan(20 * 2 ** 30);
    expect(small.parameters).toBeGreaterThan(100e6); // ViT-B encoder 86M + 512x8 decoder 26M
  });
});
