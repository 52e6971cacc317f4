/**
 * Journey: a project with a (tiny) pretrained run; probe it against random init in the Evaluate
 * tab, read the scores and confusion matrix, then export it as ONNX with its model card.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, tinyPretrainedProject } from './fixtures';

test('probes a pretrained run against random init and exports it with a model card', async ({
  page,
  studio,
  folders,
}) => {
  test.setTimeout(180_000);
  tinyPretrainedProject(studio.workspace, folders.sample.dir);

  await page.goto(studio.url);
  await page.getByTestId('project-item').filter({ hasText: 'Cells' }).click();
  await page.getByTestId('evaluate-tab').click();
  await expect(page.getByTestId('evaluate-source')).toContainText('Pretrain #1');

  // The encoder block: best on the training split by default, or any of the model's blocks.
  await expect(page.getByTestId('probe-block').locator('option')).toHaveText(['Best', 'Block 1 (last)']);
  await page.getByRole('radio', { name: 'kNN' }).click();
  await page.getByTestId('run-probe').click();
  const result = page.getByTestId('evaluation-result');
  await expect(result.getByTestId('accuracy')).toHaveText(/^\d+\.\d%$/, { timeout: 60_000 });
  await expect(result.getByTestId('baseline-accuracy')).toHaveText(/^\d+\.\d%$/);
  await expect(result.getByTestId('raw-pixels-accuracy')).toHaveText(/^\d+\.\d%$/);
  // Every accuracy with its 95% interval and n; both gains with theirs; the small classes warned about.
  for (const id of ['accuracy-interval', 'baseline-accuracy-interval', 'raw-pixels-accuracy-interval']) {
    await expect(result.getByTestId(id)).toHaveText(/^95% CI \d+\.\d–\d+\.\d% · n = \d+$/);
  }
  await expect(result.getByTestId('gain')).toHaveCount(2);
  await expect(result.getByTestId('gain').first()).toContainText(
    /points over random init\s*95% CI [+−]\d+\.\d to [+−]\d+\.\d/,
  );
  await expect(result.getByTestId('probe-warnings')).toContainText(
    /validation images?; accuracy per class is unreliable below ~10/,
  );
  await expect(result.getByRole('heading', { name: /kNN \(k = \d+\)/ })).toBeVisible();
  await page.screenshot({ path: test.info().outputPath('evaluate-probe.png'), fullPage: true });
  const matrix = result.getByTestId('confusion-matrix');
  for (const label of folders.sample.labels) await expect(matrix.getByRole('rowheader', { name: label })).toBeVisible();
  await expect(result.getByTestId('class-scores').locator('tbody tr')).toHaveCount(folders.sample.labels.length);

  await page.getByTestId('open-export').click();
  await expect(page.getByTestId('model-card-preview')).toContainText('## Input normalisation');
  await expect(page.getByTestId('model-card-preview')).toContainText('kNN');
  await page.getByText('ONNX', { exact: true }).click();
  await expect(page.getByTestId('export-destination')).toHaveValue(/exports[/\\]run-1-onnx$/);
  await expect(page.getByTestId('model-card-preview')).toContainText('as **onnx**');
  const destination = await page.getByTestId('export-destination').inputValue();
  await page.getByTestId('export-submit').click();
  await expect(page.getByTestId('export-done')).toContainText('model.onnx');
  expect(fs.readdirSync(destination).sort()).toEqual(['MODEL_CARD.md', 'model.onnx', 'model_card.json']);
  expect(fs.readFileSync(path.join(destination, 'MODEL_CARD.md'), 'utf8')).not.toContain(folders.sample.dir);
});
