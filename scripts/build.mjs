#!/usr/bin/env node
// One build for every target: esbuild bundles the Electron main process, the preload, the CLI and
// the benchmarks; Vite builds the Svelte renderer. `--only cli,renderer` builds a subset.
import { build } from 'esbuild';
import { build as viteBuild } from 'vite';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const onlyFlag = process.argv.indexOf('--only');
const only = onlyFlag === -1 ? null : new Set(process.argv[onlyFlag + 1].split(','));
const wanted = (target) => only === null || only.has(target);

const shared = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  sourcemap: 'linked',
  logLevel: 'warning',
  absWorkingDir: root,
  define: { __STUDIO_VERSION__: JSON.stringify(pkg.version) },
};

// The import's worker thread: built beside the CLI (CLI, serve mode, Electron main) and beside the
// benchmarks, since app/data/import/import-pool.ts looks for it beside the running bundle.
const IMPORT_WORKER = 'app/data/import/import-worker.ts';
// The embedding map's worker thread (app/train/embeddings/map-projection.ts looks for it the same way).
const MAP_WORKER = 'app/train/embeddings/map-worker.ts';
// The embeddings service's worker thread (computing embeddings, suspects): app/train/embeddings/embedding-jobs.ts.
const EMBEDDING_WORKER = 'app/train/embeddings/embedding-worker.ts';

/**
 * The Electron main bundle is CommonJS and requires its packages at run time; a package that can
 * only be imported (its `exports` name no `require` or `default` condition, e.g. nifti-reader-js)
 * cannot be required, so it is bundled into main instead of left external.
 */
function importOnly(name) {
  if (!importOnlyPackages.has(name)) importOnlyPackages.set(name, readImportOnly(name));
  return importOnlyPackages.get(name);
}

/** Package name → whether it is import-only: each manifest is read once per build, not per import. */
const importOnlyPackages = new Map();

function readImportOnly(name) {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8'));
  } catch {
    return false;
  }
  const entry = manifest.exports?.['.'] ?? manifest.exports;
  if (!entry || typeof entry !== 'object') return false;
  const conditions = JSON.stringify(entry);
  return !conditions.includes('"require"') && !conditions.includes('"default"') && !conditions.includes('"node"');
}

const bundleImportOnly = {
  name: 'bundle-import-only-packages',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^[@a-z]/ }, (args) => {
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      if (!importOnly(name)) return undefined;
      return { path: fileURLToPath(import.meta.resolve(args.path, path.join(root, 'package.json'))) };
    });
  },
};

const targets = {
  main: () =>
    build({
      ...shared,
      entryPoints: { index: 'main/index.ts', preload: 'main/preload.ts' },
      outdir: 'dist/main',
      outExtension: { '.js': '.cjs' },
      format: 'cjs',
      external: ['electron'],
      packages: 'external',
      plugins: [bundleImportOnly],
      // app/ code reached from main (the training host's default worker path) reads import.meta
      // only where main never calls it: main passes the worker path explicitly.
      logOverride: { 'empty-import-meta': 'silent' },
    }),
  cli: async () => {
    await build({
      ...shared,
      entryPoints: {
        studio: 'app/cli.ts',
        'train-worker': 'app/train/worker.ts',
        'import-worker': IMPORT_WORKER,
        'map-worker': MAP_WORKER,
        'embedding-worker': EMBEDDING_WORKER,
      },
      outdir: 'dist/cli',
      format: 'esm',
      packages: 'external',
      banner: {
        js:
          'import { createRequire as __createRequire } from ' +
          "'node:module'; const require = __createRequire(import.meta.url);",
      },
    });
    // cli.js checks the Node first (an older Node would fail deep inside with no clear message).
    fs.copyFileSync(path.join(root, 'scripts/cli-launcher.mjs'), path.join(root, 'dist/cli/cli.js'));
    // The hand-off job's PyTorch files travel beside the CLI (app/handoff/handoff.ts finds them there).
    const torchDir = path.join(root, 'dist/cli/torch');
    fs.mkdirSync(torchDir, { recursive: true });
    for (const file of fs.readdirSync(path.join(root, 'app/handoff/torch')).filter((f) => f.endsWith('.py'))) {
      fs.copyFileSync(path.join(root, 'app/handoff/torch', file), path.join(torchDir, file));
    }
  },
  bench: () => {
    const entries = fs.existsSync(path.join(root, 'bench'))
      ? Object.fromEntries(
          fs
            .readdirSync(path.join(root, 'bench'))
            .filter((f) => f.endsWith('.ts'))
            .map((f) => [f.slice(0, -3), `bench/${f}`]),
        )
      : {};
    return Object.keys(entries).length === 0
      ? Promise.resolve()
      : build({
          ...shared,
          entryPoints: { ...entries, 'import-worker': IMPORT_WORKER },
          outdir: 'dist/bench',
          format: 'esm',
          packages: 'external',
        });
  },
  renderer: () => viteBuild({ configFile: path.join(root, 'renderer/vite.config.ts'), logLevel: 'warn' }),
};

const started = Date.now();
for (const [name, run] of Object.entries(targets)) {
  if (!wanted(name)) continue;
  await run();
}
if (wanted('cli')) fs.chmodSync(path.join(root, 'dist/cli/cli.js'), 0o755);
console.log(
  `built ${only ? [...only].join(', ') : 'main, preload, cli, bench, renderer'} ` +
    `in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
