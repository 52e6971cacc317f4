/**
 * A corpus of hostile files: each must become exactly one error row with a reason a person
 * understands; the import must not crash, hang or lose what was stored before.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { omeXml, writeDicom, writeTiff } from '../formats/formats.fixtures';
import { importFolders } from './import';
import { temporaryFolder, temporaryWorkspace } from '../images.fixtures';

let data: ReturnType<typeof temporaryFolder>;
let space: ReturnType<typeof temporaryWorkspace>;
/** File name (relative) → pattern its reason must match. */
const expected = new Map<string, RegExp>();
const isRoot = process.getuid?.() === 0;

function hostile(name: string, bytes: Uint8Array | string, reason: RegExp): void {
  const file = path.join(data.dir, 'bad', name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  expected.set(name, reason);
}

/** A TIFF whose first directory is edited: `patch(view, ifdOffset)` rewrites entries in place. */
function patchedTiff(edit: (tags: Map<number, number>, view: DataView) => void): Uint8Array {
  const bytes = writeTiff([
    { width: 16, height: 16, bands: 1, sampleType: 'uint8', values: Array(256).fill(7), rowsPerStrip: 8 },
  ]);
  const view = new DataView(bytes.buffer);
  const ifd = view.getUint32(4, true);
  const tags = new Map<number, number>();
  for (let entry = 0; entry < view.getUint16(ifd, true); entry++)
    tags.set(view.getUint16(ifd + 2 + entry * 12, true), ifd + 2 + entry * 12);
  edit(tags, view);
  return bytes;
}
const setLong = (tags: Map<number, number>, view: DataView, tag: number, value: number) => {
  const at = tags.get(tag)!;
  if (view.getUint16(at + 2, true) === 3) view.setUint16(at + 8, value, true);
  else view.setUint32(at + 8, value, true);
};

beforeAll(async () => {
  data = temporaryFolder();
  space = temporaryWorkspace();
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();
  const jpeg = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } })
    .jpeg()
    .toBuffer();
  const tiff = writeTiff([{ width: 16, height: 16, bands: 1, sampleType: 'int16', values: Array(256).fill(-5) }]);
  const dicom = writeDicom({ rows: 16, columns: 16, bitsAllocated: 16, values: Array(256).fill(3) });

  hostile('empty.png', new Uint8Array(0), /empty file \(0 bytes\)/);
  hostile('empty.dcm', new Uint8Array(0), /empty file \(0 bytes\)/);
  hostile('empty.tif', new Uint8Array(0), /empty file \(0 bytes\)/);
  hostile('truncated.png', png.subarray(0, png.length / 2), /truncated|corrupt/);
  hostile('truncated.jpg', jpeg.subarray(0, jpeg.length / 2), /truncated|corrupt/);
  hostile('truncated-header.tif', tiff.subarray(0, 6), /TIFF|truncated|not a valid/);
  hostile('truncated-data.tif', tiff.subarray(0, 200), /TIFF|truncated|past the end/);
  hostile('truncated.dcm', dicom.subarray(0, dicom.length - 100), /truncated DICOM file/);
  hostile('text.png', 'just some words, not pixels\n', /not a valid PNG/);
  hostile('page.jpg', '<!doctype html><html><body>404</body></html>', /not a valid JPEG/);
  hostile('archive.tif', new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...Array(60).fill(0)]), /not a valid TIFF/);
  hostile(
    'random.dcm',
    Uint8Array.from({ length: 300 }, (_, i) => (i * 7919) % 251),
    /DICOM/,
  );
  hostile(
    'no-pixels.dcm',
    writeDicom({ rows: 16, columns: 16, bitsAllocated: 16, noPixelData: true }),
    /DICOM CT object without pixel data/,
  );
  hostile(
    'jpeg-12bit.dcm',
    writeDicom({
      rows: 4,
      columns: 4,
      bitsAllocated: 16,
      transferSyntax: '1.2.840.10008.1.2.4.51',
      fragments: [new Uint8Array(8)],
    }),
    /unsupported DICOM transfer syntax 1\.2\.840\.10008\.1\.2\.4\.51/,
  );
  hostile('zero-rows.dcm', writeDicom({ rows: 0, columns: 16, bitsAllocated: 16, values: [] }), /invalid image size/);
  hostile(
    'palette.dcm',
    writeDicom({ rows: 2, columns: 2, bitsAllocated: 8, photometric: 'PALETTE COLOR', values: [1, 2, 3, 4] }),
    /PALETTE COLOR/,
  );
  hostile(
    'bad-jpeg-ls.dcm',
    writeDicom({
      rows: 8,
      columns: 8,
      bitsAllocated: 16,
      transferSyntax: '1.2.840.10008.1.2.4.80',
      fragments: [new Uint8Array(40).fill(9)],
    }),
    /corrupt DICOM pixel data/,
  );
  // 100,000 × 100,000 in one strip: a decompression bomb; refused from the header.
  hostile(
    'bomb-strip.tif',
    patchedTiff((tags, view) => {
      setLong(tags, view, 256, 100_000);
      setLong(tags, view, 257, 100_000);
      setLong(tags, view, 278, 100_000);
    }),
    /too large to decode/,
  );
  const bombPng = Buffer.from(png);
  bombPng.writeUInt32BE(100_000, 16);
  bombPng.writeUInt32BE(100_000, 20);
  hostile('bomb.png', bombPng, /too large|corrupt|not a valid PNG/);
  hostile(
    'strip-past-end.tif',
    patchedTiff((tags, view) => view.setUint32(tags.get(273)! + 8, 10_000_000, true)),
    /truncated|corrupt|past the end/,
  );
  hostile(
    'ifd-loop.tif',
    writeTiff([
      { width: 2, height: 2, bands: 1, sampleType: 'int16', values: [1, 2, 3, 4] },
      { width: 2, height: 2, bands: 1, sampleType: 'int16', values: [1, 2, 3, 4] },
    ]).map((byte) => byte),
    /./,
  );
  hostile(
    'many-bands.tif',
    patchedTiff((tags, view) => setLong(tags, view, 277, 60_000)),
    /band|TIFF/,
  );
  hostile(
    'zero-width.tif',
    patchedTiff((tags, view) => setLong(tags, view, 256, 0)),
    /size|TIFF/,
  );
  hostile(
    'bits-12.tif',
    patchedTiff((tags, view) => setLong(tags, view, 258, 12)),
    /TIFF|sample type|bit/,
  );
  hostile(
    'ome-missing-planes.ome.tif',
    writeTiff([
      {
        width: 2,
        height: 2,
        bands: 1,
        sampleType: 'uint16',
        values: [1, 2, 3, 4],
        description: omeXml({ c: 3, z: 2, t: 1 }, ['a', 'b', 'c'], 'XYCZT', 2, 2),
      },
    ]),
    /OME-XML describes 6 planes .* 1 pages/,
  );
  hostile(
    'ome-broken-xml.ome.tif',
    writeTiff([
      {
        width: 2,
        height: 2,
        bands: 1,
        sampleType: 'uint16',
        values: [1, 2, 3, 4],
        description: '<OME><Image><Pixels SizeC="x"',
      },
    ]),
    /OME/,
  );
  // Links: one to itself, one to nowhere.
  fs.symlinkSync('loop.png', path.join(data.dir, 'bad', 'loop.png'));
  expected.set('loop.png', /symbolic link loop/);
  fs.symlinkSync('/nonexistent/target.png', path.join(data.dir, 'bad', 'dangling.png'));
  expected.set('dangling.png', /broken symbolic link/);
  // A folder link back to its parent must not loop the walk (no row: it is not a file).
  fs.symlinkSync('..', path.join(data.dir, 'bad', 'parent-link'));
  // A name that is not UTF-8.
  fs.writeFileSync(
    Buffer.from([...Buffer.from(path.join(data.dir, 'bad') + '/'), 0xff, 0xfe, 0x2e, 0x70, 0x6e, 0x67]),
    png,
  );
  expected.set('\uFFFD\uFFFD.png', /not valid UTF-8/);
  if (!isRoot) {
    hostile('unreadable.png', png, /permission denied/);
    fs.chmodSync(path.join(data.dir, 'bad', 'unreadable.png'), 0);
    fs.mkdirSync(path.join(data.dir, 'bad', 'locked'));
    fs.chmodSync(path.join(data.dir, 'bad', 'locked'), 0);
    expected.set('locked', /folder cannot be read/);
  }
  // Patch the loop: the second page's "next" link points back at the first page.
  const loopFile = path.join(data.dir, 'bad', 'ifd-loop.tif');
  const loop = fs.readFileSync(loopFile);
  const first = loop.readUInt32LE(4);
  const firstNext = first + 2 + loop.readUInt16LE(first) * 12;
  const second = loop.readUInt32LE(firstNext);
  loop.writeUInt32LE(first, second + 2 + loop.readUInt16LE(second) * 12);
  fs.writeFileSync(loopFile, loop);
  expected.set('ifd-loop.tif', /loop/);
});

afterAll(() => {
  if (!isRoot) fs.chmodSync(path.join(data.dir, 'bad', 'locked'), 0o755);
  space.remove();
  data.remove();
});

describe('hostile input', () => {
  it('turns every hostile file into one error row with a reason, keeping what was stored', async () => {
    expect(expected.size).toBeGreaterThanOrEqual(isRoot ? 28 : 30);
    const good = path.join(data.dir, 'good');
    fs.mkdirSync(good);
    fs.writeFileSync(
      path.join(good, 'ok.tif'),
      writeTiff([{ width: 4, height: 4, bands: 2, sampleType: 'int16', values: Array(32).fill(-3) }]),
    );
    const options = {
      importId: 'i',
      projectId: space.projectId,
      images: space.workspace.images,
      projectDir: space.workspace.projectDir(space.projectId),
    };
    await importFolders({ ...options, folders: [good] });
    const before = space.workspace.images.list({
      projectId: space.projectId,
      offset: 0,
      limit: 10,
      sort: 'path',
      status: 'ok',
    });

    const result = await importFolders({ ...options, folders: [data.dir] });
    if (process.env.SHOW_REASONS)
      console.log(result.errors.map((e) => `${path.basename(e.path)}: ${e.reason}`).join('\n'));
    const reasons = new Map(
      result.errors.map((error) => [path.relative(path.join(data.dir, 'bad'), error.path), error.reason]),
    );
    for (const [name, pattern] of expected) {
      expect.soft(reasons.get(name), name).toMatch(pattern);
    }
    expect(result.errors).toHaveLength(expected.size);
    const failures = space.workspace.images.failures(space.projectId);
    expect(failures).toHaveLength(expected.size);
    for (const failure of failures) expect(failure.reason.length).toBeLessThan(400);
    const after = space.workspace.images.list({
      projectId: space.projectId,
      offset: 0,
      limit: 10,
      sort: 'path',
      status: 'ok',
    });
    expect(after).toEqual(before);
  });
});
