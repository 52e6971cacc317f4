/**
 * `npm run bench:data`: what feeds the model, each rate beside its ceiling measured in the same
 * run on the same cores — import files/s at 1…N cores against the sharp decode of the same files.
 * Each measurement runs in its own child process pinned to its cores (`taskset` on Linux), with
 * libuv's threadpool sized as the CLI sizes it. Sections live in `bench/data/` (see section.ts).
 *
 *   node dist/bench/data.js [--files N (multiple of 1000, default 10000)] [--cores 1,2,…] [--rounds R]
 *                           [--sections import,…] [--dir DIR] [--json]
 */
import { execFileSync, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importSection } from './data/import-section';
import { DEFAULT_DATASET_DIR, FILES_PER_FOLDER } from './data/png-dataset';
import {
  defaultCoreCounts,
  optionValue,
  type DataBenchOptions,
  type DataSection,
  type Measurement,
  type RunChild,
} from './data/section';

/** Every section, in the order they run and print. A new one is a file in bench/data/ and a line here. */
const SECTIONS: DataSection[] = [importSection];

function parseOptions(argv: readonly string[]): DataBenchOptions & { sections: DataSection[]; json: boolean } {
  const files = Number(optionValue(argv, '--files') ?? 10_000);
  if (!Number.isInteger(files) || files < FILES_PER_FOLDER || files % FILES_PER_FOLDER !== 0) {
    throw new Error(`--files must be a multiple of ${FILES_PER_FOLDER}, got ${optionValue(argv, '--files')}`);
  }
  const all = os.availableParallelism();
  const coresOption = optionValue(argv, '--cores');
  const cores = coresOption === undefined ? defaultCoreCounts() : coresOption.split(',').map(Number);
  for (const count of cores)
    if (!Number.isInteger(count) || count < 1 || count > all)
      throw new Error(`--cores must list whole numbers from 1 to ${all}, got ${coresOption}`);
  const rounds = Number(optionValue(argv, '--rounds') ?? 1);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds must be a positive whole number, got ${optionValue(argv, '--rounds')}`);
  const names = (optionValue(argv, '--sections') ?? SECTIONS.map((section) => section.name).join(',')).split(',');
  const sections = names.map((name) => {
    const section = SECTIONS.find((candidate) => candidate.name === name);
    if (!section)
      throw new Error(`no section named ${name} (have: ${SECTIONS.map((candidate) => candidate.name).join(', ')})`);
    return section;
  });
  return {
    files,
    cores: [...new Set(cores)].sort((a, b) => a - b),
    rounds,
    dir: path.resolve(optionValue(argv, '--dir') ?? DEFAULT_DATASET_DIR),
    sections,
    json: argv.includes('--json'),
  };
}

/** Whether `taskset` can pin child processes here. */
function canPin(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The CPUs this process may run on, so children are pinned to a subset of them. */
function allowedCpus(): number[] {
  const mask = execFileSync('taskset', ['-c', '-p', String(process.pid)], { encoding: 'utf8' })
    .split(':')
    .at(-1)!
    .trim();
  return mask.split(',').flatMap((range) => {
    const [from, to] = range.split('-').map(Number);
    return Array.from({ length: (to ?? from!) - from! + 1 }, (_, offset) => from! + offset);
  });
}

function childRunner(pin: boolean): RunChild {
  const script = fileURLToPath(import.meta.url);
  const cpus = pin ? allowedCpus() : [];
  return (child, cores, args) =>
    new Promise((resolve, reject) => {
      const command = [process.execPath, script, '--child', child, ...args];
      const pinned =
        pin && cores < cpus.length ? ['taskset', '-c', cpus.slice(0, cores).join(','), ...command] : command;
      // As the CLI launcher sizes it: sharp decodes and encodes in libuv's threadpool.
      const env = { ...process.env, UV_THREADPOOL_SIZE: String(Math.max(4, cores)) };
      const run = spawn(pinned[0]!, pinned.slice(1), { env, stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      run.stdout.on('data', (chunk) => (output += chunk));
      run.on('error', reject);
      run.on('exit', (code) =>
        code === 0
          ? resolve(JSON.parse(output))
          : reject(new Error(`${child} child on ${cores} cores exited with ${code}`)),
      );
    });
}

function loadAverage(): string {
  return os.loadavg()[0]!.toFixed(1);
}

function printTable(rows: Measurement[]): void {
  const cells = rows.map((row) => [
    row.section,
    String(row.cores),
    row.measured,
    `${Math.round(row.value)} ${row.unit}`,
    `${row.ceiling}: ${Math.round(row.ceilingValue)} ${row.unit}`,
    (row.value / row.ceilingValue).toFixed(2),
    `${row.target} ${row.met ? 'met' : 'NOT met'}`,
  ]);
  const header = ['section', 'cores', 'measured', 'rate', 'ceiling', 'ratio', 'target'];
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((cell) => cell[column]!.length)));
  for (const line of [header, ...cells])
    console.log(
      line
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const child = optionValue(argv, '--child');
  if (child !== undefined) {
    const run = SECTIONS.map((section) => section.children[child]).find((found) => found !== undefined);
    if (!run) throw new Error(`no child measurement named ${child}`);
    process.stdout.write(JSON.stringify(await run(argv)) + '\n');
    return;
  }
  const options = parseOptions(argv);
  const pin = canPin();
  const before = loadAverage();
  const started = performance.now();
  const rows: Measurement[] = [];
  for (const section of options.sections) rows.push(...(await section.run(options, childRunner(pin))));
  const context = {
    files: options.files,
    cores: os.availableParallelism(),
    pinned: pin,
    rounds: options.rounds,
    loadAverage: { before: Number(before), after: Number(loadAverage()) },
    minutes: Number(((performance.now() - started) / 60_000).toFixed(1)),
  };
  if (options.json) {
    console.log(JSON.stringify({ ...context, rows }));
    return;
  }
  console.log(
    `bench:data: ${options.files} PNGs (256×256 RGB), ${context.cores} ` +
      `cores${pin ? ', each run pinned to its cores' : ' (not pinned: no taskset)'}, ` +
      `best of ${options.rounds}, load average ${before} → ${loadAverage()}, ${context.minutes} min`,
  );
  printTable(rows);
}

await main();
