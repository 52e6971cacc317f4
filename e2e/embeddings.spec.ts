/**
 * Journey: a project with a (tiny) pretrained run; compute its embeddings in Curate, export them,
 * open a listed suspect's neighbours, and see an image's similar images in the image panel.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, tinyPretrainedProject } from './fixtures';

test('computes embeddings in the background, exports them, and shows neighbours and suspects', async ({
  page,
  studio,
  folders,
}) => {
  test.setTimeout(180_000);
  tinyPretrainedProject(studio.workspace, folders.sample.dir);

  await page.goto(studio.url);
  await page.getByTestId('project-item').filter({ hasText: 'Cells' }).click();
  await page.getByTestId('curation-tab').click();
  const panel = page.getByTestId('embeddings-panel');
  await expect(panel.getByTestId('embedding-run')).toContainText('Pretrain #1');
  await expect(panel.getByTestId('embedding-state')).toHaveAttribute('data-state', 'missing');
  await expect(page.getByTestId('export-embeddings')).toBeDisabled();
  await page.getByTestId('compute-embeddings').click();
  await expect(panel.getByTestId('embedding-state')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await expect(panel.getByTestId('embedding-state')).toContainText(`${folders.sample.files} images × 192 features`);

  await page.getByTestId('export-embeddings').click();
  await expect(page.getByText('Embeddings exported')).toBeVisible();
  const exports = path.join(studio.workspace, 'projects', '1', 'exports', 'embeddings-run-1-block-1-mean');
  expect(fs.readdirSync(exports).sort()).toEqual(['embeddings.csv', 'embeddings.json', 'embeddings.npy', 'images.csv']);

  // The suspect list, or its "none found" sentence; a listed image opens its neighbours.
  const suspects = page.getByTestId('suspects-panel');
  await expect(suspects.getByTestId('suspects').or(suspects.getByTestId('no-suspects'))).toBeVisible();
  if (await suspects.getByTestId('suspect').count()) {
    await suspects.getByTestId('suspect').first().click();
    await expect(suspects.getByTestId('neighbour')).toHaveCount(10);
  }

  await page.getByRole('tab', { name: 'Images' }).click();
  await page.getByTestId('image-tile').first().click();
  const neighbours = page.getByTestId('detail-panel').getByTestId('neighbour');
  await expect(neighbours).toHaveCount(9);
  await expect(neighbours.first()).toContainText(/^\s*0\.\d{3}/);
});
