/**
 * Journey: a 3-D MAE on CT volumes. A project of plain photos cannot choose "3-D MAE (volumes)"
 * and says why; a project of thick-slice NIfTI volumes offers it with the patch suggested from the
 * spacing, starts a tiny run, and its dashboard shows the reconstruction as slices through the crop.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { makeNifti } from '../app/data/formats/nifti.fixtures';
import { cli, expect, test } from './fixtures';

/** Four 16 × 16 × 8 int16 volumes of 0.7 × 0.7 × 2.1 mm in two labelled folders (each a patient). */
function writeVolumes(folder: string): void {
  for (const label of ['left', 'top']) {
    fs.mkdirSync(path.join(folder, label), { recursive: true });
    for (let patient = 0; patient < 2; patient++) {
      const values = Array.from({ length: 16 * 16 * 8 }, (_, index) => {
        const [i, j] = [index % 16, Math.floor(index / 16) % 16];
        const bright = label === 'left' ? i < 8 : j < 8;
        return (bright ? 400 : -600) + ((index * 31 + patient * 7) % 120);
      });
      fs.writeFileSync(
        path.join(folder, label, `${label}${patient}.nii.gz`),
        makeNifti({ datatype: 4, dims: [16, 16, 8], values, pixdim: [0.7, 0.7, 2.1], gzip: true }),
      );
    }
  }
}

test('a project of volumes trains a 3-D MAE from the New-run dialog and shows its slices', async ({ page, studio }) => {
  test.setTimeout(120_000);
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-e2e-volume-run-'));
  writeVolumes(path.join(data, 'ct'));
  const photos = path.join(data, 'photos');
  fs.mkdirSync(photos);
  await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } })
    .png()
    .toFile(path.join(photos, 'a.png'));
  cli('init', '--workspace', studio.workspace, '--name', 'CT');
  cli('import', '--workspace', studio.workspace, '--project', '1', path.join(data, 'ct'));
  cli('init', '--workspace', studio.workspace, '--name', 'Photos');
  cli('import', '--workspace', studio.workspace, '--project', '2', photos);

  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(studio.url);
  await page.getByTestId('project-item').filter({ hasText: 'Photos' }).click();
  await page.getByTestId('training-tab').click();
  await page.getByTestId('new-run').click();
  await expect(page.getByTestId('run-kind-3d')).toBeDisabled();
  await expect(page.getByTestId('run-kind-3d-reason')).toHaveText(
    'This project holds no whole volumes: import NIfTI files or DICOM series to train a 3-D MAE.',
  );
  await page.getByRole('button', { name: 'Cancel' }).click();

  await page.getByTestId('project-item').filter({ hasText: 'CT' }).click();
  await page.getByTestId('training-tab').click();
  await page.getByTestId('new-run').click();
  await page.getByTestId('run-kind-3d').check();
  await expect(page.getByTestId('volume-run-dataset')).toContainText('4 volumes: 2 to train on, 2 held out');
  // 2.1 mm slices, 0.7 mm in plane: thick-slice patches, halved to fit 8×16×16 volumes.
  await expect(page.getByTestId('volume-run-suggestion')).toContainText(
    'Suggested: crop 8×16×16, patch 4×8×8. Thick slices',
  );
  await expect(page.getByTestId('volume-patch-slices')).toHaveValue('4');
  await page.getByTestId('volume-depth').fill('1');
  await page.getByTestId('volume-decoder').fill('32x1');
  await page.getByTestId('volume-batch').fill('2');
  await page.getByTestId('volume-epochs').fill('4');
  await page.getByTestId('volume-backend').selectOption('cpu');
  await page.screenshot({ path: test.info().outputPath('volume-run-dialog.png') });
  await page.getByTestId('start-volume-run').click();

  await expect(page.getByTestId('reconstruction')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('recon-planes')).toContainText('Slices through the centre of one held-out crop');
  await expect(page.getByText('3-D MAE · ViT 192d×1 · 8×16×16 / 4×8×8 · dec 32×1').first()).toBeVisible();
  await expect(page.getByTestId('recon-step')).toHaveText('step 4', { timeout: 60_000 });
  await expect(page.getByText('8×16×16 / 4×8×8 voxels (slices×rows×columns), 1 ch')).toBeVisible();
  await expect(page.getByText('2 train · 2 val (split by patient)')).toBeVisible();
  await expect(page.getByText('Completed').first()).toBeVisible({ timeout: 60_000 });
  await page.screenshot({ path: test.info().outputPath('volume-run-dashboard.png') });
  fs.rmSync(data, { recursive: true, force: true });
});
