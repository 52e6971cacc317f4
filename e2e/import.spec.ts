/** Journey: create a project, import a folder of images plus broken files, browse the result. */
import { expect, test } from './fixtures';

test('imports the sample and reports broken files with their reasons', async ({ page, studio, folders }) => {
  await page.goto(studio.url);

  await page.getByTestId('new-project').click();
  await page.getByTestId('project-name').fill('Cells');
  await page.getByTestId('project-domain').selectOption('microscopy');
  await page.getByTestId('create-project').click();
  await expect(page.getByTestId('project-item').filter({ hasText: 'Cells' })).toBeVisible();

  await page.getByTestId('import-button').click();
  // The dialog lists the home folder first and the path field follows it; typing before that lands
  // puts the text after the home path (seen on a loaded machine: "/root" + "/tmp/…/sample").
  await expect(page.getByTestId('folder-path')).not.toHaveValue('');
  for (const [index, folder] of [folders.sample.dir, folders.broken].entries()) {
    await page.getByTestId('folder-path').fill(folder);
    await page.getByTestId('add-folder').click();
    await expect(page.getByTestId('queued-folder')).toHaveCount(index + 1);
    await expect(page.getByTestId('queued-folder').nth(index)).toContainText(folder);
  }
  await page.getByTestId('start-import').click();

  await expect(page.getByTestId('import-summary')).toBeVisible();
  // Every file seen is counted once: imported, unchanged, duplicate or failed.
  await expect(page.getByTestId('summary-files')).toHaveText(String(folders.sample.files + 2));
  await expect(page.getByTestId('summary-imported')).toHaveText(String(folders.sample.files));
  await expect(page.getByTestId('summary-failed')).toHaveText('2');
  await expect(page.getByTestId('image-count')).toHaveText(String(folders.sample.files));
  for (const label of folders.sample.labels) {
    await expect(page.getByTestId('label-filter').and(page.locator(`[data-label="${label}"]`))).toBeVisible();
  }
  await expect(page.getByTestId('image-tile').first()).toBeVisible();

  await page.getByTestId('failures-tab').click();
  const failures = page.getByTestId('failure-item');
  await expect(failures).toHaveCount(2);
  await expect(failures.filter({ hasText: 'empty.png' })).toContainText(/empty|0 bytes/i);
  await expect(failures.filter({ hasText: 'corrupt.png' })).toContainText(/corrupt|truncated|invalid|not a valid/i);
});

test('refuses a page load without the token', async ({ page, studio, pageErrors }) => {
  const response = await page.goto(new URL(studio.url).origin + '/');
  expect(response?.status()).toBe(401);
  await expect(page.locator('body')).toContainText('token');
  // The refusal itself is what the browser logs (for the page and its favicon), nothing else.
  await page.waitForLoadState('networkidle'); // the favicon request, refused too, has come back
  const refused = pageErrors.take(/status of 401 \(Unauthorized\)/);
  expect(refused.length).toBeGreaterThanOrEqual(1);
  expect(refused.every((error) => error.includes(new URL(studio.url).origin))).toBe(true);
});
