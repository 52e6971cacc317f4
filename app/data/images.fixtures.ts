/**
 * Test fixtures: small images written with sharp in every supported format, depth and channel
 * layout, plus a workspace on a temporary folder. Used by the `*.test.ts` files of this folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Workspace } from '../workspace';
import type { ImportResult } from '../contract';
import { importFolders } from './import/import';

/** What a fixture image is. */
export interface FixtureSpec {
  format: 'png' | 'jpeg' | 'webp' | 'tiff';
  bitDepth: 8 | 16;
  channels: 1 | 2 | 3 | 4;
  width: number;
  height: number;
  /** Varies the content, so fixtures with the same spec hash differently. */
  seed?: number;
}

/** A fresh temporary folder, removed by the returned function. */
export function temporaryFolder(prefix = 'mae-data-'): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A workspace with one project, on a temporary folder. */
export function temporaryWorkspace(): {
  workspace: Workspace;
  projectId: number;
  dir: string;
  /** Imports `folder` into the project as the app's import does (one import, id `i`). */
  importFolder: (folder: string) => Promise<ImportResult>;
  remove: () => void;
} {
  const folder = temporaryFolder('mae-workspace-');
  const workspace = new Workspace(folder.dir);
  const project = workspace.projects.create('t', 'general');
  return {
    workspace,
    projectId: project.id,
    dir: folder.dir,
    importFolder: (source) =>
      importFolders({
        importId: 'i',
        projectId: project.id,
        folders: [source],
        images: workspace.images,
        projectDir: workspace.projectDir(project.id),
      }),
    remove: () => {
      workspace.close();
      folder.remove();
    },
  };
}

/** Interleaved pixels of a fixture: a gradient per channel, shifted by the seed. */
export function fixturePixels(spec: FixtureSpec): Uint8Array | Uint16Array {
  const maximum = spec.bitDepth === 16 ? 65535 : 255;
  const pixels =
    spec.bitDepth === 16
      ? new Uint16Array(spec.width * spec.height * spec.channels)
      : new Uint8Array(spec.width * spec.height * spec.channels);
  const seed = spec.seed ?? 0;
  for (let y = 0; y < spec.height; y++) {
    for (let x = 0; x < spec.width; x++) {
      for (let channel = 0; channel < spec.channels; channel++) {
        const ramp = ((x + y * (channel + 1) + seed * 7) % spec.width) / spec.width;
        pixels[(y * spec.width + x) * spec.channels + channel] = Math.round(ramp * maximum);
      }
    }
  }
  return pixels;
}

/** Encodes raw pixels in a format, keeping their depth and channels. */
export async function encodePixels(pixels: Uint8Array | Uint16Array, spec: Omit<FixtureSpec, 'seed'>): Promise<Buffer> {
  const grey = spec.channels <= 2;
  const colourspace = spec.bitDepth === 16 ? (grey ? 'grey16' : 'rgb16') : grey ? 'b-w' : 'srgb';
  const image = sharp(pixels, {
    raw: { width: spec.width, height: spec.height, channels: spec.channels },
  }).toColourspace(colourspace);
  switch (spec.format) {
    case 'png':
      return image.png().toBuffer();
    case 'jpeg':
      return image.jpeg({ quality: 95 }).toBuffer();
    case 'webp':
      return image.webp({ lossless: true }).toBuffer();
    case 'tiff':
      // sharp's default TIFF compression is JPEG, which is 8-bit only.
      return image.tiff({ compression: 'deflate' }).toBuffer();
  }
}

/** Writes one fixture image to `file` (folders created) and returns the file. */
export async function writeFixture(file: string, spec: FixtureSpec): Promise<string> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await encodePixels(fixturePixels(spec), spec));
  return file;
}
