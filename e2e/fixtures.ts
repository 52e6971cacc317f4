/**
 * The shared e2e fixture: a fresh temporary workspace served by the built CLI (`serve` mode), the
 * generated sample folder plus a folder of broken files to import, and a page that fails its
 * test on any uncaught page error or console error (`pageErrors.take` for an expected one).
 */
import { test as base, expect, type Page } from '@playwright/test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const CLI = path.join(ROOT, 'dist/cli/cli.js');

/** Runs the built CLI with --json and returns its parsed output. */
export function cli<T = unknown>(...args: string[]): T {
  const result = spawnSync(process.execPath, [CLI, ...args, '--json'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mae-studio ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/**
 * A project "Cells" (microscopy) of the sample images with a tiny pretraining run (run 1: 32 px,
 * patch 8, one block, 6 steps on cpu), made through the CLI: the start of every journey that
 * needs a trained encoder. `extra` adds pretrain flags (e.g. `--val-fraction 0.25`).
 */
export function tinyPretrainedProject(workspace: string, sampleDir: string, ...extra: string[]): void {
  cli('init', '--workspace', workspace, '--name', 'Cells', '--domain', 'microscopy');
  cli('import', '--workspace', workspace, '--project', '1', sampleDir);
  const tiny = ['--img', '32', '--patch', '8', '--depth', '1', '--decoder', '32x1', '--batch', '4', '--steps', '6'];
  cli('pretrain', '--workspace', workspace, '--project', '1', ...tiny, '--backend', 'cpu', ...extra);
}

export interface Served {
  url: string;
  workspace: string;
  process: ChildProcess;
}

/** Starts `mae-studio serve` on a free port and waits for its URL. */
export async function serve(workspace: string): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve', '--workspace', workspace, '--port', '0', '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n')[0];
      if (buffer.includes('\n') && line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code} before printing its URL`)));
  });
  return { url, workspace, process: child };
}

interface Folders {
  /** The generated microscopy sample (labels = sub-folders). */
  sample: { dir: string; files: number; labels: string[] };
  /** A folder with one corrupt PNG and one zero-byte file. */
  broken: string;
}

/**
 * Uncaught page errors and console errors of a test's page. Every one fails the test after it
 * ends, unless the test takes it with `take(pattern)` and asserts what it took.
 */
export interface PageErrors {
  /** Removes and returns the errors matching `pattern` (the test should assert them). */
  take(pattern: RegExp): string[];
}

/** The errors each test's page logged, owned by the `page` fixture. */
const pageErrorLists = new WeakMap<Page, string[]>();

export const test = base.extend<{ studio: Served; pageErrors: PageErrors }, { folders: Folders }>({
  // The page depends on `studio` so that it is torn down first: once the server stops, the
  // page's reconnect attempts log errors that are not the test's.
  page: async ({ page, studio: _studio }, use) => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(`uncaught ${error.name}: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console.error: ${message.text()} (${message.location().url})`);
    });
    pageErrorLists.set(page, errors);
    await use(page);
    expect(errors, 'the page logged errors (uncaught exceptions or console.error)').toEqual([]);
  },
  pageErrors: async ({ page }, use) => {
    const errors = pageErrorLists.get(page)!;
    await use({
      take(pattern) {
        const taken = errors.filter((error) => pattern.test(error));
        for (const error of taken) errors.splice(errors.indexOf(error), 1);
        return taken;
      },
    });
  },
  folders: [
    async ({}, use) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-e2e-data-'));
      const sample = cli<Folders['sample']>(
        'sample',
        path.join(dir, 'sample'),
        '--domain',
        'microscopy',
        '--count',
        '36',
      );
      const broken = path.join(dir, 'broken');
      fs.mkdirSync(broken);
      // A real PNG signature and IHDR start, then garbage: decodable header, broken data.
      fs.writeFileSync(
        path.join(broken, 'corrupt.png'),
        Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(64, 0x5a)]),
      );
      fs.writeFileSync(path.join(broken, 'empty.png'), Buffer.alloc(0));
      await use({ sample, broken });
      fs.rmSync(dir, { recursive: true, force: true });
    },
    { scope: 'worker' },
  ],
  studio: async ({}, use) => {
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-e2e-ws-'));
    const served = await serve(workspace);
    await use(served);
    served.process.kill('SIGTERM');
    await new Promise((resolve) => served.process.once('exit', resolve));
    fs.rmSync(workspace, { recursive: true, force: true });
  },
});

export { expect };
