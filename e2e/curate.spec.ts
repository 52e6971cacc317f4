/**
 * Journey: a project of mixed channel counts (a grey PNG class, an RGB class, an RGBA class) in
 * Curate. The channel plan shows the decision per channel count; leaving grey out names the
 * class and lowers what is kept; bringing grey to RGB puts it back. Statistics and the split run
 * without a page error (the fixture fails the test on any).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { cli, expect, test } from './fixtures';

const SIDE = 32;

/** Writes `count` PNGs of `channels` channels into `folder`, each a different gradient. */
async function writeClass(folder: string, channels: 1 | 3 | 4, count: number): Promise<void> {
  fs.mkdirSync(folder, { recursive: true });
  for (let index = 0; index < count; index++) {
    const pixels = Buffer.alloc(SIDE * SIDE * channels);
    for (let pixel = 0; pixel < SIDE * SIDE; pixel++) {
      for (let channel = 0; channel < channels; channel++)
        pixels[pixel * channels + channel] = (pixel * (channel + 1) + index * 17) % 256;
    }
    const image = sharp(pixels, { raw: { width: SIDE, height: SIDE, channels } });
    await (channels === 1 ? image.toColourspace('b-w') : image).png().toFile(path.join(folder, `${index}.png`));
  }
}

test('a mixed-channel project shows the decision, and grey → RGB keeps the grey class', async ({ page, studio }) => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-e2e-mixed-'));
  await writeClass(path.join(data, 'grey'), 1, 3);
  await writeClass(path.join(data, 'rgb'), 3, 5);
  await writeClass(path.join(data, 'rgba'), 4, 2);
  cli('init', '--workspace', studio.workspace, '--name', 'Mixed');
  cli('import', '--workspace', studio.workspace, '--project', '1', data);

  await page.goto(studio.url);
  await page.getByTestId('project-item').filter({ hasText: 'Mixed' }).click();
  await page.getByTestId('curation-tab').click();

  const conversions = page.getByTestId('channel-conversions');
  await expect(conversions).toContainText('Mixed channel counts');
  await expect(page.getByTestId('input-channels')).toHaveValue('3');
  await expect(page.getByTestId('channel-group')).toHaveCount(3);
  await expect(page.getByTestId('channel-group').and(page.locator('[data-channels="1"]'))).toContainText('grey');
  await expect(page.getByTestId('conversion-1')).toHaveValue('repeat');
  await expect(page.getByTestId('conversion-4')).toHaveValue('drop-alpha');
  await expect(page.getByTestId('health-kept')).toContainText('10');

  // Leave grey out: fewer kept, the class named in the plan and in the health panel.
  await page.getByTestId('conversion-1').selectOption('exclude');
  await expect(page.getByTestId('channel-coverage')).toContainText('Kept for training: 7 of 10');
  await expect(page.getByTestId('excluded-classes')).toHaveText('grey');
  await expect(page.getByTestId('health-kept')).toContainText('7');
  await expect(page.getByTestId('health-kept')).toContainText('3 left out by the channel plan');
  await expect(page.getByTestId('health-excluded-classes')).toContainText('grey');
  await page.getByTestId('split-button').click();
  // Markup text may wrap in the source: the page shows one space, textContent keeps the line break.
  await expect(page.getByTestId('split-summary')).toHaveText(/^\s*\d+ train · \d+ val · 0 not\s+assigned\s*$/);
  await expect(page.getByTestId('split-summary')).toContainText(/[1-9] val/);

  // The New-run dialog names the class left out.
  await page.getByTestId('training-tab').click();
  await page.getByTestId('new-run').click();
  await expect(page.getByTestId('run-excluded-classes')).toContainText('grey');
  await page.keyboard.press('Escape');

  // Grey → RGB by repetition: the grey class is kept again.
  await page.getByTestId('curation-tab').click();
  await page.getByTestId('conversion-1').selectOption('repeat');
  await expect(page.getByTestId('channel-coverage')).toContainText('Kept for training: 10 of 10');
  await expect(page.getByTestId('health-kept')).toContainText('10');
  await expect(page.getByTestId('excluded-classes')).toHaveCount(0);
  await expect(page.getByTestId('label-balance').and(page.locator('[data-label="grey"]'))).toContainText('3');

  // Statistics of the converted images, with no page error.
  await page.getByTestId('compute-stats').click();
  await expect(page.getByTestId('channel-plan')).toContainText('Statistics of 10 images');
  fs.rmSync(data, { recursive: true, force: true });
});
