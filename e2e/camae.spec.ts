/**
 * Journey: a microscopist's 5-channel Cell Painting fields of view (one stain per channel) get
 * CA-MAE suggested in the New-run dialog, with one sentence why and the paper; the run trains,
 * its recipe panel names the channel tokens and cites Kraus et al., and the run list names it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeTiff } from '../app/data/formats/formats.fixtures';
import { cli, expect, test } from './fixtures';

test.describe.configure({ timeout: 180_000 });

/** A 32×32 5-channel uint16 field of view: a bright nucleus in the DNA stain, texture in the others. */
function fieldOfView(seed: number): Uint8Array {
  const values = new Uint16Array(32 * 32 * 5);
  for (let k = 0; k < 32 * 32; k++) {
    const [x, y] = [k % 32, Math.floor(k / 32)];
    const nucleus = (x - 8 - seed) ** 2 + (y - 16) ** 2 < 30 ? 3000 : 0;
    for (let stain = 0; stain < 5; stain++)
      values[k * 5 + stain] =
        200 + (stain === 0 ? nucleus : Math.round(400 * (1 + Math.sin((x * (stain + 1) + y * seed) / 5))));
  }
  return writeTiff([
    { width: 32, height: 32, bands: 5, sampleType: 'uint16', values, bandNames: ['DNA', 'ER', 'RNA', 'AGP', 'Mito'] },
  ]);
}

test('suggests CA-MAE for 5-channel microscopy, says why, and trains it with the recipe named', async ({
  page,
  studio,
}) => {
  const folder = path.join(studio.workspace, '..', 'plate');
  for (const label of ['control', 'treated']) {
    fs.mkdirSync(path.join(folder, label), { recursive: true });
    for (let i = 0; i < 6; i++)
      fs.writeFileSync(path.join(folder, label, `${label}-${i}.tif`), fieldOfView(i + (label === 'treated' ? 6 : 0)));
  }
  const { project } = cli<{ project: { id: number } }>(
    'init',
    '--workspace',
    studio.workspace,
    '--name',
    'Plate',
    '--domain',
    'microscopy',
  );
  cli('import', '--workspace', studio.workspace, '--project', String(project.id), folder);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(studio.url);
  await page.getByTestId('training-tab').click();

  // The mask preview draws CA-MAE's masks: each channel hides its own patches.
  await page.getByTestId('open-mask-preview').click();
  await page.getByTestId('preview-channel-tokens').selectOption('true');
  const channelMasks = page.getByTestId('channel-masks');
  await expect(channelMasks.locator('figure')).toHaveCount(5);
  // Random masking over all 5 × 16 tokens (32 px images at 64 px, 4 × 4 patches, as a new run): 60 hidden in all,
  // not the same number in every channel.
  await expect(channelMasks).toContainText(/Channel 5 · \d+ of 16 hidden/);
  const counts = (await channelMasks.locator('figcaption').allTextContents()).map((text) =>
    Number(/· (\d+) of/.exec(text)![1]),
  );
  expect(counts.reduce((a, b) => a + b, 0)).toBe(60);
  if (process.env.SCREENSHOTS) await page.screenshot({ path: path.join(process.env.SCREENSHOTS, 'camae-masks.png') });
  // SatMAE's band groups are the other token layout: choosing them clears the channel tokens, and back.
  await page.getByTestId('preview-band-groups').selectOption('3');
  await expect(page.getByTestId('group-masks').locator('figure')).toHaveCount(3);
  await expect(channelMasks).toHaveCount(0);
  await expect(page.getByTestId('preview-channel-tokens')).toHaveValue('false');
  if (process.env.SCREENSHOTS) await page.screenshot({ path: path.join(process.env.SCREENSHOTS, 'satmae-masks.png') });
  await page.getByTestId('preview-channel-tokens').selectOption('true');
  await expect(channelMasks.locator('figure')).toHaveCount(5);
  await expect(page.getByTestId('group-masks')).toHaveCount(0);
  await expect(page.getByTestId('preview-band-groups')).toHaveValue('1');

  await page.getByTestId('new-run').click();

  const recipe = page.getByTestId('recipe-domain');
  await expect(recipe).toHaveValue('camae');
  await expect(recipe.locator('option:checked')).toHaveText('CA-MAE — suggested');
  await expect(page.getByTestId('recipe-why')).toContainText(
    'These 5-channel microscopy images have one stain per channel: ' +
      'CA-MAE tokenises each channel on its own (Kraus et al.)',
  );
  await expect(page.getByTestId('recipe-why')).toContainText(
    'Kraus et al. 2024, "Masked Autoencoders for Microscopy are Scalable Learners of Cellular Biology"',
  );
  if (process.env.SCREENSHOTS) await page.screenshot({ path: path.join(process.env.SCREENSHOTS, 'camae-new-run.png') });

  await page.getByTestId('recipe-img-size').fill('32');
  await page.getByTestId('recipe-patch-size').fill('8');
  await page.getByTestId('recipe-depth').fill('1');
  await page.getByTestId('recipe-decoder').fill('32x1');
  await page.getByTestId('recipe-batch').fill('4');
  await page.getByTestId('recipe-epochs').fill('1');
  await page.getByTestId('recipe-backend').selectOption('cpu');
  await expect(page.getByTestId('start-run')).toBeEnabled();
  await page.getByTestId('start-run').click();

  const dashboard = page.getByTestId('run-dashboard');
  await expect(dashboard).toContainText('CA-MAE: every channel tokenised on its own by one shared patch embedding');
  await expect(page.getByTestId('recipe-citation')).toHaveText(
    /^After Kraus et al\. 2024, "Masked Autoencoders for Microscopy/,
  );
  await expect(dashboard).toContainText('Completed', { timeout: 90_000 });
  await expect(page.getByTestId('run-item')).toContainText('CA-MAE · ViT 192d×1');
  if (process.env.SCREENSHOTS) await page.screenshot({ path: path.join(process.env.SCREENSHOTS, 'camae-run.png') });
});
