/**
 * A minimal writer of multi-band 16-bit TIFFs for the synthetic samples with more channels than
 * sharp writes (it takes 1–4): little-endian classic TIFF, one uncompressed strip, interleaved
 * (PlanarConfiguration 1), grey photometric with the other bands as extra samples, and the band
 * names as GDAL band descriptions (tag 42112), which is where a GeoTIFF reader finds them.
 */

/** One image to write: `pixels` interleaved, width × height × bands values. */
export interface MultibandImage {
  pixels: Uint16Array;
  width: number;
  height: number;
  bands: number;
  /** One name per band, written as GDAL band descriptions. */
  bandNames: readonly string[];
}

type Entry = { tag: number; type: 2 | 3 | 4; values: readonly number[] | string };

/** Bytes of a field's values (type 2: ASCII with its terminating NUL, 3: SHORT, 4: LONG), little-endian. */
function entryBytes(entry: Entry): Uint8Array {
  if (typeof entry.values === 'string') return new Uint8Array(Buffer.from(`${entry.values}\0`, 'latin1'));
  const size = entry.type === 3 ? 2 : 4;
  const bytes = new Uint8Array(entry.values.length * size);
  const view = new DataView(bytes.buffer);
  for (const [index, value] of entry.values.entries()) {
    if (size === 2) view.setUint16(index * 2, value, true);
    else view.setUint32(index * 4, value, true);
  }
  return bytes;
}

/** Encodes the image as a TIFF file; throws when the pixel count or the names do not match the bands. */
export function encodeMultibandTiff(image: MultibandImage): Uint8Array {
  const { pixels, width, height, bands, bandNames } = image;
  if (pixels.length !== width * height * bands)
    throw new Error(`multiband TIFF: ${pixels.length} values for ${width}×${height}×${bands}`);
  if (bandNames.length !== bands) throw new Error(`multiband TIFF: ${bandNames.length} band names for ${bands} bands`);
  const items = bandNames
    .map((name, band) => `<Item name="DESCRIPTION" sample="${band}" role="description">${name}</Item>`)
    .join('');
  const headerBytes = 8;
  const dataBytes = pixels.length * 2;
  const entries: Entry[] = [
    { tag: 256, type: 4, values: [width] }, // ImageWidth
    { tag: 257, type: 4, values: [height] }, // ImageLength
    { tag: 258, type: 3, values: Array(bands).fill(16) }, // BitsPerSample
    { tag: 259, type: 3, values: [1] }, // Compression: none
    { tag: 262, type: 3, values: [1] }, // Photometric: min-is-black
    { tag: 273, type: 4, values: [headerBytes] }, // StripOffsets: the data follows the header
    { tag: 277, type: 3, values: [bands] }, // SamplesPerPixel
    { tag: 278, type: 4, values: [height] }, // RowsPerStrip: one strip
    { tag: 279, type: 4, values: [dataBytes] }, // StripByteCounts
    { tag: 284, type: 3, values: [1] }, // PlanarConfiguration: interleaved
    ...(bands > 1 ? [{ tag: 338, type: 3 as const, values: Array(bands - 1).fill(0) }] : []), // ExtraSamples
    { tag: 339, type: 3, values: Array(bands).fill(1) }, // SampleFormat: unsigned
    { tag: 42112, type: 2, values: `<GDALMetadata>${items}</GDALMetadata>` },
  ];
  // Layout: header, pixels, the values too long for an entry, then the directory.
  const external = entries.map(entryBytes);
  let cursor = headerBytes + dataBytes;
  const offsets = external.map((bytes) => {
    if (bytes.length <= 4) return -1;
    cursor += cursor % 2; // word alignment
    const at = cursor;
    cursor += bytes.length;
    return at;
  });
  cursor += cursor % 2;
  const directory = cursor;
  const out = new Uint8Array(directory + 2 + entries.length * 12 + 4);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49, 42, 0]);
  view.setUint32(4, directory, true);
  for (let index = 0; index < pixels.length; index++) view.setUint16(headerBytes + index * 2, pixels[index]!, true);
  view.setUint16(directory, entries.length, true);
  for (const [index, entry] of entries.entries()) {
    const bytes = external[index]!;
    const at = directory + 2 + index * 12;
    view.setUint16(at, entry.tag, true);
    view.setUint16(at + 2, entry.type, true);
    view.setUint32(at + 4, typeof entry.values === 'string' ? entry.values.length + 1 : entry.values.length, true);
    if (offsets[index]! >= 0) {
      out.set(bytes, offsets[index]!);
      view.setUint32(at + 8, offsets[index]!, true);
    } else {
      out.set(bytes, at + 8);
    }
  }
  return out; // next-directory pointer: the trailing 4 zero bytes
}
