/**
 * Inflated copies of .nii.gz files: made once and reused while the file is unchanged (also when
 * several reads ask at once), replaced when it changes, removed when their file is gone, and
 * evicted least recently used first beyond the folder's byte limit; leftovers of an interrupted
 * inflation are removed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openNiftiFile } from '../formats/nifti-file';
import { makeNifti } from '../formats/nifti.fixtures';
import { readNiftiSlice } from '../formats/nifti';
import { Studio } from '../../studio';
import {
  copyPaths,
  DEFAULT_VOLUME_COPIES,
  setVolumeCopies,
  sweepCopies,
  volumeCopies,
  volumeCopiesDir,
} from './volume-copies';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'volume-copies-'));
const previous = volumeCopies();
let copies = '';
let counter = 0;
afterAll(() => {
  setVolumeCopies(previous.dir, previous.maxBytes);
  fs.rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  copies = path.join(root, `copies${counter++}`);
  setVolumeCopies(copies);
});
afterEach(() => setVolumeCopies(previous.dir, previous.maxBytes));

/** 16 × 16 × 8 int16 voxels (4 KiB inflated) holding `base` + index, gzipped to `name`. */
function writeVolume(name: string, base: number): string {
  const file = path.join(root, name);
  const values = Array.from({ length: 16 * 16 * 8 }, (_, index) => base + (index % 1000));
  fs.writeFileSync(file, makeNifti({ datatype: 4, dims: [16, 16, 8], values, gzip: true }));
  return file;
}

/** The first value of a .nii.gz's first slice, read through its copy. */
async function firstVoxel(file: string): Promise<number> {
  const volume = await openNiftiFile(file);
  try {
    return readNiftiSlice(volume, 0).values[0]!; // voxel (0, 15, 0): row 0 shows the highest j
  } finally {
    volume.voxels.close();
  }
}

function listed(): string[] {
  return fs.existsSync(copies) ? fs.readdirSync(copies).sort() : [];
}

describe('copies of .nii.gz volumes', () => {
  it('inflates a file into one copy, also for reads asking at once, and reuses it while the file holds', async () => {
    const file = writeVolume('a.nii.gz', 100);
    const voxels = await Promise.all([firstVoxel(file), firstVoxel(file), firstVoxel(file)]);
    expect(voxels).toEqual([340, 340, 340]);
    const { copy } = copyPaths(file);
    expect(listed()).toEqual([path.basename(copy).replace('.nii', '.json'), path.basename(copy)]);
    const made = fs.statSync(copy);
    expect(await firstVoxel(file)).toBe(340);
    expect(fs.statSync(copy).ino).toBe(made.ino); // reused, not inflated again
  });

  it('replaces the copy of a changed file, and removes the copy of a file that is gone', async () => {
    const file = writeVolume('b.nii.gz', 100);
    expect(await firstVoxel(file)).toBe(340);
    writeVolume('b.nii.gz', 500);
    fs.utimesSync(file, new Date(), new Date(Date.now() + 10_000));
    expect(await firstVoxel(file)).toBe(740);
    expect(listed()).toHaveLength(2); // one copy and its stamp

    const gone = writeVolume('gone.nii.gz', 0);
    await firstVoxel(gone);
    expect(listed()).toHaveLength(4);
    fs.rmSync(gone);
    await firstVoxel(writeVolume('c.nii.gz', 0)); // a new copy sweeps the folder
    expect(listed()).not.toContain(path.basename(copyPaths(gone).copy));
    expect(listed()).toContain(path.basename(copyPaths(file).copy));
  });

  it('evicts the least recently used copies beyond its byte limit, never the one just made', async () => {
    const copyBytes = 352 + 16 * 16 * 8 * 2;
    setVolumeCopies(copies, 2.5 * copyBytes);
    const [a, b, c] = ['la.nii.gz', 'lb.nii.gz', 'lc.nii.gz'].map((name, index) => writeVolume(name, index)) as [
      string,
      string,
      string,
    ];
    await firstVoxel(a);
    await firstVoxel(b);
    // Used a moment later: a is now the most recently used.
    const later = new Date(Date.now() + 2_000);
    await firstVoxel(a);
    fs.utimesSync(copyPaths(a).stamp, later, later);
    await firstVoxel(c);
    expect(fs.existsSync(copyPaths(b).copy)).toBe(false);
    expect(fs.existsSync(copyPaths(a).copy)).toBe(true);
    expect(fs.existsSync(copyPaths(c).copy)).toBe(true);
    // Smaller than one copy: the new copy stays, every other goes.
    setVolumeCopies(copies, copyBytes / 2);
    await firstVoxel(b);
    expect(listed()).toEqual([copyPaths(b).stamp, copyPaths(b).copy].map((file) => path.basename(file)).sort());
  });

  it("puts a studio's copies in its workspace's cache, removing those of files gone since", async () => {
    const workspaceDir = path.join(root, `workspace${counter++}`);
    setVolumeCopies(volumeCopiesDir(workspaceDir));
    const gone = writeVolume('studio-gone.nii.gz', 0);
    const kept = writeVolume('studio-kept.nii.gz', 0);
    await firstVoxel(gone);
    await firstVoxel(kept);
    fs.rmSync(gone);
    setVolumeCopies(previous.dir, previous.maxBytes);
    const studio = new Studio(workspaceDir);
    try {
      expect(volumeCopies().dir).toBe(path.join(workspaceDir, 'cache', 'volumes'));
      expect(fs.existsSync(copyPaths(gone).copy)).toBe(false);
      expect(fs.existsSync(copyPaths(kept).copy)).toBe(true);
    } finally {
      await studio.close();
    }
  });

  it('removes what an interrupted inflation left once it is old, and keeps a fresh one', () => {
    fs.mkdirSync(copies, { recursive: true });
    const old = new Date(Date.now() - DEFAULT_VOLUME_COPIES.leftoverMs - 60_000);
    for (const name of ['old.nii.123.abc.partial', 'unstamped.nii']) {
      fs.writeFileSync(path.join(copies, name), 'x');
      fs.utimesSync(path.join(copies, name), old, old);
    }
    fs.writeFileSync(path.join(copies, 'fresh.nii.456.def.partial'), 'x');
    expect(sweepCopies().sort()).toEqual(['old.nii.123.abc.partial', 'unstamped.nii']);
    expect(listed()).toEqual(['fresh.nii.456.def.partial']);
  });
});
