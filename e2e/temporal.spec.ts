/**
 * Journey: a remote-sensing analyst's tiles of a few fields, one folder per field and a file per
 * date, get SatMAE's temporal recipe offered in the New-run dialog with the places it found; the
 * mask preview draws each date's mask over that date's picture; the run trains on three dates per
 * sample, its recipe panel names it and cites Cong et al., and the run list names it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cli, expect, test } from './fixtures';

test.describe.configure({ timeout: 180_000 });

test('offers SatMAE temporal for dated series by place, previews masks per date, and trains it', async ({
  page,
  studio,
}) => {
  const folder = path.join(studio.workspace, '..', 'fields');
  cli('sample', folder, '--series', '4x3', '--seed', '3');
  // A loose tile whose name holds no date: named in the dialog, in no place.
  const loose = path.join(studio.workspace, '..', 'loose');
  cli('sample', loose, '--series', '1x1', '--seed', '9');
  const looseFolder = path.join(loose, 'place-01');
  fs.renameSync(path.join(looseFolder, fs.readdirSync(looseFolder)[0]!), path.join(folder, 'x.tif'));
  const { project } = cli<{ project: { id: number } }>(
    'init',
    '--workspace',
    studio.workspace,
    '--name',
    'Fields',
    '--domain',
    'remote-sensing',
  );
  cli('import', '--workspace', studio.workspace, '--project', String(project.id), folder);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(studio.url);
  await page.getByTestId('training-tab').click();

  // The mask preview draws each date's own mask over the place's picture at that date.
  await page.getByTestId('open-mask-preview').click();
  await page.getByTestId('preview-dates').selectOption('3');
  const dateMasks = page.getByTestId('date-masks');
  await expect(dateMasks.locator('figure')).toHaveCount(3);
  // One draw over all 3 × 16 tokens (4 × 4 patches, where a new run of these tiles starts), as SatMAE: 12 kept,
  // each date's share of the 36 hidden varying.
  await expect(dateMasks.locator('figcaption').first()).toHaveText(/^20\d\d-\d\d-\d\d · \d+ hidden$/);
  const captions = await dateMasks.locator('figcaption').allTextContents();
  const hidden = captions.map((caption) => Number(/(\d+) hidden/.exec(caption)?.[1]));
  expect(hidden.reduce((sum, count) => sum + count, 0)).toBe(36);
  await expect(dateMasks).toContainText('SatMAE temporal (Cong et al. 2022): 3 dates of one place');
  if (process.env.SCREENSHOTS)
    await page.screenshot({ path: path.join(process.env.SCREENSHOTS, 'temporal-masks.png') });

  await page.getByTestId('new-run').click();
  const recipe = page.getByTestId('recipe-domain');
  await recipe.selectOption('satmae-temporal');
  await expect(page.getByTestId('recipe-why')).toContainText('4 places with 3 dates each: SatMAE learns from');
  await expect(page.getByTestId('recipe-why')).toContainText('Cong et al. 2022, "SatMAE');
  await expect(page.getByTestId('recipe-series')).toContainText('4 places · 12 dated images · 1 in no place');
  await expect(page.getByTestId('recipe-dates')).toHaveValue('3');
  await page.getByTestId('recipe-series').locator('summary').click();
  await expect(page.getByTestId('recipe-series')).toContainText('x.tif: no date in the file name');
  if (process.env.SCREENSHOTS)
    await page.screenshot({ path: path.join(process.env.SCREENSHOTS, 'temporal-new-run.png') });

  await page.getByTestId('recipe-dates').fill('4');
  await expect(page.getByTestId('field-error').first()).toContainText('no place has 4 dates');
  await page.getByTestId('recipe-dates').fill('3');
  await page.getByTestId('recipe-img-size').fill('32');
  await page.getByTestId('recipe-patch-size').fill('8');
  await page.getByTestId('recipe-depth').fill('1');
  await page.getByTestId('recipe-decoder').fill('64x1');
  await page.getByTestId('recipe-batch').fill('4');
  await page.getByTestId('recipe-epochs').fill('1');
  await page.getByTestId('recipe-backend').selectOption('cpu');
  await expect(page.getByTestId('start-run')).toBeEnabled();
  await page.getByTestId('start-run').click();

  const dashboard = page.getByTestId('run-dashboard');
  await expect(dashboard).toContainText('SatMAE (temporal): 3 dates of one place per sample');
  await expect(page.getByTestId('recipe-citation')).toHaveText(/^After Cong et al\. 2022, "SatMAE/);
  await expect(dashboard).toContainText('Completed', { timeout: 90_000 });
  await expect(page.getByTestId('run-item')).toContainText('SatMAE (temporal)');
  // a grid of one row per date of a place held out of training
  await expect(page.getByTestId('reconstruction')).toBeVisible();
  if (process.env.SCREENSHOTS) await page.screenshot({ path: path.join(process.env.SCREENSHOTS, 'temporal-run.png') });
});
