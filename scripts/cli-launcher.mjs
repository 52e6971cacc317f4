#!/usr/bin/env node
// dist/cli/cli.js (scripts/build.mjs copies this file there; the CLI itself is dist/cli/studio.js):
// runs the CLI when this Node is new enough. Under an older Node, in a checkout, it re-runs under
// the project's Node (scripts/node.mjs: .tools/node22, fetched once); elsewhere it says in one
// line what to install. Kept to syntax and APIs any Node since 14 has.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major > 22 || (major === 22 && minor >= 12)) {
  // sharp decodes and encodes in libuv's threadpool (4 threads unless told): one per core, so the
  // import's worker threads (one per core) are not held to 4 decodes at a time. Read once, when the
  // pool first starts, so it is set before anything runs.
  if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(Math.max(4, os.availableParallelism()));
  await import('./studio.js');
} else {
  const launcher = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/node.mjs');
  let node = null;
  if (fs.existsSync(launcher)) {
    try {
      node = (await import(pathToFileURL(launcher).href)).projectNode();
    } catch (error) {
      console.error(error.message);
      process.exit(1);
    }
  }
  if (!node) {
    console.error(
      `mae-studio needs Node 22.12 or newer (this is ${process.version}): install Node 22 from https://nodejs.org`,
    );
    process.exit(1);
  }
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.on('SIGINT', () => {}); // the child gets Ctrl+C from the terminal and stops after its step
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
