#!/usr/bin/env node
// `npm ci` / `npm install` hook: builds the addon with node-gyp (shipped with npm). A failed build
// never fails the install: the studio then trains on wasm/cpu and says why in one log line.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (process.env.MAE_STUDIO_SKIP_NATIVE) {
  console.log('native: build skipped (MAE_STUDIO_SKIP_NATIVE is set)');
  process.exit(0);
}
/** node-gyp inside the npm that `npm` on PATH runs (run directly, not from npm, with a Node whose folder has no npm). */
function nodeGypOfNpmOnPath() {
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    const npm = join(folder, process.platform === 'win32' ? 'npm.cmd' : 'npm');
    if (!folder || !existsSync(npm)) continue;
    try {
      return join(dirname(realpathSync(npm)), '../node_modules/node-gyp/bin/node-gyp.js'); // npm → <npm>/bin/npm-cli.js
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const nodeGyp = [
  process.env.npm_config_node_gyp,
  join(here, '../node_modules/node-gyp/bin/node-gyp.js'),
  join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  join(dirname(process.execPath), 'node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  nodeGypOfNpmOnPath(),
].find((path) => path && existsSync(path));
if (!nodeGyp) {
  console.log('native: addon not built (node-gyp not found next to npm); training will use wasm/cpu');
  process.exit(0);
}
const started = Date.now();
const build = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--jobs', 'max'], { cwd: here, encoding: 'utf8', env: process.env });
if (build.status === 0) {
  console.log(`native: addon built in ${((Date.now() - started) / 1000).toFixed(0)} s (native/build/Release)`);
} else {
  const lines = `${build.stdout}\n${build.stderr}`.split('\n').filter((line) => /error/i.test(line)).slice(0, 5);
  console.log(`native: addon build failed, training will use wasm/cpu:\n${lines.join('\n') || build.error?.message || 'node-gyp exited with ' + build.status}`);
}
