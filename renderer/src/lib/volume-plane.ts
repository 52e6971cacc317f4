/**
 * Drawing one plane of the 3-D mask preview (`VolumePreviewPlane`): its standardised values in
 * grey through the preview's window, at the plane's true aspect (rows × row spacing against
 * columns × column spacing), its masked patches filled in blue (grey is the data's colour), the
 * patch grid and where the other two planes cut it. Planes across rows or columns run over
 * slices: they are drawn with the last slice at the top (+k up, as training cuts volume planes).
 */
import type { VolumePreviewPlane } from '$contract';

/** Longest side of a drawn plane, in canvas pixels. */
export const PLANE_PIXELS = 320;

/** Fill of a masked patch: blue, as the planes themselves are grey. */
export const MASKED_COLOUR = 'rgb(86, 112, 166)';

/** Float32 little-endian values from base64. */
export function decodeFloat32(base64: string): Float32Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index++) bytes[index] = text.charCodeAt(index);
  return new Float32Array(bytes.buffer);
}

/** Canvas size of a plane at its true aspect, the longer side {@link PLANE_PIXELS}. */
export function planeCanvasSize(plane: VolumePreviewPlane): { width: number; height: number } {
  const tall = plane.rows * plane.spacing[0];
  const wide = plane.columns * plane.spacing[1];
  const scale = PLANE_PIXELS / Math.max(tall, wide);
  return { width: Math.max(1, Math.round(wide * scale)), height: Math.max(1, Math.round(tall * scale)) };
}

/** Whether the plane runs over slices (drawn last slice up). */
function overSlices(plane: VolumePreviewPlane): boolean {
  return plane.axis !== 0;
}

/**
 * Draws `plane` on `canvas`. `hidden`: grey out the masked patches. `cuts`: where the other two
 * planes cross it, as (row, column) in the plane's voxels.
 */
export function drawVolumePlane(
  canvas: HTMLCanvasElement,
  plane: VolumePreviewPlane,
  window: [number, number],
  hidden: boolean,
  cuts: [number, number],
): void {
  const { width, height } = planeCanvasSize(plane);
  canvas.width = width;
  canvas.height = height;
  const values = decodeFloat32(plane.values);
  const flip = overSlices(plane);
  const pixels = new ImageData(plane.columns, plane.rows);
  const [low, high] = window;
  for (let row = 0; row < plane.rows; row++) {
    const source = flip ? plane.rows - 1 - row : row;
    for (let column = 0; column < plane.columns; column++) {
      const value = values[source * plane.columns + column]!;
      const grey = Math.round(255 * Math.min(1, Math.max(0, (value - low) / (high - low))));
      const at = 4 * (row * plane.columns + column);
      pixels.data.set([grey, grey, grey, 255], at);
    }
  }
  const source = document.createElement('canvas');
  source.width = plane.columns;
  source.height = plane.rows;
  source.getContext('2d')!.putImageData(pixels, 0, 0);
  const context = canvas.getContext('2d')!;
  context.imageSmoothingEnabled = false;
  context.drawImage(source, 0, 0, width, height);

  const cellWidth = (plane.patchColumns * width) / plane.columns;
  const cellHeight = (plane.patchRows * height) / plane.rows;
  const patchColumns = plane.columns / plane.patchColumns;
  const patchRows = plane.rows / plane.patchRows;
  if (hidden) {
    context.fillStyle = MASKED_COLOUR;
    plane.mask.forEach((masked, index) => {
      if (!masked) return;
      const patchRow = Math.floor(index / patchColumns);
      const row = flip ? patchRows - 1 - patchRow : patchRow;
      const x = Math.floor((index % patchColumns) * cellWidth);
      context.fillRect(x, Math.floor(row * cellHeight), Math.ceil(cellWidth), Math.ceil(cellHeight));
    });
  }
  context.strokeStyle = 'rgba(255, 255, 255, 0.4)';
  context.lineWidth = 1;
  context.beginPath();
  for (let i = 1; i < patchColumns; i++) line(context, Math.round(i * cellWidth) + 0.5, 0, 'down', height);
  for (let i = 1; i < patchRows; i++) line(context, 0, Math.round(i * cellHeight) + 0.5, 'across', width);
  context.stroke();
  // Where the other two planes cut this one, through the voxels' centres.
  const cutRow = flip ? plane.rows - 1 - cuts[0] : cuts[0];
  context.strokeStyle = 'rgba(255, 196, 0, 0.75)';
  context.setLineDash([4, 4]);
  context.beginPath();
  line(context, 0, Math.round(((cutRow + 0.5) * height) / plane.rows) + 0.5, 'across', width);
  line(context, Math.round(((cuts[1] + 0.5) * width) / plane.columns) + 0.5, 0, 'down', height);
  context.stroke();
  context.setLineDash([]);
}

function line(context: CanvasRenderingContext2D, x: number, y: number, way: 'down' | 'across', length: number): void {
  context.moveTo(x, y);
  if (way === 'down') context.lineTo(x, y + length);
  else context.lineTo(x + length, y);
}
