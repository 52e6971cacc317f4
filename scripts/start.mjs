#!/usr/bin/env node
// `npm start`: build, then open the Electron app. Electron 45 fetches its binary on first use;
// where that cannot happen (offline, CI), say so in one line and point to `npm run serve`.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const built = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

console.log('Starting MAE Studio (the first start downloads Electron)…');
// Resolve the binary in a child: electron's index.js downloads it when missing and throws on failure.
const probe = spawnSync(process.execPath, ['-e', "process.stdout.write(require('electron'))"], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'pipe'],
  timeout: 10 * 60_000,
});
const binary = probe.status === 0 ? (probe.stdout.trim().split('\n').pop() ?? '') : '';
if (!binary) {
  console.error(
    'The Electron binary is not available on this machine (it could not be downloaded); ' +
      'run `npm run serve` to use MAE Studio in your browser instead.',
  );
  process.exit(1);
}
const child = spawn(binary, [root, ...process.argv.slice(2)], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
