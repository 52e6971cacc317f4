/**
 * Journey: relabel and reprobe. Relabel a selection in the grid (shown as set by hand, counted
 * in the label balance), undo it, relabel again, then re-fit the probe on its cached features
 * and read the accuracy when probed and now side by side, each with its interval.
 */
import { cli, expect, test, tinyPretrainedProject } from './fixtures';

test('relabels a selection with undo, then re-fits the probe and shows the change', async ({
  page,
  studio,
  folders,
}) => {
  test.setTimeout(180_000);
  tinyPretrainedProject(studio.workspace, folders.sample.dir, '--val-fraction', '0.25');
  cli('probe', '--workspace', studio.workspace, '--run', '1', '--method', 'linear', '--block', '1', '--backend', 'cpu');

  await page.goto(studio.url);
  await page.getByTestId('project-item').filter({ hasText: 'Cells' }).click();
  const tiles = page.getByTestId('image-tile');
  await expect(tiles.first()).toBeVisible();
  const from = (await tiles.first().getAttribute('data-label'))!;
  const to = folders.sample.labels.find((label) => label !== from)!;
  const balance = (label: string) => page.getByTestId('label-filter').and(page.locator(`[data-label="${label}"]`));
  const before = Number((await balance(to).locator('.n').textContent())!.replace(/\D/g, ''));

  const relabel = async () => {
    await tiles.nth(0).click();
    await tiles.nth(1).click({ modifiers: ['ControlOrMeta'] });
    await tiles.nth(2).click({ modifiers: ['ControlOrMeta'] });
    await expect(page.getByTestId('selection-bar')).toContainText('3 selected');
    await page.getByTestId('selection-relabel').click();
    await page.getByTestId('relabel-input').fill(to);
    await page.getByTestId('relabel-save').click();
    await expect(page.getByTestId('tile-relabelled')).toHaveCount(3);
    await expect(balance(to).locator('.n')).toHaveText(String(before + 3));
  };
  await relabel();
  await expect(page.getByTestId('tile-relabelled').first()).toHaveAttribute(
    'title',
    `Label set by hand; its folder says ${from}`,
  );
  await expect(page.getByTestId('detail-label')).toContainText(`set by hand · folder: ${from}`);
  await page.getByTestId('curation-tab').click();
  await expect(
    page
      .getByTestId('label-balance')
      .and(page.locator(`[data-label="${to}"]`))
      .locator('.n'),
  ).toHaveText(String(before + 3));
  await expect(page.getByTestId('health-relabelled')).toHaveText('3 set by hand');
  await page.getByRole('tab', { name: 'Images' }).click();

  await expect(page.getByTestId('undo-relabel')).toContainText(`Undo “${to}” on 3 images`);
  await page.getByTestId('undo-relabel').click();
  await expect(page.getByTestId('tile-relabelled')).toHaveCount(0);
  await expect(balance(to).locator('.n')).toHaveText(String(before));
  await expect(page.getByTestId('undo-relabel')).toHaveCount(0);
  await relabel();

  await page.getByTestId('evaluate-tab').click();
  const result = page.getByTestId('evaluation-result');
  const probed = (await result.getByTestId('accuracy').textContent())!;
  await result.getByTestId('reprobe').click();
  const panel = result.getByTestId('reprobe-panel');
  await expect(panel.getByTestId('reprobe-summary')).toContainText('3 probed images relabelled since the probe');
  const pretrained = panel.getByTestId('reprobe-pretrained');
  await expect(pretrained.getByTestId('before')).toHaveText(probed);
  await expect(pretrained.getByTestId('after')).toHaveText(/^\d+\.\d%$/);
  await expect(pretrained).toContainText(/95% CI \d+\.\d–\d+\.\d% · n = \d+.*95% CI \d+\.\d–\d+\.\d% · n = \d+/);
  await expect(panel.getByTestId('reprobe-random-init')).toBeVisible();
  await expect(panel.getByTestId('reprobe-raw-pixels')).toBeVisible();

  await page.getByTestId('open-export').click();
  await expect(page.getByTestId('model-card-preview')).toContainText('3 of these images carry a label set by hand');
});
