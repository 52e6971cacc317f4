/**
 * Journey: preview masks on the sample, start a tiny run, watch its loss curve and
 * reconstructions appear, pause, resume, finish, and find it in the run history.
 * And: a training process killed with SIGKILL leaves the run interrupted; Resume finishes it
 * from the last checkpoint with the loss curve continuing.
 */
import { execFileSync } from 'node:child_process';
import type { Page } from '@playwright/test';
import { cli, expect, test, type Served } from './fixtures';

// Training on 2 shared cores: a run, a pause and a resume take longer than an import journey.
test.describe.configure({ timeout: 240_000 });

/** A model small enough to train in seconds on 2 cores (the cpu backend, like CI). */
async function startTinyRun(page: Page, epochs: number): Promise<void> {
  await page.getByTestId('new-run').click();
  await page.getByTestId('recipe-img-size').fill('32');
  await page.getByTestId('recipe-patch-size').fill('8');
  await page.getByTestId('recipe-depth').fill('1');
  await page.getByTestId('recipe-decoder').fill('32x1');
  await page.getByTestId('recipe-batch').fill('4');
  await page.getByTestId('recipe-epochs').fill(String(epochs));
  await page.getByTestId('recipe-blr').fill('0.005');
  await page.getByTestId('recipe-backend').selectOption('cpu');
  await expect(page.getByTestId('recipe-summary')).toContainText(`${epochs * 9} steps (9 per epoch)`);
  // The default rule floors the paper's 0.005 × 4 / 256 at 3e-4, and says so.
  await expect(page.getByTestId('recipe-lr')).toHaveText(
    'lr 3e-4 (rule: floor, max(blr × batch / 256, 3e-4), blr 5e-3, batch 4)',
  );
}

async function openProject(page: Page, studio: Served, sample: string): Promise<void> {
  const { project } = cli<{ project: { id: number } }>(
    'init',
    '--workspace',
    studio.workspace,
    '--name',
    'Cells',
    '--domain',
    'microscopy',
  );
  cli('import', '--workspace', studio.workspace, '--project', String(project.id), sample);
  await page.goto(studio.url);
  await page.getByTestId('training-tab').click();
}

async function currentStep(page: Page): Promise<number> {
  const text = (await page.getByTestId('run-step').textContent()) ?? '';
  return Number(/Step\s+(\d+)/.exec(text)?.[1] ?? 0);
}

test('previews masks, trains a tiny run live with pause and resume, and lists it in history', async ({
  page,
  studio,
  folders,
}) => {
  await openProject(page, studio, folders.sample.dir);

  // Mask preview: the engine's masking at 75% of a 5×5 grid — where a new run of this project
  // starts (its 64–96 px images at 80 px, patch 16) — then other settings.
  await expect(page.getByTestId('preview-img-size')).toHaveValue('80');
  await expect(page.getByTestId('mask-summary')).toHaveText('19 of 25 hidden');
  await expect(page.getByTestId('visible-count')).toHaveText('6');
  await page.getByTestId('strategy-block').click();
  await page.getByTestId('reroll').click();
  await expect(page.getByTestId('mask-summary')).toHaveText('19 of 25 hidden');
  await page.getByTestId('mask-ratio').fill('0.5');
  await expect(page.getByTestId('mask-summary')).toHaveText('12 of 25 hidden');
  await page.getByTestId('preview-img-size').selectOption('224');
  await expect(page.getByTestId('mask-summary')).toHaveText('98 of 196 hidden');
  await page.getByTestId('preview-image').nth(2).click();
  await expect(page.getByTestId('preview-image').nth(2)).toHaveAttribute('aria-selected', 'true');

  // New run: the core names a bad field; the warm-up measures the time per epoch.
  await startTinyRun(page, 2);
  await page.getByTestId('recipe-mask-ratio').fill('1.2');
  await expect(page.getByTestId('field-error')).toContainText(
    'Mask ratio must be between 0 and 1, not including either (the paper uses 0.75); got 1.2',
  );
  await expect(page.getByTestId('start-run')).toBeDisabled();
  await page.getByTestId('recipe-mask-ratio').fill('0.75');
  await expect(page.getByTestId('start-run')).toBeEnabled();
  await page.getByTestId('measure').click();
  await expect(page.getByTestId('epoch-time')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('estimate')).toContainText('cpu');
  await page.getByTestId('start-run').click();

  // Live: the loss curve and a reconstruction grid appear.
  const dashboard = page.getByTestId('run-dashboard');
  await expect(dashboard).toBeVisible();
  await expect(page.getByTestId('loss-chart')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('reconstruction')).toBeVisible();
  await expect.poll(() => currentStep(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);

  await page.getByTestId('pause-run').click();
  await expect(dashboard.getByTestId('run-status')).toHaveAttribute('data-status', 'paused', { timeout: 30_000 });
  const pausedAt = await currentStep(page);
  expect(pausedAt).toBeLessThan(18);
  await page.getByTestId('resume-run').click();
  await expect(dashboard.getByTestId('run-status')).toHaveAttribute('data-status', 'completed', { timeout: 90_000 });
  await expect(page.getByTestId('run-step')).toContainText('18 / 18');
  await expect(page.getByTestId('loss-chart')).toHaveAttribute('data-points', '18');
  await expect(page.getByTestId('recon-step')).toHaveText('step 18');

  const item = page.getByTestId('run-item').first();
  await expect(item.getByTestId('run-status')).toHaveAttribute('data-status', 'completed');
  await expect(item).toContainText('18/18 steps');
  await expect(item).toContainText('ViT 192d×1 · 32 px / 8 · dec 32×1');
});

test('a training process killed with SIGKILL leaves the run interrupted, and Resume finishes it', async ({
  page,
  studio,
  folders,
}) => {
  await openProject(page, studio, folders.sample.dir);
  await startTinyRun(page, 2);
  await page.getByTestId('start-run').click();
  const dashboard = page.getByTestId('run-dashboard');
  // The first checkpoint is written after epoch 1 (step 9): kill after it.
  await expect.poll(() => currentStep(page), { timeout: 90_000 }).toBeGreaterThanOrEqual(11);

  const children = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(studio.process.pid)], { encoding: 'utf8' });
  const worker = children.split('\n').find((line) => line.includes('train-worker.js'));
  expect(worker, children).toBeTruthy();
  process.kill(Number(worker!.trim().split(/\s+/)[0]), 'SIGKILL');

  await expect(dashboard.getByTestId('run-status')).toHaveAttribute('data-status', 'interrupted', { timeout: 20_000 });
  await expect(page.getByTestId('run-error')).toContainText('The training process was killed (SIGKILL)');
  await expect(page.getByTestId('run-error')).toContainText('Resume continues from the checkpoint at step 9');

  await page.getByTestId('resume-run').click();
  await expect(dashboard.getByTestId('run-status')).toHaveAttribute('data-status', 'completed', { timeout: 90_000 });
  // One point per step, 1..18: the curve continued from the checkpoint without gaps or repeats.
  await expect(page.getByTestId('loss-chart')).toHaveAttribute('data-points', '18');
  await expect(page.getByTestId('run-item').first()).toContainText('18/18 steps');
});
