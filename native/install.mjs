#!/usr/bin/env node
// `npm ci` / `npm install` hook (it runs under whatever Node ran npm): makes sure the project's
// Node is there (scripts/node.mjs fetches it when this one is older), then builds the addon with
// node-gyp (shipped with npm) against that Node's headers. A failed build never fails the install:
// the studio then trains on wasm/cpu. Either way it says so in one line, with the reason and fix.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_NODE_DIR, envFor, projectNode } from '../scripts/node.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SETUP = 'see "Set up" in README.md';

let node = process.execPath;
try {
  node = projectNode((line) => console.log(line));
  if (node !== process.execPath) {
    const version = spawnSync(node, ['-v'], { encoding: 'utf8' }).stdout.trim();
    console.log(
      `node: npm ran on Node ${process.version}; npm start, npm test and npm run serve run on Node ${version} ` +
        `from ${relative(join(here, '..'), PROJECT_NODE_DIR)} (the engine warnings above are about ${process.version})`,
    );
  }
} catch (error) {
  console.log(error.message);
}

if (process.env.MAE_STUDIO_SKIP_NATIVE) {
  console.log('native: addon not built (MAE_STUDIO_SKIP_NATIVE is set); training will use wasm/cpu');
  process.exit(0);
}

/**
 * node-gyp inside the npm that `npm` on PATH runs (run directly, not from npm, with a Node whose folder has no npm).
 */
function nodeGypOfNpmOnPath() {
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    const npm = join(folder, process.platform === 'win32' ? 'npm.cmd' : 'npm');
    if (!folder || !existsSync(npm)) continue;
    try {
      // npm → <npm>/bin/npm-cli.js
      return join(dirname(realpathSync(npm)), '../node_modules/node-gyp/bin/node-gyp.js');
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The one line that says why a build failed and what to install. */
function buildFailureReason(output) {
  const text = output.toLowerCase();
  if (/eigen\/[a-z]+: no such file|eigen\/[a-z]+' file not found|cannot open include file: 'eigen/.test(text)) {
    return (
      `Eigen (C++ headers) not found: install libeigen3-dev, ` +
      `brew install eigen, or set EIGEN_INCLUDE_DIR (${SETUP})`
    );
  }
  if (/gyp err! find python|could not find any python/.test(text))
    return `Python 3 not found: node-gyp needs it (${SETUP})`;
  if (/gyp err! find vs|could not find any visual studio/.test(text)) {
    return `Visual Studio Build Tools (Desktop development with C++) not found (${SETUP})`;
  }
  const noCompiler = /(g\+\+|c\+\+|cc|make|clang\+\+): (command )?not found|(g\+\+|c\+\+|make): no such file/.test(
    text,
  );
  if (noCompiler || /not found: make|no developer tools|xcrun: error/.test(text)) {
    return `no C++ compiler or make: install g++ and make, or Xcode's command line tools (${SETUP})`;
  }
  const first = output
    .split('\n')
    .find((line) => /error/i.test(line) && !/gyp ERR! (stack|System|command|cwd|node|not ok)/.test(line));
  return (first ?? 'node-gyp failed').trim().slice(0, 200);
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
// The fetched Node carries its headers (include/node): node-gyp then needs no download.
const env = envFor(node);
if (node !== process.execPath && existsSync(join(PROJECT_NODE_DIR, 'include/node/node_api.h')))
  env.npm_config_nodedir = PROJECT_NODE_DIR;
const started = Date.now();
const build = spawnSync(node, [nodeGyp, 'rebuild', '--jobs', 'max'], { cwd: here, encoding: 'utf8', env });
if (build.status === 0) {
  console.log(`native: addon built in ${((Date.now() - started) / 1000).toFixed(0)} s (native/build/Release)`);
} else {
  const reason = build.error ? build.error.message : buildFailureReason(`${build.stdout}\n${build.stderr}`);
  console.log(`native: addon not built, training will use wasm/cpu: ${reason}`);
}
