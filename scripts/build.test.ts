import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

/** Whether Node can `require` the package: its exports (if any) offer a require, node or default entry. */
function requirable(name: string): boolean {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8'));
  const entry = manifest.exports?.['.'] ?? manifest.exports;
  if (!entry || typeof entry !== 'object') return true;
  return /"(require|node|default)"/.test(JSON.stringify(entry));
}

describe('the Electron main bundle', () => {
  it('requires only packages that can be required (import-only ones such as nifti-reader-js are bundled in)', () => {
    execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--only', 'main'], {
      cwd: root,
      stdio: 'ignore',
    });
    const bundle = fs.readFileSync(path.join(root, 'dist/main/index.cjs'), 'utf8');
    const required = new Set([...bundle.matchAll(/require\("([^".][^"]*)"\)/g)].map((match) => match[1]!));
    const packages = [...required]
      .filter((name) => !name.startsWith('node:') && name !== 'electron')
      .map((name) => (name.startsWith('@') ? name.split('/').slice(0, 2).join('/') : name.split('/')[0]!))
      .filter((name) => fs.existsSync(path.join(root, 'node_modules', name, 'package.json')));
    expect(packages.length).toBeGreaterThan(3); // better-sqlite3, sharp, zod, … are required
    expect(packages.filter((name) => !requirable(name))).toEqual([]);
    expect(bundle).not.toContain('require("nifti-reader-js")');
  });
});
