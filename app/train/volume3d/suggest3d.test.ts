import { describe, expect, it } from 'vitest';
import { suggestVolume3d } from './suggest3d';

describe('the 3-D patch suggested from voxel spacing', () => {
  it('suggests 4×16×16 patches of a 16×64×64 crop on thick-slice CT, saying why', () => {
    const suggestion = suggestVolume3d([3, 0.7, 0.7], [40, 512, 512]);
    expect(suggestion).toMatchObject({ crop: [16, 64, 64], patch: [4, 16, 16], resample: 'none' });
    expect(suggestion.anisotropy).toBeCloseTo(4.29, 2);
    expect(suggestion.reason).toContain('4×16×16 patches span 12.0 × 11.2 × 11.2 mm');
  });

  it('suggests 16³ cubes of a 64³ crop on near-isotropic MR', () => {
    expect(suggestVolume3d([1, 1, 1], [176, 256, 256])).toMatchObject({ crop: [64, 64, 64], patch: [16, 16, 16] });
    // 2× is not thick yet (below 2.5×).
    expect(suggestVolume3d([2, 1, 1], [100, 256, 256]).patch).toEqual([16, 16, 16]);
  });

  it('halves the patch until small volumes hold 8 of them', () => {
    expect(suggestVolume3d([1, 1, 1], [20, 24, 24])).toMatchObject({ crop: [16, 24, 24], patch: [8, 8, 8] });
  });
});
