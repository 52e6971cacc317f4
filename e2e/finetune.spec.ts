/**
 * Journey: a fine-tuned classifier is shown beside what it must beat — the random-init encoder
 * fine-tuned alike and the raw pixels —, each with its interval and n, the gains and warnings;
 * and a recipe whose patches would all be flat under norm-pix loss is warned about in the
 * New-run dialog before it starts.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { cli, expect, test, tinyPretrainedProject } from './fixtures';

test('shows a fine-tune beside its random-init and raw-pixel baselines', async ({ page, studio, folders }) => {
  test.setTimeout(180_000);
  tinyPretrainedProject(studio.workspace, folders.sample.dir, '--val-fraction', '0.25');
  cli('finetune', '--workspace', studio.workspace, '--run', '1', '--steps', '3', '--batch', '4', '--backend', 'cpu');

  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(studio.url);
  await page.getByTestId('project-item').filter({ hasText: 'Cells' }).click();
  await page.getByTestId('evaluate-tab').click();
  const result = page.getByTestId('evaluation-result');
  await expect(result.getByRole('heading', { name: /Fine-tuned classifier/ })).toBeVisible();
  for (const id of ['accuracy', 'start-accuracy', 'baseline-accuracy', 'raw-pixels-accuracy']) {
    await expect(result.getByTestId(id)).toHaveText(/^\d+\.\d%$/);
    await expect(result.getByTestId(`${id}-interval`)).toHaveText(/^95% CI \d+\.\d–\d+\.\d% · n = \d+$/);
  }
  // Over the random init fine-tuned alike, the raw pixels, and where it started (the linear probe).
  await expect(result.getByTestId('gain')).toHaveCount(3);
  await expect(result.getByTestId('gain').nth(1)).toContainText(/points over raw pixels\s*95% CI [+−]\d+\.\d/);
  await expect(result.getByTestId('gain').nth(2)).toContainText('points over its linear-probe start');
  await expect(result.getByTestId('probe-warnings')).toBeVisible();
  await result.getByRole('radio', { name: 'Raw-pixel baseline' }).click();
  await expect(result.getByTestId('class-scores').locator('tbody tr')).toHaveCount(folders.sample.labels.length);
  await page.screenshot({ path: test.info().outputPath('finetune-1440x900.png') });
});

test('warns in the New-run dialog when most patches would be flat under norm-pix loss', async ({
  page,
  studio,
}, testInfo) => {
  // 8×8 pictures upscaled ×4: at 32 px with patch 4 every patch is one original pixel.
  const images = testInfo.outputPath('upscaled');
  for (const label of ['a', 'b']) {
    fs.mkdirSync(path.join(images, label), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const pixels = Buffer.from(Array.from({ length: 64 }, (_, k) => (k * 37 + i * 91 + label.length * 13) % 256));
      await sharp(pixels, { raw: { width: 8, height: 8, channels: 1 } })
        .resize(32, 32, { kernel: 'nearest' })
        .png()
        .toFile(path.join(images, label, `${i}.png`));
    }
  }
  cli('init', '--workspace', studio.workspace, '--name', 'Digits', '--domain', 'general');
  cli('import', '--workspace', studio.workspace, '--project', '1', images);

  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(studio.url);
  await page.getByTestId('project-item').filter({ hasText: 'Digits' }).click();
  await page.getByTestId('training-tab').click();
  await page.getByTestId('new-run').click();
  await page.getByTestId('recipe-img-size').fill('32');
  await page.getByTestId('recipe-patch-size').fill('4');
  const warnings = page.getByTestId('recipe-warnings');
  await expect(warnings).toContainText(/100% of the \d+ patches of \d+ training images are flat at 32 px with patch 4/);
  await expect(warnings).toContainText('a larger patch (8:');
  await expect(page.getByTestId('start-run')).toBeEnabled(); // advice: the run may still start
  await page.screenshot({ path: testInfo.outputPath('flat-patches-1440x900.png') });
  await page.getByTestId('recipe-patch-size').fill('8');
  await expect(warnings).toBeHidden();
});
