#!/usr/bin/env node
// `npm run bench [-- name...]`: runs the built benchmarks in dist/bench (all, or the named ones),
// one after another so they do not disturb each other's timings.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'dist/bench');
// `*-worker.js` are worker threads the benchmarks start (the import's), not benchmarks.
const available = fs.existsSync(dir)
  ? fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.js') && !f.endsWith('-worker.js'))
      .map((f) => f.slice(0, -3))
  : [];
// Names come first, then the options passed on to each benchmark (`train --steps 20 --threads 1`:
// option values are not names).
const firstOption = process.argv.slice(2).findIndex((a) => a.startsWith('-'));
const names = firstOption < 0 ? process.argv.slice(2) : process.argv.slice(2, 2 + firstOption);
const options = firstOption < 0 ? [] : process.argv.slice(2 + firstOption);
// The soak runs for a wall-clock budget by hand (`npm run soak -- --minutes 120`), not in `bench`.
const chosen = names.length ? names : available.filter((name) => name !== 'soak');
let failed = 0;
for (const name of chosen) {
  if (!available.includes(name)) {
    console.error(`no benchmark named "${name}" (have: ${available.join(', ') || 'none; run npm run build'})`);
    failed++;
    continue;
  }
  console.log(`\n=== bench: ${name} ===`);
  const run = spawnSync(process.execPath, ['--expose-gc', path.join(dir, `${name}.js`), ...options], {
    cwd: root,
    stdio: 'inherit',
  });
  if (run.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
