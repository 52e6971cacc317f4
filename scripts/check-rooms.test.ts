/**
 * The rooms check as `npm test` runs it (`node scripts/check-rooms.mjs ROOT`), on small generated
 * trees: an upward import, a cycle between rooms and a renderer reaching past the contract each
 * fail it with a line naming both files; a tree whose imports all point down passes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = path.resolve(import.meta.dirname, 'check-rooms.mjs');
const trees: string[] = [];

/** Writes `files` (path → source) under a fresh folder and returns it. */
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-rooms-'));
  trees.push(root);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

function check(root: string): { status: number | null; lines: string[] } {
  const run = spawnSync(process.execPath, [script, root], { encoding: 'utf8' });
  return { status: run.status, lines: run.stdout.trim().split('\n') };
}

const clean = {
  'app/contract.ts': 'export interface Project { id: number }\n',
  'app/mae/rng.ts':
    "import type { Project } from '../contract';\nexport function " +
    'seed(project: Project): number { return project.id; }\n',
  'app/data/batch.ts': "import { seed } from '../mae/rng';\nexport const first = seed({ id: 1 });\n",
  'app/train/trainer.ts': "import { first } from '../data/batch';\nexport const start = first;\n",
  // The renderer reaches the contract through its alias (renderer/vite.config.ts), which counts as an import of it.
  'renderer/src/main.ts': "import type { Project } from '$contract';\nexport const none: Project[] = [];\n",
};

afterAll(() => {
  for (const root of trees) fs.rmSync(root, { recursive: true, force: true });
});

describe('the rooms check', () => {
  it('passes a tree whose imports all point down', () => {
    const { status, lines } = check(tree(clean));
    expect(lines.at(-1)).toMatch(/^rooms: 4 imports between rooms, 0 violations/);
    expect(status).toBe(0);
  });

  it('names both files of an upward import and of every import in a cycle between rooms', () => {
    const root = tree({
      ...clean,
      // data → train is upward, and with train → data it closes a cycle.
      'app/data/augment.ts': "import { start } from '../train/trainer';\nexport const again = start;\n",
    });
    const { status, lines } = check(root);
    expect(status).toBe(1);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^app\/data\/augment\.ts imports app\/train\/trainer\.ts: upward: app\/data \(level \d+\) imports app\/train/,
      ),
    );
    const cycle = lines.find((line) => line.startsWith('cycle between rooms'));
    expect(cycle).toContain('app/data ↔ app/train');
    expect(cycle).toContain('app/data/augment.ts imports app/train/trainer.ts');
    expect(cycle).toContain('app/train/trainer.ts imports app/data/batch.ts');
  });

  it('refuses a renderer import of anything in app/ but the contract, and leaves tests out', () => {
    const root = tree({
      ...clean,
      'app/studio.ts': "import { start } from './train/trainer';\nexport const studio = start;\n",
      'renderer/src/lib/peek.ts': "import { studio } from '../../../app/studio';\nexport const peek = studio;\n",
      // A test beside its code may build the whole studio around it.
      'app/data/batch.test.ts': "import { studio } from '../studio';\nexport const used = studio;\n",
      'app/data/images.fixtures.ts': "import { studio } from '../studio';\nexport const fixture = studio;\n",
    });
    const { status, lines } = check(root);
    expect(status).toBe(1);
    expect(lines).toContain('renderer/src/lib/peek.ts imports app/studio.ts: renderer may import only app/contract');
    expect(lines.some((line) => line.includes('batch.test.ts') || line.includes('images.fixtures.ts'))).toBe(false);
  });
});
