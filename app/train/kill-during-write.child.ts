/**
 * Child process of kill-during-write.test.ts (bundled by the test, never shipped): writes
 * checkpoints or metric batches in a loop with the real code, announcing each on stdout, until
 * the test kills it.
 *   checkpoint <file>           `writing N` then `wrote N`: writeFileAtomic of a 24 MB checkpoint
 *   metrics <workspace> <run>   `wrote N`: one appendMetrics batch of 2,000 points at step N
 */
import { Workspace } from '../workspace';
import { encodeSafetensors, writeFileAtomic } from '../mae/weights/safetensors';

const [mode, target, runId] = process.argv.slice(2);

async function checkpoints(file: string): Promise<void> {
  for (let step = 1; ; step++) {
    const weights = new Float32Array(6 << 20).fill(step); // [6M] floats: 24 MB
    const bytes = encodeSafetensors(new Map([['weights', { shape: [weights.length], data: weights }]]), {
      studio: JSON.stringify({ step }),
    });
    process.stdout.write(`writing ${step}\n`);
    await writeFileAtomic(file, bytes);
    process.stdout.write(`wrote ${step}\n`);
  }
}

function metrics(workspaceDir: string, run: number): void {
  const workspace = new Workspace(workspaceDir);
  for (let step = 1; ; step++) {
    const time = Date.now();
    workspace.runs.appendMetrics(
      run,
      Array.from({ length: 2000 }, (_, i) => ({ step, name: `m${i}`, value: step + i / 2000, time })),
    );
    process.stdout.write(`wrote ${step}\n`);
  }
}

if (mode === 'checkpoint') void checkpoints(target!);
else if (mode === 'metrics') metrics(target!, Number(runId));
else throw new Error(`unknown mode ${mode}`);
