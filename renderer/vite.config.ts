/**
 * Builds the renderer: one page, Svelte 5, CSS extracted to files so the strict CSP
 * (`script-src 'self'; style-src 'self'`) holds. Output goes to `dist/renderer`, loaded by
 * Electron from disk and by serve mode over HTTP, hence the relative `base`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [svelte({ emitCss: true, compilerOptions: { css: 'external' } })],
  // The one way into app/: the alias `$contract` names app/contract.ts (also in renderer/tsconfig.json,
  // vitest.config.ts, scripts/check-rooms.mjs).
  resolve: { alias: { $contract: fileURLToPath(new URL('../app/contract.ts', import.meta.url)) } },
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    cssCodeSplit: false,
    // Vite's module preload polyfill is an inline script; the CSP forbids it.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
  },
});
