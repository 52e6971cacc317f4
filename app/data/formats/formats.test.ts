import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeDicom, writeTiff, type DicomSpec } from './formats.fixtures';
import { EXPLICIT_BIG, EXPLICIT_LITTLE, IMPLICIT_LITTLE, isImageFileName, sniffFormat } from './formats';
import { importFolders } from '../import/import';
import { temporaryFolder, temporaryWorkspace } from '../images.fixtures';

const CT: DicomSpec = {
  rows: 4,
  columns: 3,
  bitsAllocated: 16,
  values: Array.from({ length: 12 }, (_, i) => i * 10),
  intercept: -5,
};
const tiff = () => writeTiff([{ width: 3, height: 2, bands: 1, sampleType: 'uint16', values: [1, 2, 3, 4, 5, 6] }]);
const png = () =>
  sharp({ create: { width: 3, height: 2, channels: 3, background: '#102030' } })
    .png()
    .toBuffer();

describe('sniffFormat', () => {
  it('takes DICM at byte 128 for DICOM whatever the preamble holds, a TIFF header included', () => {
    expect(sniffFormat(writeDicom(CT), 'a.dcm')).toEqual({ format: 'dicom', part10: true });
    const dual = writeDicom({ ...CT, preamble: 'tiff' });
    expect([...dual.subarray(0, 4)]).toEqual([0x49, 0x49, 42, 0]);
    expect(sniffFormat(dual, 'a.dcm')).toEqual({ format: 'dicom', part10: true });
    expect(sniffFormat(dual, 'a.tif')).toEqual({ format: 'dicom', part10: true });
  });

  it('recognises a data set without preamble in each uncompressed encoding, whatever the name', () => {
    const cases = [
      [IMPLICIT_LITTLE, IMPLICIT_LITTLE],
      [EXPLICIT_LITTLE, EXPLICIT_LITTLE],
      [EXPLICIT_BIG, EXPLICIT_BIG],
    ] as const;
    for (const [written, found] of cases) {
      const bare = writeDicom({ ...CT, transferSyntax: written, preamble: 'none' });
      expect(sniffFormat(bare, 'scan.dcm')).toEqual({
        format: 'dicom',
        part10: false,
        transferSyntax: found,
        guessed: false,
      });
      expect(sniffFormat(bare, 'no-extension')).toMatchObject({ format: 'dicom', transferSyntax: found });
    }
  });

  it('reads TIFF, PNG, JPEG and WebP by their signatures, not their names', async () => {
    expect(sniffFormat(tiff(), 'photo.png')).toEqual({ format: 'tiff' });
    expect(sniffFormat(await png(), 'scan.dcm')).toEqual({ format: 'png' });
    const jpeg = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#fff' } })
      .jpeg()
      .toBuffer();
    expect(sniffFormat(jpeg, 'x.tif')).toEqual({ format: 'jpeg' });
    const webp = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#fff' } })
      .webp()
      .toBuffer();
    expect(sniffFormat(webp, 'x.png')).toEqual({ format: 'webp' });
  });

  it('uses the extension only to break the tie for bytes nothing recognises', () => {
    const noise = Uint8Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) % 251);
    expect(sniffFormat(noise, 'scan.DCM')).toEqual({
      format: 'dicom',
      part10: false,
      transferSyntax: IMPLICIT_LITTLE,
      guessed: true,
    });
    expect(sniffFormat(noise, 'photo.png')).toEqual({ format: 'unknown', claimed: 'png' });
    expect(sniffFormat(noise, 'notes.txt')).toEqual({ format: 'unknown', claimed: null });
    expect(sniffFormat(new Uint8Array(0), 'empty.tif')).toEqual({ format: 'unknown', claimed: 'tiff' });
  });

  it('looks only at files with an image extension', () => {
    expect(['a.dcm', 'b.DICOM', 'c.ima', 'd.tif', 'e.TIFF', 'f.png', 'g.jpg'].every(isImageFileName)).toBe(true);
    expect(['a.txt', 'b.dcm.bak', 'dcm'].some(isImageFileName)).toBe(false);
  });
});

describe('importing by content', () => {
  let data: ReturnType<typeof temporaryFolder>;
  let space: ReturnType<typeof temporaryWorkspace>;
  beforeEach(() => {
    data = temporaryFolder();
    space = temporaryWorkspace();
  });
  afterEach(() => {
    space.remove();
    data.remove();
  });

  it('imports DICOM with a zero, TIFF-like or no preamble (3 encodings, or meta only), wrong extension', async () => {
    const files: Record<string, Uint8Array> = {
      'zero.dcm': writeDicom(CT),
      'tiff-preamble.dcm': writeDicom({ ...CT, preamble: 'tiff' }),
      'bare-implicit.dcm': writeDicom({ ...CT, transferSyntax: IMPLICIT_LITTLE, preamble: 'none' }),
      'bare-explicit.dcm': writeDicom({ ...CT, transferSyntax: EXPLICIT_LITTLE, preamble: 'none' }),
      'bare-big-endian.dcm': writeDicom({ ...CT, transferSyntax: EXPLICIT_BIG, preamble: 'none' }),
      'meta-no-preamble.dcm': writeDicom({ ...CT, transferSyntax: IMPLICIT_LITTLE, preamble: 'meta' }),
      'named-as-tiff.tif': writeDicom({ ...CT, preamble: 'tiff' }),
      'tiff-named.png': tiff(),
      'png-named.dcm': await png(),
    };
    // Each file differs by one byte of its patient id, so that none is another's duplicate.
    Object.entries(files).forEach(([name, bytes], index) =>
      fs.writeFileSync(
        path.join(data.dir, name),
        Buffer.from(bytes)
          .toString('latin1')
          .replace('4711', String(4700 + index)),
        'latin1',
      ),
    );
    const result = await importFolders({
      importId: 'i',
      projectId: space.projectId,
      folders: [data.dir],
      images: space.workspace.images,
      projectDir: space.workspace.projectDir(space.projectId),
    });
    expect(result.errors).toEqual([]);
    expect(result).toMatchObject({ filesSeen: 9, imported: 9, samples: 9, skipped: 0, duplicates: [] });
    const rows = space.workspace.images.list({
      projectId: space.projectId,
      offset: 0,
      limit: 20,
      sort: 'path',
      status: 'all',
    }).images;
    const formats = Object.fromEntries(rows.map((row) => [path.basename(row.path), row.format]));
    expect(formats).toEqual({
      'bare-big-endian.dcm': 'dicom',
      'bare-explicit.dcm': 'dicom',
      'bare-implicit.dcm': 'dicom',
      'meta-no-preamble.dcm': 'dicom',
      'named-as-tiff.tif': 'dicom',
      'png-named.dcm': 'png',
      'tiff-named.png': 'tiff',
      'tiff-preamble.dcm': 'dicom',
      'zero.dcm': 'dicom',
    });
    for (const row of rows.filter((row) => row.format === 'dicom')) {
      expect(space.workspace.images.get(row.id).stats![0]).toMatchObject({ min: -5, max: 105 });
    }
  });
});
