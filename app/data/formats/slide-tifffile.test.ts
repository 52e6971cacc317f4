/**
 * Whole-slide TIFFs written by tifffile (tiles encoded by Pillow): each pyramid level read by
 * windows matches the pixels written, within JPEG's loss where the tiles are lossy; the levels,
 * vendor and µm per pixel are the file's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ImageMeta } from '../../contract';
import { pythonPixels, runWithPython, writePythonFiles } from './python-files.fixtures';
import { openSampleFile } from './sample-files';
import type { SlideFile } from './slide-file';
import { readLevelWindow } from './slide-tiles';
import { maskCells } from './tissue';

/** The tissue mask calls cells of clear stain tissue and cells of bare glass background. */
function expectTissueOnStain(meta: Partial<ImageMeta>, stain: Float64Array, width: number, height: number): void {
  const mask = meta.tissue!;
  const cells = maskCells(mask);
  let agree = 0;
  let judged = 0;
  for (let row = 0; row < mask.rows; row++)
    for (let column = 0; column < mask.columns; column++) {
      let sum = 0;
      let count = 0;
      for (let y = Math.floor((row * height) / mask.rows); y < ((row + 1) * height) / mask.rows; y++)
        for (let x = Math.floor((column * width) / mask.columns); x < ((column + 1) * width) / mask.columns; x++) {
          sum += stain[y * width + x]!;
          count++;
        }
      const mean = sum / count;
      if (mean > 0.3 && mean < 0.7) continue; // the rim: either answer is fair
      judged++;
      if (mean >= 0.7 === (cells[row * mask.columns + column] === 1)) agree++;
    }
  expect(agree / judged).toBeGreaterThan(0.97);
}

const script = fileURLToPath(new URL('slide-tifffile.fixtures.py', import.meta.url));

interface Level {
  width: number;
  height: number;
  raw: string;
}

describe.runIf(runWithPython('tifffile', 'PIL'))('whole-slide TIFFs written by tifffile', () => {
  const { dir, files } = writePythonFiles(script);
  for (const expected of files) {
    it(`reads every level of ${expected.file} as written`, async () => {
      const path = join(dir, expected.file);
      const file = (await openSampleFile({ bytes: readFileSync(path), path }, expected.file)) as SlideFile | null;
      expect(file?.format).toBe('slide');
      if (expected.error) {
        const level = (expected.levels as Level[])[1]!;
        const whole = { x: 0, y: 0, width: level.width, height: level.height };
        await expect(readLevelWindow(file!.slide, path, 1, whole)).rejects.toThrow(expected.error as string);
        return;
      }
      const slide = file!.samples[0]!.meta.slide!;
      const levels = expected.levels as Level[];
      expect(slide.vendor).toBe(expected.vendor);
      if (expected.mpp === null) expect(slide.mpp).toBeNull();
      else expect(slide.mpp).toBeCloseTo(expected.mpp as number, 6);
      if (expected.magnification) expect(slide.magnification).toBe(expected.magnification);
      expect(slide.levels.map((level) => [level.width, level.height])).toEqual(
        levels.map((level) => [level.width, level.height]),
      );
      expect(file!.samples[0]!.bands).toBe(expected.bands);
      for (const [index, level] of levels.entries()) {
        // A window across tile borders at this level, and the whole level.
        for (const region of [
          { x: 100, y: 60, width: Math.min(200, level.width - 100), height: Math.min(150, level.height - 60) },
          { x: 0, y: 0, width: level.width, height: level.height },
        ]) {
          const read = await readLevelWindow(file!.slide, path, index, region);
          const want = pythonPixels(dir, level.raw);
          const bands = expected.bands as number;
          let total = 0;
          let worst = 0;
          for (let row = 0; row < region.height; row++)
            for (let column = 0; column < region.width * bands; column++) {
              const got = read.values[row * region.width * bands + column]!;
              const error = Math.abs(got - want[(region.y + row) * level.width * bands + region.x * bands + column]!);
              total += error;
              worst = Math.max(worst, error);
            }
          const mean = total / (region.width * region.height * bands);
          if (expected.lossy) {
            // JPEG at quality 95 of smooth tissue: off by a level or two; wrong colours are off by tens.
            expect(mean, `${level.width}×${level.height} mean error`).toBeLessThan(2);
            expect(worst, `${level.width}×${level.height} worst error`).toBeLessThan(24);
          } else {
            expect(worst, `${level.width}×${level.height}`).toBe(0);
          }
        }
        expect(slide.levels[index]!.downsample).toBeCloseTo(levels[0]!.width / level.width, 3);
      }
      const stain = pythonPixels(dir, expected.stain as string);
      expectTissueOnStain(await file!.extraMeta!(0), stain, levels[0]!.width, levels[0]!.height);
    });
  }
});
