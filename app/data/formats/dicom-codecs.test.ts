/**
 * JPEG 2000 with sub-sampled chroma (YCbCr 4:2:0 and 4:2:2, as Aperio SVS 33003 tiles and some
 * DICOM frames hold): codestreams written by OpenJPEG's own `opj_compress` from a smooth RGB
 * picture decode back to that picture's RGB (the chroma upsampled), in a DICOM file too; a layout
 * the decoder cannot upsample (4:1:1) is refused by name rather than decoded to wrong colours.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFrame } from './dicom-codecs';
import { writeDicom } from './formats.fixtures';
import { openSampleFile } from './sample-files';

const WIDTH = 96;
const HEIGHT = 64;

const haveOpenJpegTools = spawnSync('opj_compress', ['-h'], { stdio: 'ignore' }).error === undefined;

/** Pink tissue-like colours that change slowly, so chroma at half size loses little. */
function smoothRgb(): Uint8Array {
  const rgb = new Uint8Array(WIDTH * HEIGHT * 3);
  for (let y = 0; y < HEIGHT; y++)
    for (let x = 0; x < WIDTH; x++) {
      const at = (y * WIDTH + x) * 3;
      rgb[at] = Math.round(200 + 40 * Math.sin(x / 15));
      rgb[at + 1] = Math.round(110 + 70 * Math.cos(y / 11));
      rgb[at + 2] = Math.round(160 + 50 * Math.sin((x + y) / 19));
    }
  return rgb;
}

/**
 * A YCbCr codestream of `rgb` by opj_compress (no colour transform of its own), Cb and Cr averaged
 * over `dx` × `dy` blocks.
 */
function encodeYcbcr(rgb: Uint8Array, dx: number, dy: number): Uint8Array {
  const luma = new Uint8Array(WIDTH * HEIGHT);
  const chroma = [new Float64Array((WIDTH / dx) * (HEIGHT / dy)), new Float64Array((WIDTH / dx) * (HEIGHT / dy))];
  for (let y = 0; y < HEIGHT; y++)
    for (let x = 0; x < WIDTH; x++) {
      const at = (y * WIDTH + x) * 3;
      const [r, g, b] = [rgb[at]!, rgb[at + 1]!, rgb[at + 2]!];
      luma[y * WIDTH + x] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      const block = Math.floor(y / dy) * (WIDTH / dx) + Math.floor(x / dx);
      chroma[0]![block]! += (128 - 0.168736 * r - 0.331264 * g + 0.5 * b) / (dx * dy);
      chroma[1]![block]! += (128 + 0.5 * r - 0.418688 * g - 0.081312 * b) / (dx * dy);
    }
  const folder = mkdtempSync(join(tmpdir(), 'j2k-'));
  try {
    const planes = [luma, ...chroma.map((plane) => Uint8Array.from(plane, (value) => Math.round(value)))];
    writeFileSync(join(folder, 'tile.raw'), Buffer.concat(planes));
    const format = `${WIDTH},${HEIGHT},3,8,u@1x1:${dx}x${dy}:${dx}x${dy}`;
    const run = spawnSync('opj_compress', ['-i', 'tile.raw', '-o', 'tile.j2k', '-F', format, '-mct', '0'], {
      cwd: folder,
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`opj_compress failed: ${run.stderr}`);
    return new Uint8Array(readFileSync(join(folder, 'tile.j2k')));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

function meanError(got: ArrayLike<number>, want: Uint8Array): number {
  let total = 0;
  for (let index = 0; index < want.length; index++) total += Math.abs(got[index]! - want[index]!);
  return total / want.length;
}

const SHAPE = { rows: HEIGHT, columns: WIDTH, samplesPerPixel: 3, bitsAllocated: 8 };

describe.runIf(haveOpenJpegTools)('JPEG 2000 with sub-sampled chroma', () => {
  const rgb = smoothRgb();

  for (const [name, dx, dy] of [
    ['4:2:0', 2, 2],
    ['4:2:2', 2, 1],
  ] as const) {
    it(`decodes YCbCr ${name} to the RGB it was made from`, async () => {
      const frame = await decodeFrame('jpeg-2000', encodeYcbcr(rgb, dx, dy), SHAPE);
      expect(frame.convertedToRgb).toBe(true);
      // Chroma averaged over blocks and repeated back: a level or two off; wrong colours are off by tens.
      expect(meanError(frame.bytes, rgb)).toBeLessThan(2);
    });
  }

  it('reads a DICOM JPEG 2000 frame with 4:2:0 chroma as RGB', async () => {
    const bytes = writeDicom({
      rows: HEIGHT,
      columns: WIDTH,
      samplesPerPixel: 3,
      bitsAllocated: 8,
      photometric: 'YBR_ICT',
      transferSyntax: '1.2.840.10008.1.2.4.91',
      fragments: [encodeYcbcr(rgb, 2, 2)],
    });
    const file = await openSampleFile({ bytes, path: 'frame.dcm' }, 'frame.dcm');
    expect(meanError((await file!.read(0)).values, rgb)).toBeLessThan(2);
  });

  it('refuses 4:1:1 chroma by name instead of decoding wrong colours', async () => {
    await expect(decodeFrame('jpeg-2000', encodeYcbcr(rgb, 4, 1), SHAPE)).rejects.toThrow(
      /subsampled \(component 2 by 4×1, component 3 by 4×1\)/,
    );
  });
});
