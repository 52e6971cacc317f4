/** Journey: open a CT in the viewer, read Hounsfield units under the cursor, set CT windows, step frames. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeDicom } from '../app/data/formats/formats.fixtures';
import { cli, expect, test } from './fixtures';

/** The part of a canvas element this spec reads (the e2e project has no DOM types). */
interface Canvas2d {
  width: number;
  height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, width: number, height: number): { data: ArrayLike<number> } } | null;
}

/** Stored value per column band: −1000 HU (air), −360 HU in the middle half, +200 HU (bone-ish). */
const COLUMN_HU = (x: number) => (x < 16 ? -1000 : x < 48 ? -360 : 200);

test('shows a CT in Hounsfield units with lung, mediastinum and bone windows, frame by frame', async ({
  page,
  studio,
}) => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-e2e-ct-'));
  const values = Array.from({ length: 2 * 64 * 64 }, (_, i) => COLUMN_HU(i % 64) + 1024 + (i >= 64 * 64 ? 100 : 0));
  fs.writeFileSync(
    path.join(folder, 'chest.dcm'),
    writeDicom({
      rows: 64,
      columns: 64,
      frames: 2,
      bitsAllocated: 16,
      bitsStored: 12,
      intercept: -1024,
      windows: [{ center: 40, width: 400 }],
      values,
    }),
  );
  const { project } = cli<{ project: { id: number } }>(
    'init',
    '--workspace',
    studio.workspace,
    '--name',
    'Chest CT',
    '--domain',
    'medical',
  );
  cli('import', '--workspace', studio.workspace, '--project', String(project.id), folder);

  await page.goto(studio.url);
  await page.getByTestId('image-tile').first().click();
  await page.getByTestId('open-viewer').click();
  await expect(page.getByTestId('viewer')).toBeVisible();
  // The file's own VOI window first.
  await expect(page.getByTestId('wl-width')).toHaveValue('400');
  await expect(page.getByTestId('wl-level')).toHaveValue('40');

  const canvas = page.getByTestId('viewer-canvas');
  await canvas.hover();
  await expect(page.getByTestId('pixel-value')).toContainText('-360 HU');

  /** The grey drawn at the centre of the canvas (where −360 HU is). */
  const centreGrey = () =>
    canvas.evaluate((element) => {
      const drawn = element as unknown as Canvas2d;
      return drawn.getContext('2d')!.getImageData(drawn.width >> 1, drawn.height >> 1, 1, 1).data[0]!;
    });

  await page.getByTestId('preset-lung').click();
  await expect(page.getByTestId('wl-width')).toHaveValue('1500');
  await expect(page.getByTestId('wl-level')).toHaveValue('-600');
  await expect.poll(centreGrey).toBe(Math.round(((-360 + 1350) / 1500) * 255)); // 168
  await page.getByTestId('preset-mediastinum').click();
  await expect.poll(centreGrey).toBe(0); // below −125 HU: black
  await page.getByTestId('preset-bone').click();
  await expect.poll(centreGrey).toBe(Math.round(((-360 + 500) / 1800) * 255)); // 20

  await page.getByTestId('frame-next').click();
  await expect(page.getByTestId('frame-label')).toHaveText('Frame 2 / 2');
  await canvas.hover({ position: { x: 10, y: 10 } });
  await canvas.hover();
  await expect(page.getByTestId('pixel-value')).toContainText('-260 HU');

  await page.getByTestId('viewer-close').click();
  await expect(page.getByTestId('viewer')).toHaveCount(0);
  fs.rmSync(folder, { recursive: true, force: true });
});
