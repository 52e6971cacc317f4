/** Builds the CLI once before the unit tests, so CLI tests always run the current code. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '..');
  execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--only', 'cli'], {
    cwd: root,
    stdio: 'inherit',
  });
}
