/**
 * The line-length check as `npm test` runs it (`node scripts/check-line-length.mjs ROOT`), on small
 * generated trees: a line of 121 characters in a source file fails it with the file and line named;
 * lines of exactly 120, long lines in dependencies, build output and Markdown do not.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = path.resolve(import.meta.dirname, 'check-line-length.mjs');
const trees: string[] = [];

/** Writes `files` (path → source) under a fresh folder and returns it. */
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-lines-'));
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

const comment = (length: number) => `// ${'x'.repeat(length - 3)}`;

afterAll(() => {
  for (const root of trees) fs.rmSync(root, { recursive: true, force: true });
});

describe('check-line-length', () => {
  it('fails on a source line over 120 characters, naming the file and line', () => {
    const root = tree({
      'app/a.ts': `export const a = 1;\n${comment(121)}\n`,
      'native/src/b.cc': `int b;\n${'/'.repeat(130)}\n`,
      'renderer/src/c.svelte': `<p>${'word '.repeat(20)}</p>\n`,
    });
    const { status, lines } = check(root);
    expect(status).toBe(1);
    expect(lines).toEqual([
      'app/a.ts:2: 121 characters, more than 120',
      'native/src/b.cc:2: 130 characters, more than 120',
      'line length: 2 over 120 characters (3 files checked)',
    ]);
  });

  it('passes lines of 120 and leaves dependencies, build output and Markdown alone', () => {
    const root = tree({
      'app/a.ts': `${comment(120)}\n`,
      'app/node_modules/x/index.js': `${comment(300)}\n`,
      'native/build/gen.h': `${comment(300)}\n`,
      'app/NOTES.md': `${'word '.repeat(60)}\n`,
    });
    const { status, lines } = check(root);
    expect(status).toBe(0);
    expect(lines).toEqual(['line length: 0 over 120 characters (1 files checked)']);
  });
});
