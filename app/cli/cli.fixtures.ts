/** Test helper: the built CLI (`dist/cli/cli.js`, rebuilt by the vitest global setup) as scripts call it. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

/** The built CLI's entry file. */
export const CLI = path.resolve(import.meta.dirname, '../../dist/cli/cli.js');

/** What one CLI call gave back. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with `args` (in `cwd` when given) and waits for it to exit. */
export function runCli(args: readonly string[], cwd?: string): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', ...(cwd && { cwd }) });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
