/**
 * OME-Zarr images written from the Zarr v2 / v3 and NGFF 0.4 / 0.5 specifications by a Python
 * script (numpy, zlib, gzip; no zarr package): every (t, z) plane read with all its channels
 * equals what was written, and the channel names are the omero labels.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openOmeZarr } from './ome-zarr';
import { pythonPixels, runWithPython, writePythonFiles } from './python-files.fixtures';

const script = fileURLToPath(new URL('ome-zarr-python.fixtures.py', import.meta.url));

describe.runIf(runWithPython('numpy'))('OME-Zarr images written from the specification', () => {
  const { dir, files } = writePythonFiles(script);
  for (const expected of files) {
    it(`reads ${expected.file} plane by plane as written`, async () => {
      const file = await openOmeZarr(join(dir, expected.file));
      expect(file.samples).toHaveLength(expected.samples.length);
      for (const { index, raw } of expected.samples) {
        const info = file.samples[index]!;
        expect([info.width, info.height, info.bands]).toEqual([expected.width, expected.height, expected.bands]);
        expect(info.meta.channelNames).toEqual(expected.labels);
        const raster = await file.read(index);
        expect([...raster.values]).toEqual([...pythonPixels(dir, raw)]);
      }
      await file.close();
    });
  }
});
