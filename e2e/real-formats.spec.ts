/**
 * Journey: a folder as a lab hands it over, not as our sample generator writes it. A grey class
 * of a DICOM whose preamble looks like a TIFF (as pydicom's and many scanners' files do), a
 * float64 TIFF, a three-page TIFF and grey PNGs; an RGB class of PNGs. Import it, bring grey to
 * RGB in the channel plan, pretrain a few steps with the default learning-rate rule, and read an
 * accuracy with its interval in Evaluate. The fixture fails the test on any page or console error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { writeDicom, writeTiff } from '../app/data/formats/formats.fixtures';
import { cli, expect, test } from './fixtures';

const SIDE = 32;

/** A smooth grey pattern of `SIDE`² values in [0, scale), different for each `seed`. */
function pattern(seed: number, scale: number): number[] {
  return Array.from({ length: SIDE * SIDE }, (_, pixel) => {
    const x = pixel % SIDE;
    const y = Math.floor(pixel / SIDE);
    return Math.round(((Math.sin((x + seed * 3) / 4) * Math.cos((y - seed) / 5) + 1) / 2) * (scale - 1));
  });
}

/** Writes PNGs of `channels` channels (1 or 3) into `folder`. */
async function writePngs(folder: string, channels: 1 | 3, count: number, offset: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    const grey = pattern(index + offset, 256);
    const pixels = Buffer.alloc(SIDE * SIDE * channels);
    for (let pixel = 0; pixel < SIDE * SIDE; pixel++) {
      for (let channel = 0; channel < channels; channel++)
        pixels[pixel * channels + channel] = (grey[pixel]! + channel * 60) % 256;
    }
    const image = sharp(pixels, { raw: { width: SIDE, height: SIDE, channels } });
    await (channels === 1 ? image.toColourspace('b-w') : image)
      .png()
      .toFile(path.join(folder, `${channels === 1 ? 'grey' : 'rgb'}-${index}.png`));
  }
}

/** The lab's folder: `scan/` (14 grey samples from 12 files) and `photo/` (8 RGB PNGs). */
async function labFolder(): Promise<string> {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-e2e-lab-'));
  const scan = path.join(data, 'scan');
  const photo = path.join(data, 'photo');
  fs.mkdirSync(scan);
  fs.mkdirSync(photo);
  // A CT slice in a Part-10 file whose preamble starts like a little-endian TIFF, named .dcm.
  const ct = pattern(1, 2000);
  fs.writeFileSync(
    path.join(scan, 'ct.dcm'),
    writeDicom({
      rows: SIDE,
      columns: SIDE,
      bitsAllocated: 16,
      signed: true,
      values: ct,
      slope: 1,
      intercept: -1024,
      modality: 'CT',
      preamble: 'tiff',
    }),
  );
  fs.writeFileSync(
    path.join(scan, 'float64.tif'),
    writeTiff([
      {
        width: SIDE,
        height: SIDE,
        bands: 1,
        sampleType: 'float32',
        stored: 'float64',
        values: pattern(2, 1000).map((value) => value / 1000),
      },
    ]),
  );
  const page = (seed: number) => ({
    width: SIDE,
    height: SIDE,
    bands: 1,
    sampleType: 'uint16' as const,
    values: pattern(seed, 65_535),
  });
  fs.writeFileSync(path.join(scan, 'pages.tif'), writeTiff([page(3), page(4), page(5)]));
  await writePngs(scan, 1, 9, 10);
  await writePngs(photo, 3, 8, 30);
  return data;
}

test('a real-format folder imports, converts grey to RGB, trains with the defaults and reports an interval', async ({
  page,
  studio,
}) => {
  test.setTimeout(240_000);
  const data = await labFolder();
  cli('init', '--workspace', studio.workspace, '--name', 'Lab');
  const imported = cli<{
    filesSeen: number;
    imported: number;
    samples: number;
    skipped: number;
    duplicates: unknown[];
    errors: unknown[];
  }>('import', '--workspace', studio.workspace, '--project', '1', data);
  // Every file is read (the DICOM despite its TIFF-like preamble, the float64 TIFF), and the counts add up.
  expect(imported.errors).toEqual([]);
  expect(imported.filesSeen).toBe(20);
  expect(imported.imported + imported.duplicates.length + imported.skipped + imported.errors.length).toBe(
    imported.filesSeen,
  );
  expect(imported.samples).toBe(22);

  await page.goto(studio.url);
  await page.getByTestId('project-item').filter({ hasText: 'Lab' }).click();
  // The multi-page TIFF's samples are named with their page in the grid.
  await expect(page.getByTestId('image-tile').and(page.locator('[title*="page 2 of 3"]'))).toHaveCount(1);

  // Grey is the majority: the plan's input is one band and the RGB class goes to grey. The user
  // brings everything to RGB instead, repeating the grey band.
  await page.getByTestId('curation-tab').click();
  await expect(page.getByTestId('channel-conversions')).toContainText('Mixed channel counts');
  await expect(page.getByTestId('input-channels')).toHaveValue('1');
  await page.getByTestId('input-channels').selectOption('3');
  await page.getByTestId('conversion-1').selectOption('repeat');
  await expect(page.getByTestId('channel-coverage')).toContainText('Kept for training: 22 of 22');
  await expect(page.getByTestId('excluded-classes')).toHaveCount(0);
  await page.getByTestId('compute-stats').click();
  await expect(page.getByTestId('channel-plan')).toContainText('Statistics of 22 images');

  // The default recipe (learning-rate rule, mask, schedule), at a size a CI machine trains in seconds.
  const trained = cli<{ run: { id: number; status: string } }>(
    'pretrain',
    '--workspace',
    studio.workspace,
    '--project',
    '1',
    '--img',
    '32',
    '--patch',
    '8',
    '--depth',
    '2',
    '--decoder',
    '32x1',
    '--steps',
    '8',
  );
  expect(trained.run.status).toBe('completed');

  await page.getByTestId('evaluate-tab').click();
  await page.getByRole('radio', { name: 'kNN' }).click();
  await page.getByTestId('run-probe').click();
  const result = page.getByTestId('evaluation-result');
  await expect(result.getByTestId('accuracy')).toHaveText(/^\d+\.\d%$/, { timeout: 90_000 });
  await expect(result.getByTestId('accuracy-interval')).toHaveText(/^95% CI \d+\.\d–\d+\.\d% · n = \d+$/);
  fs.rmSync(data, { recursive: true, force: true });
});
