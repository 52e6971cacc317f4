import type { VolumePreviewPlane } from '$contract';
import { describe, expect, it } from 'vitest';
import { decodeFloat32, PLANE_PIXELS, planeCanvasSize } from './volume-plane';

function plane(rows: number, columns: number, spacing: [number, number]): VolumePreviewPlane {
  return {
    axis: 1,
    name: 'coronal',
    index: 0,
    count: 1,
    rows,
    columns,
    spacing,
    values: '',
    patchRows: 1,
    patchColumns: 1,
    mask: [],
    patches: 0,
    visible: 0,
    masked: 0,
  };
}

describe('volume planes as drawn', () => {
  it('reads the float32 values the service sends as base64', () => {
    const values = Float32Array.from([0, -1.5, 3.25, 1e-3]);
    const base64 = btoa(String.fromCharCode(...new Uint8Array(values.buffer)));
    expect(Array.from(decodeFloat32(base64))).toEqual(Array.from(values));
  });

  it('sizes a plane by its millimetres, not its voxels', () => {
    // 32 slices of 2.5 mm over 64 columns of 0.7 mm: 80 mm tall, 44.8 mm wide.
    expect(planeCanvasSize(plane(32, 64, [2.5, 0.7]))).toEqual({ width: 179, height: PLANE_PIXELS });
    expect(planeCanvasSize(plane(64, 64, [0.7, 0.7]))).toEqual({ width: PLANE_PIXELS, height: PLANE_PIXELS });
  });
});
