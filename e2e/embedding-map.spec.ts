/**
 * Journey: the embedding map of a tiny pretrained project in Curate — every image a point, the
 * thumbnail on hover, a lasso, then a box selection that picks exactly the boxed images for the selection's
 * actions (exclude, and the map's "excluded" colouring shows it) — and the map's frame time at
 * 100 000 synthetic points, reported (not asserted against a wall-clock target).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureMapFrames } from './map-frame';
import { cli, expect, test, tinyPretrainedProject } from './fixtures';

/**
 * Where point i lands on a canvas of the view's size: [-1, 1] fitted into the shorter side, y up (as the map draws).
 */
function toScreen(
  points: Float32Array,
  i: number,
  view: { width: number; height: number; margin: number },
): [number, number] {
  const scale = (Math.min(view.width, view.height) - 2 * view.margin) / 2;
  return [view.width / 2 + points[i * 2]! * scale, view.height / 2 - points[i * 2 + 1]! * scale];
}

test('draws every image, shows the hovered one, and selects the images of a lasso or a box', async ({
  page,
  studio,
  folders,
}) => {
  test.setTimeout(180_000);
  tinyPretrainedProject(studio.workspace, folders.sample.dir);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-e2e-embed-'));
  cli('embed', '--workspace', studio.workspace, '--run', '1', '--out', path.join(out, 'embeddings'));
  fs.rmSync(out, { recursive: true, force: true });

  await page.goto(studio.url);
  await page.getByTestId('project-item').filter({ hasText: 'Cells' }).click();
  await page.getByTestId('curation-tab').click();
  const canvas = page.getByTestId('embedding-map');
  await expect(canvas).toHaveAttribute('data-points', String(folders.sample.files), { timeout: 60_000 });
  await expect(canvas).toHaveAttribute('data-frame-ms', /^\d+\.\d\d$/);
  await canvas.scrollIntoViewIfNeeded();

  // Where the points are: the stored map (seed 0), placed as the view places them.
  const stored = JSON.parse(
    fs.readFileSync(path.join(studio.workspace, 'projects/1/embeddings/run-1-block-1-mean-map-0.json'), 'utf8'),
  ) as { imageIds: number[]; coordinates: string };
  const bytes = Buffer.from(stored.coordinates, 'base64');
  const points = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const box = (await canvas.boundingBox())!;
  const view = { width: box.width, height: box.height, margin: 12 };

  // Hovering a point shows its thumbnail (loaded) and its label.
  const [x, y] = toScreen(points, 5, view);
  await page.mouse.move(box.x + x, box.y + y);
  const card = page.getByTestId('map-hover');
  await expect(card).toBeVisible();
  await expect(card.locator('img')).toHaveAttribute('src', new RegExp(`/thumbs/${stored.imageIds[5]}$`));
  await expect
    .poll(() => card.locator('img').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
    .toBeGreaterThan(0);
  await expect(card).toContainText(new RegExp(folders.sample.labels.join('|')));

  // A Shift-drag lasso (a diamond around that point) picks the points inside it.
  const diamond = Array.from({ length: points.length / 2 }, (_, i) => i).filter((i) => {
    const [px, py] = toScreen(points, i, view);
    return Math.abs(px - x) + Math.abs(py - y) < 70;
  });
  await page.keyboard.down('Shift');
  await page.mouse.move(box.x + x, box.y + y - 70);
  await page.mouse.down();
  for (const [dx, dy] of [
    [70, 0],
    [0, 70],
    [-70, 0],
    [0, -70],
  ] as const)
    await page.mouse.move(box.x + x + dx, box.y + y + dy, { steps: 8 });
  await page.mouse.up();
  await page.keyboard.up('Shift');
  await expect(page.getByTestId('map-panel').getByTestId('selection-bar')).toContainText(`${diamond.length} selected`);

  // A box around that point and its surroundings picks exactly the points inside it.
  const [left, top, right, bottom] = [x - 80, y - 80, x + 80, y + 80];
  const inside = Array.from({ length: points.length / 2 }, (_, i) => i).filter((i) => {
    const [px, py] = toScreen(points, i, view);
    return px >= left && px <= right && py >= top && py <= bottom;
  });
  expect(inside.length).toBeGreaterThan(0);
  await page.mouse.move(box.x + left, box.y + top);
  await page.mouse.down();
  await page.mouse.move(box.x + right, box.y + bottom, { steps: 6 });
  await page.mouse.up();
  const bar = page.getByTestId('map-panel').getByTestId('selection-bar');
  await expect(bar).toContainText(`${inside.length} selected`);

  // The selection's actions apply to those images; the map's colours follow.
  await bar.getByTestId('selection-exclude').click();
  await expect(
    page.getByText(`Left out of training: ${inside.length} ${inside.length === 1 ? 'image' : 'images'}`),
  ).toBeVisible();
  await page.getByTestId('map-colour').selectOption('excluded');
  await expect(page.getByTestId('map-panel').locator('.legend')).toContainText(`excluded ${inside.length}`);
});

test('the map draws 100 000 points within a frame (measured and reported)', async ({ page }) => {
  // A blank page of the same browser: the studio's page forbids injected scripts (its CSP).
  await page.setContent('<!doctype html><html><body></body></html>');
  const times = await measureMapFrames(page, 100_000, 20);
  test.info().annotations.push({ type: 'map frame time', description: JSON.stringify(times) });
  console.log(`embedding map, 100 000 points: ${JSON.stringify(times)}`);
  expect(times.points).toBe(100_000);
  expect(times.paintedPixels).toBeGreaterThan(10_000);
  expect(Number.isFinite(times.drawAndRasterMs)).toBe(true);
});
