/**
 * Volumes resampled to isotropic voxels for the 3-D MAE's crops: every axis at the volume's finest
 * spacing, by trilinear interpolation between voxel centres (the edge voxels repeated beyond the
 * last centre). Resampling only refines the coarse axes — thick slices are interpolated, never
 * averaged away — so a 0.7 × 0.7 × 3 mm CT becomes 0.7 mm cubes, about 4.3× as many slices.
 */
import type { VoxelGrid } from './volume-planes';

/** A volume's size (slices, rows, columns) once resampled to its finest spacing. */
export function isotropicSize(
  size: readonly [number, number, number],
  spacing: readonly [number, number, number],
): [number, number, number] {
  const finest = Math.min(...spacing);
  return size.map((extent, axis) => Math.max(1, Math.round((extent * spacing[axis]!) / finest))) as [
    number,
    number,
    number,
  ];
}

/** Source position and weights of each output index along one axis (voxel centres aligned). */
function axisTaps(outputs: number, inputs: number): { low: Int32Array; high: Int32Array; weight: Float32Array } {
  const low = new Int32Array(outputs);
  const high = new Int32Array(outputs);
  const weight = new Float32Array(outputs);
  const scale = inputs / outputs;
  for (let index = 0; index < outputs; index++) {
    const at = Math.min(Math.max((index + 0.5) * scale - 0.5, 0), inputs - 1);
    low[index] = Math.floor(at);
    high[index] = Math.min(low[index]! + 1, inputs - 1);
    weight[index] = at - low[index]!;
  }
  return { low, high, weight };
}

/**
 * `grid` seen at isotropic spacing (its finest): a {@link VoxelGrid} whose voxels are trilinear
 * interpolations of the stored ones. A grid already isotropic is returned as it is.
 */
export function isotropicGrid(grid: VoxelGrid): VoxelGrid {
  const [columns, rows, slices, volumes] = grid.size;
  const [si, sj, sk] = grid.spacing;
  const [outSlices, outRows, outColumns] = isotropicSize([slices, rows, columns], [sk, sj, si]);
  if (outSlices === slices && outRows === rows && outColumns === columns) return grid;
  const taps = [axisTaps(outColumns, columns), axisTaps(outRows, rows), axisTaps(outSlices, slices)];
  const finest = Math.min(si, sj, sk);
  return {
    size: [outColumns, outRows, outSlices, volumes],
    spacing: [finest, finest, finest],
    sampleType: 'float32',
    bands: grid.bands,
    read: (index, band) => {
      const i = index % outColumns;
      const j = Math.floor(index / outColumns) % outRows;
      const rest = Math.floor(index / (outColumns * outRows));
      const k = rest % outSlices;
      const t = Math.floor(rest / outSlices);
      const [x, y, z] = taps as [ReturnType<typeof axisTaps>, ReturnType<typeof axisTaps>, ReturnType<typeof axisTaps>];
      const at = (xi: number, yj: number, zk: number) =>
        grid.read(xi + columns * (yj + rows * (zk + slices * t)), band);
      const along = (yj: number, zk: number) =>
        at(x.low[i]!, yj, zk) * (1 - x.weight[i]!) + at(x.high[i]!, yj, zk) * x.weight[i]!;
      const plane = (zk: number) => along(y.low[j]!, zk) * (1 - y.weight[j]!) + along(y.high[j]!, zk) * y.weight[j]!;
      return plane(z.low[k]!) * (1 - z.weight[k]!) + plane(z.high[k]!) * z.weight[k]!;
    },
    ...(grid.close && { close: () => grid.close!() }),
  };
}
