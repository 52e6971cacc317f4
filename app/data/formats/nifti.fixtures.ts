/**
 * NIfTI-1 / NIfTI-2 files written byte by byte from the standard's header layout (not through
 * the reader's library), for tests: any datatype, dimensions, scaling, qform/sform and byte order.
 */
import { gzipSync } from 'node:zlib';

/** What to write; `values` are stored values (before scaling), i fastest, then j, k, t. */
export interface NiftiFixture {
  version?: 1 | 2;
  /** NIfTI datatype code (2 uint8, 4 int16, 8 int32, 16 float32, 64 float64, 128 RGB24, ...). */
  datatype: number;
  dims: number[];
  values: ArrayLike<number | bigint>;
  pixdim?: [number, number, number, number?];
  slope?: number;
  intercept?: number;
  littleEndian?: boolean;
  gzip?: boolean;
  /** qform: code, quaternion b, c, d, offset, qfac. */
  qform?: { code: number; b: number; c: number; d: number; offset: [number, number, number]; qfac?: 1 | -1 };
  /** sform: code and the three rows of the affine. */
  sform?: { code: number; rows: [number[], number[], number[]] };
  /** `xyzt_units`; 2 (mm) by default. */
  units?: number;
  magic?: string;
}

const BYTES: Record<number, number> = {
  2: 1,
  4: 2,
  8: 4,
  16: 4,
  64: 8,
  128: 3,
  256: 1,
  512: 2,
  768: 4,
  1024: 8,
  1280: 8,
  2304: 4,
  32: 8,
};

/** The bytes of a single-file NIfTI (`.nii`, or `.nii.gz` with `gzip`). */
export function makeNifti(fixture: NiftiFixture): Uint8Array {
  const version = fixture.version ?? 1;
  const little = fixture.littleEndian ?? true;
  const headerSize = version === 1 ? 348 : 540;
  const offset = version === 1 ? 352 : 544;
  const components = fixture.datatype === 128 ? 3 : fixture.datatype === 2304 ? 4 : 1;
  const bytesPer = BYTES[fixture.datatype] ?? 1;
  const dataBytes = (fixture.values.length / components) * bytesPer;
  const bytes = new Uint8Array(offset + dataBytes);
  const view = new DataView(bytes.buffer);
  const text = (at: number, value: string) =>
    [...value].forEach((char, index) => (bytes[at + index] = char.charCodeAt(0)));
  const pixdim = fixture.pixdim ?? [1, 1, 1, 1];
  const dims = [fixture.dims.length, ...fixture.dims];
  while (dims.length < 8) dims.push(1);
  if (version === 1) {
    view.setInt32(0, headerSize, little);
    dims.forEach((value, index) => view.setInt16(40 + index * 2, value, little));
    view.setInt16(70, fixture.datatype, little);
    view.setInt16(72, bytesPer * 8, little);
    [fixture.qform?.qfac ?? 1, ...pixdim.map((value) => value ?? 1)].forEach((value, index) =>
      view.setFloat32(76 + index * 4, value, little),
    );
    view.setFloat32(108, offset, little);
    view.setFloat32(112, fixture.slope ?? 0, little);
    view.setFloat32(116, fixture.intercept ?? 0, little);
    bytes[123] = fixture.units ?? 2;
    view.setInt16(252, fixture.qform?.code ?? 0, little);
    view.setInt16(254, fixture.sform?.code ?? 0, little);
    if (fixture.qform) {
      const {
        b,
        c,
        d,
        offset: [x, y, z],
      } = fixture.qform;
      [b, c, d, x, y, z].forEach((value, index) => view.setFloat32(256 + index * 4, value, little));
    }
    fixture.sform?.rows.forEach((row, r) =>
      row.forEach((value, column) => view.setFloat32(280 + r * 16 + column * 4, value, little)),
    );
    text(344, fixture.magic ?? 'n+1');
  } else {
    view.setInt32(0, headerSize, little);
    text(4, fixture.magic ?? 'n+2');
    bytes.set([0x0d, 0x0a, 0x1a, 0x0a], 8);
    view.setInt16(12, fixture.datatype, little);
    view.setInt16(14, bytesPer * 8, little);
    dims.forEach((value, index) => view.setBigInt64(16 + index * 8, BigInt(value), little));
    [fixture.qform?.qfac ?? 1, ...pixdim.map((value) => value ?? 1)].forEach((value, index) =>
      view.setFloat64(104 + index * 8, value, little),
    );
    view.setBigInt64(168, BigInt(offset), little);
    view.setFloat64(176, fixture.slope ?? 0, little);
    view.setFloat64(184, fixture.intercept ?? 0, little);
    view.setInt32(344, fixture.qform?.code ?? 0, little);
    view.setInt32(348, fixture.sform?.code ?? 0, little);
    if (fixture.qform) {
      const {
        b,
        c,
        d,
        offset: [x, y, z],
      } = fixture.qform;
      [b, c, d, x, y, z].forEach((value, index) => view.setFloat64(352 + index * 8, value, little));
    }
    fixture.sform?.rows.forEach((row, r) =>
      row.forEach((value, column) => view.setFloat64(400 + r * 32 + column * 8, value, little)),
    );
    view.setInt32(500, fixture.units ?? 2, little);
  }
  writeValues(view, offset, fixture, little, components);
  return fixture.gzip ? new Uint8Array(gzipSync(bytes)) : bytes;
}

function writeValues(view: DataView, offset: number, fixture: NiftiFixture, little: boolean, components: number): void {
  const { datatype, values } = fixture;
  const size = components > 1 ? 1 : (BYTES[datatype] ?? 1);
  for (let index = 0; index < values.length; index++) {
    const at = offset + index * size;
    const value = values[index]!;
    const number = Number(value);
    if (components > 1 || datatype === 2) view.setUint8(at, number);
    else if (datatype === 256) view.setInt8(at, number);
    else if (datatype === 4) view.setInt16(at, number, little);
    else if (datatype === 512) view.setUint16(at, number, little);
    else if (datatype === 8) view.setInt32(at, number, little);
    else if (datatype === 768) view.setUint32(at, number, little);
    else if (datatype === 16) view.setFloat32(at, number, little);
    else if (datatype === 64 || datatype === 32) view.setFloat64(at, number, little);
    else if (datatype === 1024) view.setBigInt64(at, BigInt(value), little);
    else if (datatype === 1280) view.setBigUint64(at, BigInt(value), little);
  }
}
