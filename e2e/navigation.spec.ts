/** Journey: never lose your place — the address holds project and tab; serve restarts are explained. */
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { CLI, cli, expect, test } from './fixtures';

test('reload and back/forward return to the project and tab', async ({ page, studio }) => {
  const { project: first } = cli<{ project: { id: number } }>(
    'init',
    '--workspace',
    studio.workspace,
    '--name',
    'First',
  );
  const { project: second } = cli<{ project: { id: number } }>(
    'init',
    '--workspace',
    studio.workspace,
    '--name',
    'Second',
  );
  await page.goto(studio.url);

  await page.getByTestId('project-item').filter({ hasText: 'First' }).click();
  await page.getByTestId('curation-tab').click();
  await expect(page).toHaveURL(new RegExp(`#/project/${first.id}/curation$`));
  await page.getByTestId('project-item').filter({ hasText: 'Second' }).click();
  await page.getByTestId('training-tab').click();
  await expect(page).toHaveURL(new RegExp(`#/project/${second.id}/training$`));

  await page.reload();
  await expect(page.getByTestId('project-title')).toHaveText('Second');
  await expect(page.getByTestId('training-tab')).toHaveAttribute('aria-selected', 'true');

  await page.goBack();
  await expect(page.getByTestId('project-title')).toHaveText('Second');
  await expect(page.getByRole('tab', { name: 'Images' })).toHaveAttribute('aria-selected', 'true');
  await page.goBack();
  await expect(page.getByTestId('project-title')).toHaveText('First');
  await expect(page.getByTestId('curation-tab')).toHaveAttribute('aria-selected', 'true');
  await page.goForward();
  await expect(page.getByTestId('project-title')).toHaveText('Second');
});

test('a second serve on the same workspace is refused, naming the first', async ({ studio }) => {
  const second = spawnSync(process.execPath, [CLI, 'serve', '--workspace', studio.workspace, '--port', '0'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(second.status).toBe(1);
  expect(second.stderr).toContain(`another mae-studio serve (pid ${studio.process.pid}`);
  expect(second.stderr).toContain(new URL(studio.url).origin);
});

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts serve on a fixed port and resolves with its URL. */
function serveOn(workspace: string, port: number) {
  const child = spawn(process.execPath, [CLI, 'serve', '--workspace', workspace, '--port', String(port), '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      if (buffer.includes('\n')) resolve((JSON.parse(buffer.split('\n')[0]!) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  return { child, url };
}

test('an open page says when serve restarted with a new link', async ({ browser, folders }) => {
  const workspace = `${folders.broken}-restart-ws`;
  const port = await freePort();
  const first = serveOn(workspace, port);
  // A page of its own: the failed reconnects it shows are expected here, not errors of the app.
  const page = await browser.newPage();
  await page.goto(await first.url);
  await expect(page.getByRole('button', { name: 'Create a project' })).toBeVisible();
  first.child.kill('SIGTERM');
  await new Promise((resolve) => first.child.once('exit', resolve));
  const second = serveOn(workspace, port);
  await second.url;
  await expect(page.getByTestId('server-restarted')).toContainText('restarted with a new link', { timeout: 30_000 });
  second.child.kill('SIGTERM');
  await new Promise((resolve) => second.child.once('exit', resolve));
  await page.close();
});
