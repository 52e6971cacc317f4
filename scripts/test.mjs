#!/usr/bin/env node
// `npm test`: everything CI runs, in order — the formatter and linter (Biome, as `npm run lint`: no
// finding, no line over 120 characters), type checks, the rooms check (imports point down the layers
// of docs/ARCHITECTURE.md, no cycles), the Electron security lint, the build, unit tests (vitest),
// then end-to-end tests (Playwright in Debian's Chromium) — and one closing summary line.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const results = path.join(root, 'test-results');
fs.rmSync(results, { recursive: true, force: true });
fs.mkdirSync(results, { recursive: true });
const bin = (name) => path.join(root, 'node_modules/.bin', name);

function step(title, command, args) {
  console.log(`\n=== ${title} ===`);
  const started = Date.now();
  const run = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: process.env });
  console.log(`--- ${title}: ${run.status === 0 ? 'ok' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return run.status === 0;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** Unit test files that failed with no test result in them, as "file: first line of the error". */
function unitFilesThatRanNoTest(report) {
  return (report?.testResults ?? [])
    .filter(
      (file) => file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed'),
    )
    .map((file) => `${path.relative(root, file.name)}: ${(file.message ?? '').trim().split('\n')[0] || 'failed'}`);
}

const checks = [
  step('format and lint (biome check)', bin('biome'), ['check', '--error-on-warnings', '.']),
  step('line length (at most 120 characters)', process.execPath, ['scripts/check-line-length.mjs']),
  step('type check (app, main, e2e)', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']),
  step('type check (renderer, svelte-check)', bin('svelte-check'), [
    '--tsconfig',
    'renderer/tsconfig.json',
    '--fail-on-warnings',
    '--output',
    'human',
  ]),
  step('rooms check (imports point down, no cycles)', process.execPath, ['scripts/check-rooms.mjs']),
  step('Electron security lint (electronegativity)', process.execPath, ['scripts/electronegativity.mjs']),
  step('build', process.execPath, ['scripts/build.mjs']),
];
step('unit tests (vitest)', bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${path.join(results, 'unit.json')}`,
]);
step('end-to-end tests (playwright, chromium)', bin('playwright'), ['test', '-c', 'e2e/playwright.config.ts']);

const unit = readJson(path.join(results, 'unit.json'));
const e2e = readJson(path.join(results, 'e2e.json'));
const counts = { passed: 0, failed: 0, skipped: 0 };
// The summary counts tests (vitest's suite counts add every file and describe block around a failed
// test). A test file that failed outside its tests (it did not load, or a hook threw) has no test to
// count, so it counts once, by name; so does each error Playwright reports outside a test.
const unitLoadFailures = unitFilesThatRanNoTest(unit);
if (unit) {
  counts.passed += unit.numPassedTests;
  counts.failed += unit.numFailedTests + unitLoadFailures.length;
  counts.skipped += (unit.numPendingTests ?? 0) + (unit.numTodoTests ?? 0);
} else counts.failed += 1;
if (e2e) {
  counts.passed += e2e.stats.expected + (e2e.stats.flaky ?? 0);
  counts.failed += e2e.stats.unexpected;
  counts.skipped += e2e.stats.skipped;
  counts.failed += (e2e.errors ?? []).length;
} else counts.failed += 1;
const failedChecks = checks.filter((ok) => !ok).length;

console.log('');
if (unit)
  console.log(
    `unit: ${unit.numPassedTests} passed, ${unit.numFailedTests} failed, ${unit.numPendingTests ?? 0} skipped`,
  );
for (const failure of unitLoadFailures)
  console.log(
    `unit: a test file failed outside its tests (it did not load, or a hook threw), counted as 1 failed: ${failure}`,
  );
if (!unit) console.log('unit: no report (vitest did not finish); counted as 1 failed');
if (!e2e) console.log('e2e: no report (playwright did not finish); counted as 1 failed');
if (e2e) console.log(`e2e: ${e2e.stats.expected} passed, ${e2e.stats.unexpected} failed, ${e2e.stats.skipped} skipped`);
console.log(`tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
if (failedChecks)
  console.log(
    `checks: ${failedChecks} of ${checks.length} failed ` +
      `(lint, line length, type checks, rooms check, security lint, build)`,
  );
process.exit(counts.failed === 0 && failedChecks === 0 && counts.passed > 0 ? 0 : 1);
