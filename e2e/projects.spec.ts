/** Journey: manage projects (rename, duplicate names, delete) and single images (exclude, relabel). */
import fs from 'node:fs';
import path from 'node:path';
import { cli, expect, test } from './fixtures';

test('renames a project, flags a duplicate name, and deletes it without touching the image files', async ({
  page,
  studio,
  folders,
}) => {
  const { project: cells } = cli<{ project: { id: number } }>(
    'init',
    '--workspace',
    studio.workspace,
    '--name',
    'Cells',
  );
  const { project: tissue } = cli<{ project: { id: number } }>(
    'init',
    '--workspace',
    studio.workspace,
    '--name',
    'Tissue',
  );
  cli('import', '--workspace', studio.workspace, '--project', String(tissue.id), folders.sample.dir);
  await page.goto(studio.url);

  await page.getByTestId('project-item').filter({ hasText: 'Tissue' }).click();
  await expect(page.getByTestId('project-title')).toHaveText('Tissue');
  await page.getByTestId('rename-project').click();
  await page.getByTestId('rename-project-name').fill('cells');
  await expect(page.getByTestId('duplicate-name')).toContainText('Another project is already called “Cells”');
  await expect(page.getByTestId('rename-project-save')).toBeDisabled();
  await page.getByTestId('rename-project-name').fill('Tissue sections');
  await page.getByTestId('rename-project-save').click();
  await expect(page.getByTestId('project-title')).toHaveText('Tissue sections');
  await expect(page.getByTestId('project-item').filter({ hasText: 'Tissue sections' })).toBeVisible();
  await page.getByTestId('new-project').click();
  await page.getByTestId('project-name').fill('tissue SECTIONS');
  await expect(page.getByTestId('duplicate-name')).toContainText(
    'Another project is already ' + 'called “Tissue sections”',
  );
  await expect(page.getByTestId('create-project')).toBeDisabled();
  await page.keyboard.press('Escape');

  const projectDir = path.join(studio.workspace, 'projects', String(tissue.id));
  expect(fs.existsSync(projectDir)).toBe(true);
  await page.getByTestId('delete-project').click();
  const dialog = page.getByTestId('delete-project-dialog');
  await expect(dialog).toContainText(`${folders.sample.files} image records`);
  await expect(dialog).toContainText('0 runs');
  await expect(page.getByTestId('files-stay')).toContainText('Your image files stay where they are');
  await page.getByTestId('delete-project-confirm').click();

  await expect(page.getByTestId('project-item')).toHaveCount(1);
  await expect(page.getByTestId('project-title')).toHaveText('Cells');
  expect(fs.existsSync(projectDir)).toBe(false);
  const left = fs.readdirSync(folders.sample.dir, { recursive: true }).filter((name) => String(name).endsWith('.png'));
  expect(left).toHaveLength(folders.sample.files);
  expect(cells.id).not.toBe(tissue.id);
});

test('excludes and re-includes one image, and relabels a selection', async ({ page, studio, folders }) => {
  const { project } = cli<{ project: { id: number } }>('init', '--workspace', studio.workspace, '--name', 'Cells');
  cli('import', '--workspace', studio.workspace, '--project', String(project.id), folders.sample.dir);
  await page.goto(studio.url);

  const tiles = page.getByTestId('image-tile');
  await tiles.first().click();
  await page.getByTestId('toggle-excluded').click();
  await expect(tiles.first()).toHaveAttribute('data-excluded', 'true');
  await expect(page.getByTestId('excluded-note')).toBeVisible();
  await page.getByTestId('toggle-excluded').click();
  await expect(tiles.first()).not.toHaveAttribute('data-excluded', 'true');

  await tiles.nth(1).click({ modifiers: ['ControlOrMeta'] });
  await tiles.nth(2).click({ modifiers: ['ControlOrMeta'] });
  await expect(page.getByTestId('selection-bar')).toContainText('3 selected');
  await page.getByTestId('selection-relabel').click();
  await page.getByTestId('relabel-input').fill('mitosis');
  await page.getByTestId('relabel-save').click();
  await expect(page.getByTestId('label-filter').and(page.locator('[data-label="mitosis"]'))).toContainText('3');

  await page.getByTestId('label-filter').and(page.locator('[data-label="mitosis"]')).click();
  await expect(tiles).toHaveCount(3);
  await expect(tiles.first()).toHaveAttribute('data-label', 'mitosis');
});
