import { describe, expect, it } from 'vitest';
import {
  colourGroups,
  decodePoints,
  drawMap,
  NONE_COLOUR,
  pointAt,
  pointsInBox,
  pointsInLasso,
  RAMP,
  toScreen,
} from './map-view';

const view = { width: 200, height: 100, margin: 10 };
// Four points: centre, right edge, top edge, bottom-left corner.
const points = new Float32Array([0, 0, 1, 0, 0, 1, -1, -1]);

describe('the embedding map view', () => {
  it('decodes the base64 float32 coordinates the contract sends', () => {
    const bytes = new Uint8Array(points.buffer);
    expect(Array.from(decodePoints(btoa(String.fromCharCode(...bytes))))).toEqual(Array.from(points));
  });

  it('fits [-1, 1] into the shorter side, y up', () => {
    expect(toScreen(points, 0, view)).toEqual([100, 50]);
    expect(toScreen(points, 1, view)).toEqual([140, 50]);
    expect(toScreen(points, 2, view)).toEqual([100, 10]);
    expect(toScreen(points, 3, view)).toEqual([60, 90]);
  });

  it('picks the point under the pointer, and the points in a box or a lasso', () => {
    expect(pointAt(points, view, 139, 51)).toBe(1);
    expect(pointAt(points, view, 120, 30)).toBeNull();
    expect(pointsInBox(points, view, 90, 0, 150, 60)).toEqual([0, 1, 2]);
    // A triangle around the centre and the right point only.
    expect(
      pointsInLasso(points, view, [
        [85, 45],
        [160, 45],
        [120, 65],
      ]),
    ).toEqual([0, 1]);
  });

  it('colours categories in order with "none" last, and numbers on a ramp from lowest to highest', () => {
    const labels = colourGroups({ name: 'label', kind: 'category', categories: ['a', 'b'], values: [0, 1, -1, 1] });
    expect(Array.from(labels.group)).toEqual([0, 1, 2, 1]);
    expect(labels.colours[2]).toBe(NONE_COLOUR);
    expect(labels.legend).toEqual(['a', 'b', 'none']);
    const means = colourGroups({ name: 'mean · channel 1', kind: 'number', values: [0, 50, 100, null] });
    expect(Array.from(means.group)).toEqual([0, RAMP.length / 2, RAMP.length - 1, RAMP.length]);
    // 200 000 values (more than a spread's arguments can hold) colour in one pass.
    const many = colourGroups({
      name: 'std · channel 1',
      kind: 'number',
      values: Array.from({ length: 200_000 }, (_, i) => i),
    });
    expect([many.group[0], many.group[199_999]]).toEqual([0, RAMP.length - 1]);
  });
});

describe('drawing the map', () => {
  it('paints each point as a square of its group colour, selected points ringed', () => {
    const put: ImageData[] = [];
    const context = {
      createImageData: (width: number, height: number) =>
        ({ width, height, data: new Uint8ClampedArray(width * height * 4) }) as ImageData,
      putImageData: (image: ImageData) => put.push(image),
    } as unknown as CanvasRenderingContext2D;
    const groups = colourGroups({ name: 'label', kind: 'category', categories: ['a', 'b'], values: [0, 1, 0, 1] });
    drawMap(context, points, groups, view, new Set([1]), 1, 4);
    const image = put[0]!;
    const rgba = (x: number, y: number) =>
      Array.from(image.data.subarray((y * image.width + x) * 4, (y * image.width + x) * 4 + 4));
    expect(rgba(100, 50)).toEqual([0x00, 0x72, 0xb2, 255]); // point 0, category a
    expect(rgba(140, 50)).toEqual([0xe6, 0x9f, 0x00, 255]); // point 1, category b
    expect(rgba(137, 50)).toEqual([0x11, 0x11, 0x14, 255]); // its ring
    expect(rgba(99, 48)).toEqual([0x00, 0x72, 0xb2, 255]); // the 4-pixel square, not just its centre
    expect(rgba(120, 30)).toEqual([0, 0, 0, 0]); // nothing drawn between points
  });
});
