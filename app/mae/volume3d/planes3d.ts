/**
 * Three orthogonal planes through a volume, for the 3-D mask preview and for showing
 * reconstructions as slices. A volume [C, D, H, W] is cut at a voxel position (z, y, x):
 *   axis 0 — the plane of slice z (a stored slice): rows H, columns W;
 *   axis 1 — the plane of row y: rows D (first slice at the top), columns W;
 *   axis 2 — the plane of column x: rows D (first slice at the top), columns H.
 * The mask planes are the same three cuts of the token grid: which patches the plane passes
 * through are masked, one value per patch.
 */
import { gridSize3d, type Mae3dConfig, type Size3d } from './config3d';

/** One plane of values, row-major. */
export interface Plane3d<T extends Float32Array | Uint8Array> {
  /** The axis the plane cuts across: 0 slices, 1 rows, 2 columns. */
  axis: 0 | 1 | 2;
  /** Position along that axis the plane was cut at (voxels, or patches for mask planes). */
  index: number;
  rows: number;
  columns: number;
  values: T;
}

/** The in-plane axes (rows, columns) of a cut across `axis`. */
function inPlane(axis: 0 | 1 | 2): [number, number] {
  return axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
}

/** The three cuts through a [D, H, W] grid read by `read(z, y, x)`, at `at` = (z, y, x). */
function cuts<T extends Float32Array | Uint8Array>(
  size: Size3d,
  at: Size3d,
  make: (length: number) => T,
  read: (z: number, y: number, x: number) => number,
): [Plane3d<T>, Plane3d<T>, Plane3d<T>] {
  return ([0, 1, 2] as const).map((axis) => {
    const [rowAxis, columnAxis] = inPlane(axis);
    const rows = size[rowAxis]!;
    const columns = size[columnAxis]!;
    const values = make(rows * columns);
    const position = [at[0], at[1], at[2]];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) {
        position[rowAxis] = r;
        position[columnAxis] = c;
        values[r * columns + c] = read(position[0]!, position[1]!, position[2]!);
      }
    }
    return { axis, index: at[axis]!, rows, columns, values };
  }) as [Plane3d<T>, Plane3d<T>, Plane3d<T>];
}

function checkPosition(size: Size3d, at: Size3d, what: string): void {
  if (at.some((value, axis) => !Number.isInteger(value) || value < 0 || value >= size[axis]!)) {
    throw new Error(`position (${at.join(', ')}) is outside the ${what} ${size.join('×')} (slices×rows×columns)`);
  }
}

/**
 * The masked patches on the three planes through voxel `at` of a model's input: each plane at
 * patch resolution (e.g. H′×W′ for axis 0), 1 where the patch is masked. `mask` is one volume's
 * [L] row of a `MaskSet` (1 = masked), tokens in `patchify3d` order.
 */
export function maskPlanes3d(
  config: Pick<Mae3dConfig, 'volumeSize' | 'patchSize'>,
  mask: Uint8Array,
  at: Size3d,
): [Plane3d<Uint8Array>, Plane3d<Uint8Array>, Plane3d<Uint8Array>] {
  const grid = gridSize3d(config);
  if (mask.length !== grid[0] * grid[1] * grid[2]) {
    throw new Error(`mask holds ${mask.length} patches; the ${grid.join('×')} grid has ${grid[0] * grid[1] * grid[2]}`);
  }
  checkPosition(config.volumeSize, at, 'volume');
  const patch = at.map((value, axis) => Math.floor(value / config.patchSize[axis]!)) as unknown as Size3d;
  return cuts(
    grid,
    patch,
    (n) => new Uint8Array(n),
    (z, y, x) => mask[(z * grid[1] + y) * grid[2] + x]!,
  );
}

/**
 * The three planes through voxel `at` of channel `channel` of a volume [C, D, H, W] (values
 * flattened, `size` = (D, H, W)): an input, or a reconstruction from `reconstructVolumes3d`.
 */
export function volumePlanes3d(
  values: ArrayLike<number>,
  size: Size3d,
  at: Size3d,
  channel = 0,
): [Plane3d<Float32Array>, Plane3d<Float32Array>, Plane3d<Float32Array>] {
  const [depth, height, width] = size;
  const voxels = depth * height * width;
  if (values.length % voxels !== 0 || (channel + 1) * voxels > values.length) {
    throw new Error(`${values.length} values hold no channel ${channel} of a ${size.join('×')} volume`);
  }
  checkPosition(size, at, 'volume');
  const base = channel * voxels;
  return cuts(
    size,
    at,
    (n) => new Float32Array(n),
    (z, y, x) => values[base + (z * height + y) * width + x]!,
  );
}
