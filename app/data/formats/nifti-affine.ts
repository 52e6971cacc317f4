/**
 * The voxel-to-world maths of a NIfTI header: which affine applies (sform, qform or the spacing
 * alone, as nibabel chooses), the qform's quaternion turned into a matrix, and the axis codes
 * (`RAS`, `LPS`, ...) an affine gives its voxel axes.
 */
import type { NIFTI1, NIFTI2 } from 'nifti-reader-js';

/** Which header fields a volume's affine comes from: sform, qform, or neither (spacing alone). */
export type NiftiTransform = 'sform' | 'qform' | 'none';

/**
 * The voxel-to-world (RAS+, mm) affine as nibabel picks it: sform, else qform, else the spacing.
 * `bytes` is the file's head (the sform rows are read from it: float32 in NIfTI-1, float64 in
 * NIfTI-2); `spacing` is in mm and `unit` the millimetres per unit of the file.
 */
export function chooseAffine(
  header: NIFTI1 | NIFTI2,
  bytes: Uint8Array,
  version: 1 | 2,
  spacing: number[],
  unit: number,
): { affine: number[][]; transform: NiftiTransform } {
  const toMm = (rows: number[][]) => rows.map((row, index) => (index < 3 ? row.map((value) => value * unit) : row));
  if (header.sform_code > 0) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const rows = [0, 1, 2].map((row) =>
      [0, 1, 2, 3].map((column) =>
        version === 1
          ? view.getFloat32(280 + row * 16 + column * 4, header.littleEndian)
          : view.getFloat64(400 + row * 32 + column * 8, header.littleEndian),
      ),
    );
    return { affine: toMm([...rows, [0, 0, 0, 1]]), transform: 'sform' };
  }
  if (header.qform_code > 0)
    return {
      affine: toMm(
        qformAffine(
          header,
          spacing.map((value) => value / unit),
        ),
      ),
      transform: 'qform',
    };
  return {
    affine: [
      [spacing[0]!, 0, 0, 0],
      [0, spacing[1]!, 0, 0],
      [0, 0, spacing[2]!, 0],
      [0, 0, 0, 1],
    ],
    transform: 'none',
  };
}

/**
 * The qform's affine (in the file's units) from its quaternion, the voxel spacing and qfac
 * (`pixdim[0]`, -1 flips k), as `nifti1_io` computes it. A quaternion whose b² + c² + d² rounds
 * to 1 or past it (stored as float32) is a 180° rotation: a = 0 and (b, c, d) renormalised —
 * nifti-reader-js takes the square root of a negative number there and gives NaN.
 */
export function qformAffine(
  header: Pick<NIFTI1, 'quatern_b' | 'quatern_c' | 'quatern_d' | 'qoffset_x' | 'qoffset_y' | 'qoffset_z' | 'pixDims'>,
  spacing: number[],
): number[][] {
  let [b, c, d] = [header.quatern_b, header.quatern_c, header.quatern_d];
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) {
    const norm = 1 / Math.sqrt(b * b + c * c + d * d);
    [a, b, c, d] = [0, b * norm, c * norm, d * norm];
  } else {
    a = Math.sqrt(a);
  }
  const qfac = header.pixDims[0]! < 0 ? -1 : 1;
  const [di, dj, dk] = [spacing[0]!, spacing[1]!, spacing[2]! * qfac];
  const rotation = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const offset = [header.qoffset_x, header.qoffset_y, header.qoffset_z];
  return [...rotation.map((row, index) => [row[0]! * di, row[1]! * dj, row[2]! * dk, offset[index]!]), [0, 0, 0, 1]];
}

/**
 * Axis codes of an affine (`RAS`, `LPS`, ...): for each voxel axis, the world axis it runs most
 * along, and which way. World coordinates are RAS+ (NIfTI) or, with `world = 'LPS'`, LPS+ (DICOM
 * patient coordinates: +x is L, +y is P, +z is S).
 */
export function axisCodes(affine: number[][], world: 'RAS' | 'LPS' = 'RAS'): string {
  const letters =
    world === 'RAS'
      ? [
          ['L', 'R'],
          ['P', 'A'],
          ['I', 'S'],
        ]
      : [
          ['R', 'L'],
          ['A', 'P'],
          ['I', 'S'],
        ];
  let codes = '';
  for (let axis = 0; axis < 3; axis++) {
    const column = [0, 1, 2].map((row) => affine[row]![axis]!);
    const along = column.reduce((best, value, index) => (Math.abs(value) > Math.abs(column[best]!) ? index : best), 0);
    codes += letters[along]![column[along]! >= 0 ? 1 : 0];
  }
  return codes;
}
