/**
 * Journey: a CT volume (NIfTI, 0.8 × 0.8 × 2.4 mm voxels) in the Training tab's mask preview.
 * Its tile opens the 3-D MAE's view: three planes of the crop at their true aspect, the tokens
 * seen and masked adding up in all and on each plane, a slider moving a plane through the crop,
 * Re-roll drawing another mask; the same tile can still be previewed as 2-D slices.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeNifti } from '../app/data/formats/nifti.fixtures';
import { cli, expect, test } from './fixtures';

/** A 48 × 40 × 24 int16 volume: a bright ball in a body in air. */
function writeVolume(folder: string): void {
  fs.mkdirSync(folder, { recursive: true });
  const [X, Y, Z] = [48, 40, 24];
  const values: number[] = [];
  for (let k = 0; k < Z; k++)
    for (let j = 0; j < Y; j++)
      for (let i = 0; i < X; i++) {
        const body = ((i - 24) / 22) ** 2 + ((j - 20) / 18) ** 2 < 1;
        const ball = ((i - 30) * 0.8) ** 2 + ((j - 22) * 0.8) ** 2 + ((k - 12) * 2.4) ** 2 < 100;
        values.push(ball ? 400 : body ? -50 + ((i + j + k) % 20) : -1000);
      }
  fs.writeFileSync(
    path.join(folder, 'chest.nii.gz'),
    makeNifti({ datatype: 4, dims: [X, Y, Z], values, pixdim: [0.8, 0.8, 2.4], gzip: true }),
  );
}

/** The three numbers of "N patches: a seen, b masked". */
function planeCounts(text: string | null): [number, number, number] {
  const match = /(\d+) patches: (\d+) seen, (\d+) masked/.exec(text ?? '');
  if (!match) throw new Error(`no plane counts in "${text}"`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

test('a volume previews as the 3-D MAE sees it: three planes whose counts add up', async ({ page, studio }) => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-e2e-volume-preview-'));
  writeVolume(path.join(data, 'ct'));
  cli('init', '--workspace', studio.workspace, '--name', 'CT', '--domain', 'medical');
  cli('import', '--workspace', studio.workspace, '--project', '1', path.join(data, 'ct'));

  await page.goto(studio.url);
  await page.getByTestId('project-item').filter({ hasText: 'CT' }).click();
  await page.getByTestId('training-tab').click();
  const volume = page.getByTestId('volume-preview');
  await expect(volume).toBeVisible();
  await page.getByTestId('volume-patch').selectOption('8×8×8');
  // The largest crop up to 64 that 8-voxel patches fill: the whole 24 × 40 × 48 volume, 3 × 5 × 6 tokens.
  await expect(page.getByTestId('volume-crop-0')).toHaveValue('24');
  await expect(page.getByTestId('volume-counts')).toContainText('90 tokens (3 × 5 × 6 patches of 8×8×8)');
  await expect(page.getByTestId('volume-counts')).toContainText('23 seen by the encoder, 67 masked');

  const crossed = [30, 18, 15]; // 5 × 6 patches across slices, 3 × 6 across rows, 3 × 5 across columns
  for (const axis of [0, 1, 2]) {
    const [patches, seen, masked] = planeCounts(await page.getByTestId(`volume-plane-counts-${axis}`).textContent());
    expect(patches).toBe(crossed[axis]);
    expect(seen + masked).toBe(patches);
  }
  // True aspect: the coronal plane is 24 slices × 2.4 mm tall and 48 columns × 0.8 mm wide.
  const coronal = page.getByTestId('volume-plane-1').locator('canvas');
  const size = await coronal.evaluate((element) => {
    const canvas = element as unknown as { width: number; height: number };
    return canvas.height / canvas.width;
  });
  expect(size).toBeCloseTo((24 * 2.4) / (48 * 0.8), 2);

  // The axial slider moves its plane: the index follows and the counts still add up.
  await expect(page.getByTestId('volume-index-0')).toHaveText('13');
  await page.getByTestId('volume-slider-0').fill('2');
  await expect(page.getByTestId('volume-index-0')).toHaveText('3');
  const [patches, seen, masked] = planeCounts(await page.getByTestId('volume-plane-counts-0').textContent());
  expect([patches, seen + masked]).toEqual([30, 30]);

  // Re-roll draws the next seed's mask: the same counts in all, other patches hidden.
  const axial = page.getByTestId('volume-plane-0').locator('canvas');
  const picture = () => axial.evaluate((element) => (element as unknown as { toDataURL(): string }).toDataURL());
  const before = await picture();
  await page.getByTestId('reroll').click();
  await expect.poll(picture).not.toBe(before);
  await expect(page.getByTestId('volume-counts')).toContainText('23 seen by the encoder, 67 masked');

  // The same tile as 2-D slices: the 2-D preview's panels.
  await page.getByTestId('preview-2d').click();
  await expect(volume).toHaveCount(0);
  // 40 × 48 slices at 64 px (4 × 4 patches), where a new run starts
  await expect(page.getByTestId('mask-summary')).toHaveText('12 of 16 hidden');
  await page.getByTestId('preview-3d').click();
  await expect(page.getByTestId('volume-counts')).toContainText('tokens');
  fs.rmSync(data, { recursive: true, force: true });
});
