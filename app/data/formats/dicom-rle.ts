/**
 * DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of up to 15 segment offsets, then one
 * PackBits segment per byte plane — for each sample, its most significant byte first.
 */

/**
 * Decodes one RLE frame to interleaved little-endian samples (`[pixel][sample][byte]`).
 * Throws an Error naming the inconsistency when the header or a segment is corrupt.
 */
export function decodeRle(
  data: Uint8Array,
  pixels: number,
  samplesPerPixel: number,
  bytesPerSample: number,
): Uint8Array {
  if (data.length < 64) throw new Error(`RLE frame of ${data.length} bytes is shorter than its 64-byte header`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const segments = view.getUint32(0, true);
  const expected = samplesPerPixel * bytesPerSample;
  if (segments !== expected) throw new Error(`RLE frame has ${segments} segments where ${expected} were expected`);
  const out = new Uint8Array(pixels * expected);
  for (let segment = 0; segment < segments; segment++) {
    const start = view.getUint32(4 + segment * 4, true);
    const end = segment + 1 < segments ? view.getUint32(8 + segment * 4, true) : data.length;
    if (start < 64 || end > data.length || end < start)
      throw new Error(`RLE segment ${segment + 1} lies outside the frame (${start}..${end} of ${data.length})`);
    const sample = Math.floor(segment / bytesPerSample);
    // Segment order is most significant byte first; the output is little-endian.
    const byte = bytesPerSample - 1 - (segment % bytesPerSample);
    unpackBits(data, start, end, out, sample * bytesPerSample + byte, expected, pixels);
  }
  return out;
}

/** PackBits into every `stride`-th byte of `out` from `offset`, for `count` bytes. */
function unpackBits(
  data: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  offset: number,
  stride: number,
  count: number,
): void {
  let written = 0;
  let position = start;
  while (position < end && written < count) {
    const header = data[position++]!;
    if (header < 128) {
      // Literal run of header + 1 bytes.
      const length = Math.min(header + 1, count - written, end - position);
      for (let index = 0; index < length; index++) out[offset + written++ * stride] = data[position++]!;
    } else if (header > 128) {
      // The next byte repeated 257 - header times.
      const value = data[position++]!;
      const length = Math.min(257 - header, count - written);
      for (let index = 0; index < length; index++) out[offset + written++ * stride] = value;
    }
    // 128 is a no-op.
  }
  if (written < count) throw new Error(`RLE segment ends after ${written} of ${count} bytes (truncated)`);
}

/** PackBits-encodes bytes (the inverse of the segment decoding; used by tests to build files). */
export function packBits(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  let index = 0;
  while (index < bytes.length) {
    let run = 1;
    while (index + run < bytes.length && run < 128 && bytes[index + run] === bytes[index]) run++;
    if (run >= 2) {
      out.push(257 - run, bytes[index]!);
      index += run;
      continue;
    }
    let literal = 1;
    while (
      index + literal < bytes.length &&
      literal < 128 &&
      !(index + literal + 1 < bytes.length && bytes[index + literal] === bytes[index + literal + 1])
    )
      literal++;
    out.push(literal - 1, ...bytes.subarray(index, index + literal));
    index += literal;
  }
  return Uint8Array.from(out);
}
