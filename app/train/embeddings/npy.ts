/**
 * NumPy's `.npy` format (version 1.0) for row-major float32 matrices: the magic `\x93NUMPY`, the
 * version, a little-endian uint16 header length, a Python dict literal naming dtype, order and
 * shape, padded with spaces to a multiple of 64 bytes and ended by a newline, then the values.
 * `numpy.load` reads what `encodeNpy` writes; `decodeNpy` reads that back (and refuses others).
 */

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const PREFIX = MAGIC.length + 2 + 2; // magic, version, header length

/** A row-major float32 matrix. */
export interface Matrix {
  rows: number;
  columns: number;
  /** rows × columns values, row after row. */
  values: Float32Array;
}

/** `matrix` as the bytes of a `.npy` file (little-endian float32, C order). */
export function encodeNpy(matrix: Matrix): Buffer {
  const { rows, columns, values } = matrix;
  if (values.length !== rows * columns)
    throw new Error(`encodeNpy: ${values.length} values for a ${rows} × ${columns} matrix`);
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${columns}), }`;
  // The values start at a multiple of 64 bytes; the header ends with a newline.
  const padded = Math.ceil((PREFIX + header.length + 1) / 64) * 64 - PREFIX;
  header = header.padEnd(padded - 1, ' ') + '\n';
  const out = Buffer.alloc(PREFIX + padded + values.length * 4);
  MAGIC.copy(out, 0);
  out[6] = 1; // major version
  out[7] = 0; // minor version
  out.writeUInt16LE(padded, 8);
  out.write(header, PREFIX, 'latin1');
  const body = new DataView(out.buffer, out.byteOffset + PREFIX + padded, values.length * 4);
  for (let i = 0; i < values.length; i++) body.setFloat32(i * 4, values[i]!, true);
  return out;
}

/** Reads a `.npy` file of a 2-D little-endian float32 C-order matrix; throws naming what differs. */
export function decodeNpy(bytes: Uint8Array, name = 'the .npy file'): Matrix {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < PREFIX || !buffer.subarray(0, MAGIC.length).equals(MAGIC))
    throw new Error(`${name} is not a .npy file (no \\x93NUMPY magic)`);
  const major = buffer[6]!;
  const headerLength = major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8);
  const start = major === 1 ? PREFIX : PREFIX + 2;
  const header = buffer.subarray(start, start + headerLength).toString('latin1');
  if (!/'descr':\s*'<f4'/.test(header))
    throw new Error(`${name}: expected little-endian float32 ('<f4'), header ${header.trim()}`);
  if (!/'fortran_order':\s*False/.test(header)) throw new Error(`${name}: expected C order, header ${header.trim()}`);
  const shape = /'shape':\s*\((\d+),\s*(\d+)\)/.exec(header);
  if (!shape) throw new Error(`${name}: expected a 2-D shape, header ${header.trim()}`);
  const rows = Number(shape[1]);
  const columns = Number(shape[2]);
  const offset = start + headerLength;
  if (buffer.length !== offset + rows * columns * 4)
    throw new Error(`${name}: ${buffer.length - offset} bytes of values for a ${rows} × ${columns} float32 matrix`);
  const values = new Float32Array(rows * columns);
  const body = new DataView(buffer.buffer, buffer.byteOffset + offset, rows * columns * 4);
  for (let i = 0; i < values.length; i++) values[i] = body.getFloat32(i * 4, true);
  return { rows, columns, values };
}
