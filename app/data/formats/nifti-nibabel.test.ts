/**
 * NIfTI-1 and NIfTI-2 files written by nibabel (every datatype it writes, scaled integers, 4-D,
 * big-endian, extensions, qform and sform of different codes) read as nibabel reads them: the
 * same voxel values in real units, spacing, affine, axis codes and which transform was used.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pythonPixels, runWithPython, writePythonFiles, type PythonFile } from './python-files.fixtures';
import { openSampleFile, type SampleFile } from './sample-files';

const script = fileURLToPath(new URL('nifti-nibabel.fixtures.py', import.meta.url));

describe.runIf(runWithPython('nibabel'))('NIfTI files written by nibabel', () => {
  const { dir, files } = writePythonFiles(script);
  for (const expected of files) {
    it(`reads ${expected.file} (${expected.dtype}) as nibabel does, whole and by offsets`, async () => {
      const path = join(dir, expected.file);
      const bytes = readFileSync(path);
      await expectAsNibabel(await openSampleFile({ bytes, path }, basename(path)), expected);
      // As a volume too large to read whole is: its head, then slices by offsets (or a gunzip stream).
      const head = bytes.subarray(0, 64 * 1024);
      await expectAsNibabel(
        await openSampleFile({ bytes: null, head, path, size: bytes.length }, basename(path)),
        expected,
      );
    });
  }

  async function expectAsNibabel(file: SampleFile | null, expected: PythonFile): Promise<void> {
    if (!file) throw new Error(`${expected.file} was not opened as a volume`);
    expect(file.format).toBe('nifti');
    expect(file.samples).toHaveLength(expected.samples.length);
    for (const { index, raw } of expected.samples) {
      const info = file.samples[index]!;
      expect([info.width, info.height, info.bands]).toEqual([expected.width, expected.height, expected.bands]);
      const volume = info.meta.volume!;
      expect(volume.transform).toBe(expected.transform);
      // Without a qform or sform, nibabel centres and flips i (Analyze's radiological default);
      // nifti1.h's method 1, kept here, is the voxel spacing alone: x = pixdim[1]·i, ...
      const spacing = expected.spacing as number[];
      const affine =
        expected.transform === 'none'
          ? [0, 1, 2, 3].map((row) => [0, 1, 2, 3].map((column) => (row === column ? (spacing[row] ?? 1) : 0)))
          : (expected.affine as number[][]);
      if (expected.transform !== 'none') expect(volume.orientation).toBe(expected.orientation);
      expect(volume.spacing!.map((value) => Number(value.toFixed(4)))).toEqual(
        (expected.spacing as number[]).map((value) => Number(value.toFixed(4))),
      );
      for (let row = 0; row < 4; row++)
        for (let column = 0; column < 4; column++)
          expect(volume.affine![row]![column]).toBeCloseTo(affine[row]![column]!, 4);
      const raster = await file.read(index);
      const want = pythonPixels(dir, raw);
      expect(raster.values.length).toBe(want.length);
      let worst = 0;
      for (let at = 0; at < want.length; at++) {
        const error = Math.abs(raster.values[at]! - want[at]!) / Math.max(1, Math.abs(want[at]!));
        worst = Math.max(worst, error);
      }
      // Exact, or float32 rounding where the type is kept as float32.
      expect(worst).toBeLessThan(1e-6);
    }
    await file.close();
  }
});
