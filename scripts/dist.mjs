#!/usr/bin/env node
// `npm run dist [-- electron-builder flags]`: installers for this OS (electron-builder.yml: Linux
// AppImage + deb, macOS dmg, Windows NSIS) under release/. Packaging needs the Electron binary;
// where it is missing and cannot be downloaded (offline, CI) this says so in one line, before
// building anything, and exits 1.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electronPackage = path.join(root, 'node_modules/electron');
const electronVersion = JSON.parse(fs.readFileSync(path.join(electronPackage, 'package.json'), 'utf8')).version;

/** The Electron binary's path once present (electron's index.js downloads it on first use), or null. */
function electronBinary() {
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD; // ask for the download this time
  const probe = spawnSync(process.execPath, ['-e', "process.stdout.write(require('electron'))"], {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 10 * 60_000,
  });
  const binary = probe.status === 0 ? probe.stdout.trim().split('\n').pop() : '';
  return binary && fs.existsSync(binary) ? binary : null;
}

const binary = electronBinary();
if (!binary) {
  console.error(
    `npm run dist: the Electron ${electronVersion} binary is not installed and could not be downloaded; ` +
      'connect to the network (or set ELECTRON_MIRROR or electron_config_cache) and run it again.',
  );
  process.exit(1);
}

const built = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

const flags = process.argv.slice(2);
// For this OS, package the Electron just resolved (its whole unpacked folder) instead of
// downloading it a second time; another OS's Electron electron-builder fetches itself.
const PLATFORM_FLAGS = {
  darwin: ['--mac', '--macos', '-m'],
  win32: ['--win', '--windows', '-w'],
  linux: ['--linux', '-l'],
};
const otherPlatform = Object.entries(PLATFORM_FLAGS).some(
  ([platform, names]) => platform !== process.platform && flags.some((flag) => names.includes(flag)),
);
const electronDist = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? path.join(electronPackage, 'dist');
const localElectron = otherPlatform ? [] : [`-c.electronDist=${electronDist}`];
const builder = path.join(
  root,
  'node_modules/.bin',
  process.platform === 'win32' ? 'electron-builder.cmd' : 'electron-builder',
);
const packaged = spawnSync(
  builder,
  ['--config', 'electron-builder.yml', `-c.electronVersion=${electronVersion}`, ...localElectron, ...flags],
  {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  },
);
process.exit(packaged.status ?? 1);
