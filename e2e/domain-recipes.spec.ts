/**
 * Journey: a remote-sensing analyst's GeoTIFFs name their bands, so the New-run dialog suggests
 * FG-MAE and says why, with its paper; NDBI is off because no band is named SWIR, and says so.
 * A wrong blur σ is flagged under the deblurring option and stops blocking Start once another
 * recipe is chosen. The FG-MAE run trains, and its recipe panel names the targets and bands and
 * cites the paper; the run list names the recipe; no reconstruction is promised for features.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeTiff } from '../app/data/formats/formats.fixtures';
import { cli, expect, test } from './fixtures';

test.describe.configure({ timeout: 180_000 });

/** A 32×32 4-band uint16 tile with GDAL band descriptions, as a Sentinel-2 export carries them. */
function tile(nir: number, seed: number): Uint8Array {
  const reflectance = [600, 800, 500, nir];
  const values = new Uint16Array(32 * 32 * 4);
  for (let k = 0; k < 32 * 32; k++) {
    const texture = 1 + 0.2 * Math.sin(((k % 32) * (seed + 1) + Math.floor(k / 32) * 3) / 4);
    for (let band = 0; band < 4; band++) values[k * 4 + band] = Math.round(reflectance[band]! * texture);
  }
  return writeTiff([
    {
      width: 32,
      height: 32,
      bands: 4,
      sampleType: 'uint16',
      values,
      bandNames: ['B2 blue', 'B3 green', 'B4 red', 'B8 NIR'],
    },
  ]);
}

test('suggests FG-MAE for named bands, explains what is off, and trains it with the recipe named', async ({
  page,
  studio,
}) => {
  const folder = path.join(studio.workspace, '..', 'tiles');
  for (const [label, nir] of [
    ['fields', 3500],
    ['water', 150],
  ] as const) {
    fs.mkdirSync(path.join(folder, label), { recursive: true });
    for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(folder, label, `${label}-${i}.tif`), tile(nir, i));
  }
  const { project } = cli<{ project: { id: number } }>(
    'init',
    '--workspace',
    studio.workspace,
    '--name',
    'Tiles',
    '--domain',
    'remote-sensing',
  );
  cli('import', '--workspace', studio.workspace, '--project', String(project.id), folder);
  await page.goto(studio.url);
  await page.getByTestId('training-tab').click();
  await page.getByTestId('new-run').click();

  const recipe = page.getByTestId('recipe-domain');
  await expect(recipe).toHaveValue('fgmae');
  await expect(recipe.locator('option:checked')).toHaveText('FG-MAE — suggested');
  await expect(page.getByTestId('recipe-why')).toContainText(
    'These 4-band images name their bands, so FG-MAE can regress HOG and NDVI, NDWI per patch',
  );
  await expect(page.getByTestId('recipe-why')).toContainText('Wang et al. 2023, "Feature Guided Masked Autoencoder');
  const targets = page.getByTestId('recipe-feature-targets');
  await expect(targets.getByLabel('NDBI')).toBeDisabled();
  await expect(targets.getByLabel('HOG')).toBeChecked();
  await expect(targets).toContainText('NDBI needs bands named swir and nir in the channel plan; missing: swir');

  // A wrong blur σ is the deblurring option's error, and stops mattering once it is not chosen.
  await recipe.selectOption('deblur');
  await page.getByTestId('recipe-blur-sigma').fill('20');
  await expect(page.getByTestId('field-error')).toHaveText('Blur σ can be at most 16 pixels');
  await expect(page.getByTestId('start-run')).toBeDisabled();
  await recipe.selectOption('fgmae');
  await targets.getByLabel('NDWI').uncheck();

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
  await expect(dashboard).toContainText(
    'FG-MAE: masked patches regressed as HOG + NDVI (red = "B4 red", nir = "B8 NIR")',
  );
  await expect(page.getByTestId('recipe-citation')).toHaveText(
    /^After Wang et al\. 2023, "Feature Guided Masked Autoencoder/,
  );
  await expect(dashboard).toContainText(
    'This recipe regresses features, not pixels: there is no picture to reconstruct.',
  );
  await expect(dashboard).toContainText('Completed', { timeout: 90_000 });
  await expect(page.getByTestId('run-item')).toContainText('FG-MAE · ViT 192d×1');
});
