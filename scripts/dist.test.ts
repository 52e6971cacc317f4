/**
 * Packaging without the network: `npm run dist` stops in one clear line when Electron's binary
 * cannot be had, and electron-builder.yml passes electron-builder's own schema with every target,
 * fuse, unpacked native module and icon the installers need.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..');
const electronInstalled = (() => {
  const pathFile = path.join(root, 'node_modules/electron/path.txt');
  return (
    fs.existsSync(pathFile) &&
    fs.existsSync(path.join(root, 'node_modules/electron/dist', fs.readFileSync(pathFile, 'utf8')))
  );
})();

// biome-ignore lint/suspicious/noExplicitAny: js-yaml's output is untyped; the tests read nested keys.
type Config = Record<string, any>;

function readConfig(): Config {
  const yaml = require('js-yaml') as { load(text: string): unknown };
  return yaml.load(fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as Config;
}

describe('npm run dist', () => {
  // Where Electron is installed this would really package; the offline case is CI's.
  it.skipIf(electronInstalled)(
    'says in one line that the Electron binary could not be downloaded, before building anything',
    () => {
      const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-electron-cache-'));
      try {
        const run = spawnSync(process.execPath, [path.join(root, 'scripts/dist.mjs')], {
          cwd: root,
          encoding: 'utf8',
          timeout: 60_000,
          // An empty download cache and a mirror nobody answers: the download fails at once.
          env: {
            ...process.env,
            electron_config_cache: cache,
            ELECTRON_MIRROR: 'http://127.0.0.1:9/',
            ELECTRON_SKIP_BINARY_DOWNLOAD: '1',
          },
        });
        expect(run.status).toBe(1);
        expect(run.stdout).toBe('');
        const lines = run.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(
          /^npm run dist: the Electron \d+\.\d+\.\d+ binary is not installed and could not be downloaded; /,
        );
        expect(lines[0]).toMatch(/could not be downloaded; connect to the network/);
      } finally {
        fs.rmSync(cache, { recursive: true, force: true });
      }
    },
  );

  it("has an electron-builder.yml that electron-builder's schema accepts", async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
      validateConfiguration(config: unknown, logger: { isEnabled: boolean; add(): void }): Promise<void>;
    };
    const logger = { isEnabled: false, add: () => {} };
    await validateConfiguration(readConfig(), logger);
    await expect(validateConfiguration({ ...readConfig(), linux: { targets: ['AppImage'] } }, logger)).rejects.toThrow(
      /Invalid configuration/,
    ); // the check bites
  });

  it('builds AppImage, deb, dmg and NSIS installers with the fuses flipped and native modules unpacked', () => {
    const config = readConfig();
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target).toEqual(['dmg']);
    expect(config.win.target).toEqual(['nsis']);
    expect(config.appId).toMatch(/^[a-z]+(\.[a-z]+)+$/);
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
      grantFileProtocolExtraPrivileges: false,
    });
    for (const module of ['better-sqlite3', 'sharp', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu']) {
      expect(config.asarUnpack, module).toContain(`**/node_modules/${module}/**`);
    }
    expect(config.asarUnpack).toContain('native/build/Release/*.node');
    // Each installer keeps its own OS's Dawn build and drops the other OSes'.
    const dawnBuilds = ['darwin-universal', 'linux-x64', 'linux-arm64', 'win32-x64', 'win32-arm64'];
    for (const [platform, prefix] of [
      ['linux', 'linux-'],
      ['mac', 'darwin-'],
      ['win', 'win32-'],
    ] as const) {
      const dropped = (config[platform].files as string[]).join(' ');
      for (const build of dawnBuilds)
        expect(dropped.includes(build), `${platform} drops ${build}`).toBe(!build.startsWith(prefix));
    }
  });

  it('has the icons each platform needs, rendered from build/icon.svg', async () => {
    const config = readConfig();
    expect(await sharp(path.join(root, config.mac.icon)).metadata()).toMatchObject({
      width: 1024,
      height: 1024,
      format: 'png',
    });
    for (const size of [16, 32, 48, 64, 128, 256, 512]) {
      const metadata = await sharp(path.join(root, config.linux.icon, `${size}x${size}.png`)).metadata();
      expect([metadata.width, metadata.height], `${size} px`).toEqual([size, size]);
    }
    const ico = fs.readFileSync(path.join(root, config.win.icon));
    expect([ico.readUInt16LE(0), ico.readUInt16LE(2)]).toEqual([0, 1]); // ICONDIR of an icon
    const sizes = Array.from({ length: ico.readUInt16LE(4) }, (_, i) => ico.readUInt8(6 + 16 * i) || 256);
    expect(sizes).toContain(256);
    expect(sizes).toContain(16);
  });
});
