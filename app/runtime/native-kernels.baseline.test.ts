/**
 * native-kernels.test.ts again on the baseline build of the addon (SSE2 on x64), which the
 * loader passes over on an AVX2 machine such as CI's, but which every CPU without AVX2 runs.
 */
import { describe, expect, it } from 'vitest';

process.env.MAE_STUDIO_NATIVE_BASELINE = '1';
const { loadNativeAddon } = await import('./native-addon');
const load = loadNativeAddon();
if (load.ok && !load.addon.features().cpuAvx2) {
  describe.skip('native kernels on the baseline build (skipped: without AVX2, native-kernels.test.ts tests it)', () => {
    it('needs an AVX2 machine', () => undefined);
  });
} else {
  if (load.ok) it('loads the baseline build', () => expect(load.addon.features().isa).toBe('baseline'));
  await import('./native-kernels.test'); // which skips (or fails under CI) by itself when the addon is not built
}
