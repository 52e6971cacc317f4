/**
 * Journey: someone with ordinary RGB pictures tries Hard Patches Mining. The mask preview draws
 * HPM's masks and says how many it mines by the end; the New-run dialog offers HPM with its paper
 * and its hard-patch share; the run trains, its recipe panel names the recipe and cites Wang et
 * al., and the run list names it.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { cli, expect, test } from './fixtures';

test.describe.configure({ timeout: 180_000 });

/** A 64×64 RGB picture: a bright disc on a colour gradient, placed by `seed`. */
function picture(seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(64 * 64 * 3);
  for (let k = 0; k < 64 * 64; k++) {
    const [x, y] = [k % 64, Math.floor(k / 64)];
    const disc = (x - 16 - seed * 3) ** 2 + (y - 32) ** 2 < 120 ? 120 : 0;
    for (let c = 0; c < 3; c++) pixels[k * 3 + c] = Math.min(255, x * 2 + y * c + disc);
  }
  return sharp(pixels, { raw: { width: 64, height: 64, channels: 3 } })
    .png()
    .toBuffer();
}

test('previews HPM masks, offers HPM with its paper and trains it with the recipe named', async ({ page, studio }) => {
  const folder = path.join(studio.workspace, '..', 'pictures');
  for (const label of ['left', 'right']) {
    fs.mkdirSync(path.join(folder, label), { recursive: true });
    for (let i = 0; i < 6; i++)
      fs.writeFileSync(path.join(folder, label, `${label}-${i}.png`), await picture(i + (label === 'right' ? 6 : 0)));
  }
  const { project } = cli<{ project: { id: number } }>('init', '--workspace', studio.workspace, '--name', 'Pictures');
  cli('import', '--workspace', studio.workspace, '--project', String(project.id), folder);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(studio.url);
  await page.getByTestId('training-tab').click();

  // The mask preview draws HPM's masks: random at its first step, with what it mines by the end
  // (at 4 × 4 patches, where a new run of these pictures starts).
  await page.getByTestId('open-mask-preview').click();
  await page.getByTestId('strategy-block').click();
  await page.getByTestId('preview-hard-patches').selectOption('true');
  await expect(page.getByTestId('strategy-random')).toHaveAttribute('aria-checked', 'true');
  await expect(page.getByTestId('hard-patch-help')).toContainText(
    'by the end 6 of the 12 masked patches (50%) are the ones its predictor ranks hardest to reconstruct',
  );
  if (process.env.SCREENSHOTS) await page.screenshot({ path: path.join(process.env.SCREENSHOTS, 'hpm-masks.png') });

  await page.getByTestId('new-run').click();
  const recipe = page.getByTestId('recipe-domain');
  await recipe.selectOption('hpm');
  await expect(page.getByTestId('recipe-why')).toContainText(
    'Wang et al. 2023, "Hard Patches Mining for Masked Image Modeling" (CVPR 2023, arXiv:2304.05919)',
  );
  await expect(page.getByTestId('recipe-hard-share')).toHaveValue('0.5');
  await page.getByTestId('recipe-hard-share').fill('0.4');
  if (process.env.SCREENSHOTS) await page.screenshot({ path: path.join(process.env.SCREENSHOTS, 'hpm-new-run.png') });

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
  await expect(dashboard).toContainText('HPM (hard patches mining): a loss predictor learns to rank the patches');
  await expect(dashboard).toContainText('a share growing from 0 to 0.4 over training');
  await expect(page.getByTestId('recipe-citation')).toHaveText(/^After Wang et al\. 2023, "Hard Patches Mining/);
  await expect(dashboard).toContainText('Completed', { timeout: 90_000 });
  await expect(page.getByTestId('run-item')).toContainText('HPM (hard patches mining) · ViT 192d×1');
  if (process.env.SCREENSHOTS) await page.screenshot({ path: path.join(process.env.SCREENSHOTS, 'hpm-run.png') });
});
