/** The same journey's first step in the real Electron window, where Electron's binary exists. */
import { _electron as electron } from '@playwright/test';

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, ROOT, test } from './fixtures';

/** The Electron binary if present, without triggering its download. */
function electronBinary(): string | null {
  const dir = path.join(ROOT, 'node_modules/electron');
  const pathFile = path.join(dir, 'path.txt');
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) return path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH, 'electron');
  if (!fs.existsSync(pathFile)) return null;
  const binary = path.join(dir, 'dist', fs.readFileSync(pathFile, 'utf8'));
  return fs.existsSync(binary) ? binary : null;
}

const binary = electronBinary();

test('opens the studio window with the contract bridge and no Node in the page', async () => {
  test.skip(binary === null, 'Electron binary not available on this machine');
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-e2e-electron-'));
  const app = await electron.launch({
    executablePath: binary!,
    args: [ROOT, ...(process.env.CI ? ['--no-sandbox'] : [])],
    env: { ...process.env, MAE_STUDIO_WORKSPACE: workspace },
  });
  try {
    const window = await app.firstWindow();
    await expect(window.getByTestId('new-project')).toBeVisible();
    expect(await window.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    expect(await window.evaluate(() => typeof (globalThis as { studioBridge?: unknown }).studioBridge)).toBe('object');
  } finally {
    await app.close();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
