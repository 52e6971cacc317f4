#!/usr/bin/env node
// Electron security lint (Doyensec's electronegativity) over what runs in Electron: the main
// process and preload sources (main/*.ts, tests left out) and the renderer's index.html, with the
// Electron version from the installed package. Prints one line per finding and a summary; exits
// 1 on any HIGH or MEDIUM finding. False positives are silenced where they occur, with an
// `eng-disable CHECK_ID` comment that says why (see docs/SECURITY.md).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'node_modules/@doyensec/electronegativity/dist/index.js');
// Needs the network (it asks GitHub for Electron's release notes); the Electron version is
// pinned in package.json and upgraded on purpose, so this check is left to that review.
const EXCLUDED_CHECKS = ['AvailableSecurityFixesGlobalCheck'];
const FAILING = new Set(['HIGH', 'MEDIUM']);

const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-electronegativity-'));
try {
  fs.mkdirSync(path.join(stage, 'main'));
  for (const name of fs.readdirSync(path.join(root, 'main'))) {
    if (name.endsWith('.ts') && !name.endsWith('.test.ts'))
      fs.copyFileSync(path.join(root, 'main', name), path.join(stage, 'main', name));
  }
  fs.mkdirSync(path.join(stage, 'renderer'));
  fs.copyFileSync(path.join(root, 'renderer/index.html'), path.join(stage, 'renderer/index.html'));
  const electronVersion = JSON.parse(
    fs.readFileSync(path.join(root, 'node_modules/electron/package.json'), 'utf8'),
  ).version;
  const report = path.join(stage, 'report.csv');
  const run = spawnSync(
    process.execPath,
    [cli, '-i', stage, '-r', '-e', electronVersion, '-x', EXCLUDED_CHECKS.join(','), '-o', report],
    {
      cwd: stage,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  if (run.status !== 0 || !fs.existsSync(report)) {
    console.error(`electronegativity did not run (exit ${run.status ?? run.signal}):\n${run.stderr || run.stdout}`);
    process.exit(1);
  }
  const findings = parseCsv(fs.readFileSync(report, 'utf8'));
  for (const finding of findings) {
    const review = finding.manualReview === 'true' ? ' (review)' : '';
    console.log(
      `${finding.severity.padEnd(13)} ${finding.confidence.padEnd(9)} ` +
        `${finding.issue} ${finding.filename}:${finding.location}${review}`,
    );
  }
  const failing = findings.filter((finding) => FAILING.has(finding.severity));
  const bySeverity = Object.entries(Object.groupBy(findings, (finding) => finding.severity)).map(
    ([severity, list]) => `${list.length} ${severity}`,
  );
  console.log(
    `electronegativity (Electron ${electronVersion}): ${findings.length} ` +
      `finding(s)${bySeverity.length ? ` (${bySeverity.join(', ')})` : ''}, ` +
      `${failing.length} HIGH or MEDIUM`,
  );
  process.exit(failing.length === 0 ? 0 : 1);
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}

/** The tool's CSV report: a header row, then one quoted row per finding. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (char !== '\r') field += char;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  const [header = [], ...body] = rows;
  return body
    .filter((cells) => cells.length > 1)
    .map((cells) => Object.fromEntries(header.map((name, index) => [name.trim(), cells[index] ?? ''])));
}
