/**
 * Journey: a project of whole-slide images. Each slide is one tile in the grid; its detail panel
 * states the pyramid, the scale and the tissue share; Curate's channel plan offers the scale
 * training windows are read at and how much of each must be tissue, and saves them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSlideFixture } from '../app/data/formats/slide.fixtures';
import { cli, expect, test } from './fixtures';

test('a slide imports as one image with its pyramid, scale and tissue; the plan sets the training scale', async ({
  page,
  studio,
}) => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-e2e-slides-'));
  await writeSlideFixture(path.join(data, 'biopsy-1.svs'), { width: 2400, height: 1600, tile: 128, mpp: 0.25 });
  await writeSlideFixture(path.join(data, 'biopsy-2.tif'), {
    width: 1800,
    height: 1200,
    tile: 128,
    structure: 'reduced',
    mpp: 0.5,
  });
  cli('init', '--workspace', studio.workspace, '--name', 'Slides');
  cli('import', '--workspace', studio.workspace, '--project', '1', data);

  await page.goto(studio.url);
  await page.getByTestId('project-item').filter({ hasText: 'Slides' }).click();
  await expect(page.getByTestId('image-tile')).toHaveCount(2);
  await page.getByTestId('image-tile').first().click();
  await expect(page.getByTestId('detail-slide-levels')).toContainText('3 levels · JPEG tiles · Aperio SVS');
  await expect(page.getByTestId('detail-slide-mpp')).toContainText('0.25 µm per pixel · 20× objective');
  await expect(page.getByTestId('detail-slide-tissue')).toContainText('% of the slide');
  if (process.env.MAE_SCREENSHOTS)
    await page.screenshot({ path: path.join(process.env.MAE_SCREENSHOTS, 'slide-grid.png') });

  await page.getByTestId('curation-tab').click();
  const slides = page.getByTestId('slide-sampling');
  await expect(slides).toContainText('2 slides in this project');
  await page.getByTestId('slide-scale').selectOption('0.5');
  await page.getByTestId('slide-tissue').selectOption('0.75');
  await page.getByTestId('save-plan').click();
  await expect(page.getByTestId('channel-plan')).toContainText('saved');
  if (process.env.MAE_SCREENSHOTS)
    await slides.screenshot({ path: path.join(process.env.MAE_SCREENSHOTS, 'slide-plan.png') });
  // Saved with the plan: a fresh page shows the same choices.
  await page.reload();
  await page.getByTestId('project-item').filter({ hasText: 'Slides' }).click();
  await page.getByTestId('curation-tab').click();
  await expect(page.getByTestId('slide-scale')).toHaveValue('0.5');
  await expect(page.getByTestId('slide-tissue')).toHaveValue('0.75');
  fs.rmSync(data, { recursive: true, force: true });
});
