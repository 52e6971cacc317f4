/**
 * Journey: a project of CT volumes (NIfTI) in Curate. The channel plan offers the Volumes setting
 * (a project of plain images does not show it); choosing coronal planes with 3 slices per sample
 * says the model sees 3 channels, and once saved the New-run dialog states how the volumes are
 * cut and how many planes the run trains on.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { makeNifti } from '../app/data/formats/nifti.fixtures';
import { cli, expect, test } from './fixtures';

/** Two 16 × 12 × 6 int16 volumes of 0.8 × 0.8 × 2.4 mm (each a patient). */
function writeVolumes(folder: string): void {
  fs.mkdirSync(folder, { recursive: true });
  for (let patient = 0; patient < 2; patient++) {
    const values = Array.from({ length: 16 * 12 * 6 }, (_, index) => -1000 + ((index * 31 + patient * 7) % 1200));
    fs.writeFileSync(
      path.join(folder, `patient${patient}.nii.gz`),
      makeNifti({ datatype: 4, dims: [16, 12, 6], values, pixdim: [0.8, 0.8, 2.4], gzip: true }),
    );
  }
}

test('a project of volumes offers the slice axis and 2.5-D, and the New-run dialog states them', async ({
  page,
  studio,
}) => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-e2e-volumes-'));
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

  await page.goto(studio.url);
  await page.getByTestId('project-item').filter({ hasText: 'Photos' }).click();
  await page.getByTestId('curation-tab').click();
  await expect(page.getByTestId('channel-plan')).toBeVisible();
  await expect(page.getByTestId('volume-sampling')).toHaveCount(0);

  await page.getByTestId('project-item').filter({ hasText: 'CT' }).click();
  await page.getByTestId('curation-tab').click();
  const volumes = page.getByTestId('volume-sampling');
  await expect(volumes).toContainText('2 volumes in this project');
  await expect(page.getByTestId('model-channels')).toContainText('1 channel');
  await volumes.getByRole('button', { name: 'Coronal' }).click();
  await page.getByTestId('volume-neighbours').selectOption('1');
  await expect(page.getByTestId('model-channels')).toContainText('3 channels: 1 band × 3 neighbouring slices');
  await page.getByTestId('save-plan').click();
  await expect(page.getByTestId('channel-plan')).toContainText('saved');

  await page.getByTestId('training-tab').click();
  await page.getByTestId('new-run').click();
  // 12 coronal planes per volume (j), one volume held out.
  await expect(page.getByTestId('run-volumes')).toContainText(
    '2 volumes, cut into coronal slices with square pixels, 3 neighbouring slices as channels (2.5-D): ' +
      '12 slices to train on, 12 for validation',
  );
  fs.rmSync(data, { recursive: true, force: true });
});
