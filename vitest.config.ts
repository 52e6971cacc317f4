import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  define: { __STUDIO_VERSION__: JSON.stringify('0.0.0-test') },
  // The renderer's alias for the contract (renderer/vite.config.ts), for its tests.
  resolve: { alias: { $contract: fileURLToPath(new URL('app/contract.ts', import.meta.url)) } },
  test: {
    include: [
      'app/**/*.test.ts',
      'main/**/*.test.ts',
      'renderer/**/*.test.ts',
      'native/**/*.test.ts',
      'scripts/**/*.test.ts',
    ],
    globalSetup: ['scripts/vitest-global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
