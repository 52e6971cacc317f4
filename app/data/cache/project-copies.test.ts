/**
 * A project's inflated volume copies: counted in its cache usage, removed when its cache is
 * cleared or it is deleted, except a copy another project still imports.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Studio } from '../../studio';
import { openNiftiFile } from '../formats/nifti-file';
import { makeNifti } from '../formats/nifti.fixtures';
import { copyPaths, setVolumeCopies, volumeCopies } from './volume-copies';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'project-copies-'));
const previous = volumeCopies();
afterAll(() => {
  setVolumeCopies(previous.dir, previous.maxBytes);
  fs.rmSync(root, { recursive: true, force: true });
});

/** A 16 × 16 × 8 int16 volume (4 KiB inflated), gzipped into `folder`. */
function writeVolume(folder: string, name: string): string {
  fs.mkdirSync(folder, { recursive: true });
  const file = path.join(folder, name);
  const values = Array.from({ length: 16 * 16 * 8 }, (_, index) => index % 1000);
  fs.writeFileSync(file, makeNifti({ datatype: 4, dims: [16, 16, 8], values, gzip: true }));
  return file;
}

async function importInto(studio: Studio, name: string, folders: string[]): Promise<number> {
  const project = await studio.services.projects.create({ name, domain: 'medical' });
  const finished = new Promise((resolve) => studio.events.on('importFinished', resolve));
  await studio.services.imports.start(project.id, folders);
  await finished;
  return project.id;
}

describe('volume copies of a project', () => {
  it('counts its copies, and clearing or deleting it keeps only those another project imports', async () => {
    const shared = writeVolume(path.join(root, 'shared'), 'brain.nii.gz');
    const own = writeVolume(path.join(root, 'own'), 'knee.nii.gz');
    const other = writeVolume(path.join(root, 'other'), 'spine.nii.gz');
    const studio = new Studio(path.join(root, 'workspace'));
    try {
      const first = await importInto(studio, 'First', [path.dirname(shared), path.dirname(own)]);
      const second = await importInto(studio, 'Second', [path.dirname(shared), path.dirname(other)]);
      expect(await studio.services.images.failures(first)).toEqual([]);
      // Reading a volume by offsets (as training does) inflates its copy.
      for (const file of [shared, own, other]) (await openNiftiFile(file)).voxels.close();
      for (const file of [shared, own, other]) expect(fs.existsSync(copyPaths(file).copy)).toBe(true);
      const copyBytes = fs.statSync(copyPaths(own).copy).size;
      expect(copyBytes).toBeGreaterThanOrEqual(16 * 16 * 8 * 2);

      const usage = await studio.services.curation.trainingCache(first);
      expect(usage).toMatchObject({ volumeCopies: 2, samples: 0 });
      expect(usage.volumeCopyBytes).toBeGreaterThanOrEqual(2 * copyBytes);
      expect(usage.bytes).toBe(usage.volumeCopyBytes); // no training samples yet

      // Clearing the first project's cache removes its own copy, not the one the second imports.
      const cleared = await studio.services.curation.deleteTrainingCache(first);
      expect(fs.existsSync(copyPaths(own).copy)).toBe(false);
      expect(fs.existsSync(copyPaths(shared).copy)).toBe(true);
      expect(cleared).toMatchObject({ volumeCopies: 1, samples: 0 });

      // Deleting the first project keeps the shared copy; deleting the second then removes it.
      await studio.services.projects.remove(first);
      expect(fs.existsSync(copyPaths(shared).copy)).toBe(true);
      expect((await studio.services.curation.trainingCache(second)).volumeCopies).toBe(2);
      await studio.services.projects.remove(second);
      expect(fs.existsSync(copyPaths(shared).copy)).toBe(false);
      expect(fs.existsSync(copyPaths(other).copy)).toBe(false);
    } finally {
      await studio.close();
    }
  });
});
