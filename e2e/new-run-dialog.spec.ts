/**
 * Journey: the new-run dialog explains itself. Each bad field gets its own error in plain words
 * as it is typed (batch 0, negative epochs, depth 1000, an empty image size, an image size the
 * patch does not divide), Start is off with the reason beside it, a batch beyond this machine's
 * memory says what it needs; fixed, Start works — and the dialog reopens, after a reload, with
 * the values of the run just started (and a way back to the defaults).
 */
import type { Page } from '@playwright/test';
import { cli, expect, test } from './fixtures';

test.describe.configure({ timeout: 180_000 });

/** The error shown under the field whose control has this test id. */
function fieldError(page: Page, testId: string) {
  return page.locator('label', { has: page.getByTestId(testId) }).getByTestId('field-error');
}

test('checks every field as it is typed, says why Start is off, and reopens with the last values', async ({
  page,
  studio,
  folders,
}) => {
  const { project } = cli<{ project: { id: number } }>(
    'init',
    '--workspace',
    studio.workspace,
    '--name',
    'Cells',
    '--domain',
    'microscopy',
  );
  cli('import', '--workspace', studio.workspace, '--project', String(project.id), folders.sample.dir);
  await page.goto(studio.url);
  await page.getByTestId('training-tab').click();
  await page.getByTestId('new-run').click();
  // The model is sized to the project (a few dozen images of 64–96 px), and the dialog says why.
  await expect(page.getByTestId('recipe-img-size')).toHaveValue('80');
  await expect(page.getByTestId('recipe-depth')).toHaveValue('4');
  await expect(page.getByTestId('recipe-decoder')).toHaveValue('128x2');
  await expect(page.getByTestId('recipe-sizing')).toContainText('Sized to this project');
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.getByTestId('recipe-sizing').scrollIntoViewIfNeeded();
  await page.screenshot({ path: test.info().outputPath('new-run-sizing-1440x900.png') });
  await expect(page.getByTestId('recipe-origin')).toBeHidden();

  // A tiny model on the cpu backend passes.
  const start = page.getByTestId('start-run');
  const reason = page.getByTestId('start-reason');
  await page.getByTestId('recipe-img-size').fill('32');
  await page.getByTestId('recipe-patch-size').fill('8');
  await page.getByTestId('recipe-depth').fill('1');
  await page.getByTestId('recipe-decoder').fill('32x1');
  // A model the user sized is no longer the project's: the sentence goes.
  await expect(page.getByTestId('recipe-sizing')).toBeHidden();
  await page.getByTestId('recipe-batch').fill('4');
  await page.getByTestId('recipe-epochs').fill('1');
  await page.getByTestId('recipe-backend').selectOption('cpu');
  await expect(start).toBeEnabled();
  await expect(reason).toBeHidden();
  await expect(page.getByTestId('recipe-summary')).toContainText('per epoch');

  // Each bad value: its own error beside its field, and Start off with the reason.
  await page.getByTestId('recipe-batch').fill('0');
  await expect(fieldError(page, 'recipe-batch')).toHaveText('Batch size must be a whole number of at least 1');
  await expect(start).toBeDisabled();
  await expect(reason).toHaveText('Fix the field in red to start: Batch size');
  await expect(page.getByTestId('recipe-summary')).toContainText('once the fields in red are fixed');

  await page.getByTestId('recipe-epochs').fill('-2');
  await expect(fieldError(page, 'recipe-epochs')).toHaveText('Epochs must be a whole number of at least 1');
  await page.getByTestId('recipe-depth').fill('1000');
  await expect(fieldError(page, 'recipe-depth')).toHaveText('Encoder blocks can be at most 64');
  await page.getByTestId('recipe-img-size').fill('');
  await expect(fieldError(page, 'recipe-img-size')).toHaveText('Image size is empty: enter a whole number');
  await expect(reason).toHaveText('Fix the 4 fields in red to start: Image size, Encoder blocks, Batch size, Epochs');
  await expect(start).toBeDisabled();
  await expect(page.getByTestId('field-error')).toHaveCount(4);
  for (const text of await page.getByTestId('field-error').allTextContents())
    expect(text).not.toMatch(/\b(?:mae|train|pretrain)\.|imgSize|batchSize/);

  // Fixed one by one; a rule across fields (image size and patch) is named too.
  await page.getByTestId('recipe-batch').fill('4');
  await page.getByTestId('recipe-epochs').fill('1');
  await page.getByTestId('recipe-depth').fill('1');
  await page.getByTestId('recipe-img-size').fill('30');
  await expect(fieldError(page, 'recipe-img-size')).toHaveText(
    'Image size (30) must be divisible by the patch size (8): try 24 or 32',
  );
  await expect(start).toBeDisabled();

  // A batch far beyond this machine's memory: what it needs, and what can be spared.
  await page.getByTestId('recipe-img-size').fill('1024');
  await page.getByTestId('recipe-preset').selectOption('vit-base');
  await page.getByTestId('recipe-batch').fill('4096');
  await expect(reason).toHaveText(/^This recipe needs about [\d.]+ [GT]B per step; this machine can spare [\d.]+ GB$/);
  const memoryError = fieldError(page, 'recipe-batch');
  await expect(memoryError).toContainText(
    /^Batch size 4096 needs about [\d.]+ [GT]B per step; this machine can spare [\d.]+ GB /,
  );
  await expect(memoryError).toContainText(/ GB \(70% of its [\d.]+ GB\): lower the batch size/);
  await expect(start).toBeDisabled();

  await page.getByTestId('recipe-preset').selectOption('vit-tiny');
  await page.getByTestId('recipe-img-size').fill('32');
  await page.getByTestId('recipe-batch').fill('4');
  await expect(page.getByTestId('field-error')).toHaveCount(0);
  await expect(start).toBeEnabled();
  await start.click();
  const dashboard = page.getByTestId('run-dashboard');
  await expect(dashboard.getByTestId('run-status')).toHaveAttribute('data-status', 'completed', { timeout: 90_000 });

  // Reopened after a reload (state from the server, not the page): the values just used.
  await page.reload();
  await page.getByTestId('training-tab').click();
  await page.getByTestId('new-run').click();
  await expect(page.getByTestId('recipe-img-size')).toHaveValue('32');
  await expect(page.getByTestId('recipe-patch-size')).toHaveValue('8');
  await expect(page.getByTestId('recipe-depth')).toHaveValue('1');
  await expect(page.getByTestId('recipe-decoder')).toHaveValue('32x1');
  await expect(page.getByTestId('recipe-batch')).toHaveValue('4');
  await expect(page.getByTestId('recipe-epochs')).toHaveValue('1');
  await expect(page.getByTestId('recipe-backend')).toHaveValue('cpu');
  await expect(start).toBeEnabled();
  // Said so, with the way back to the defaults.
  await expect(page.getByTestId('recipe-origin')).toContainText('last run started in this project');
  await page.getByTestId('recipe-reset').click();
  await expect(page.getByTestId('recipe-img-size')).toHaveValue('80');
  await expect(page.getByTestId('recipe-sizing')).toBeVisible();
  await expect(page.getByTestId('recipe-backend')).toHaveValue('auto');
});
