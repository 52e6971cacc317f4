/** `mae-studio serve`: the studio UI in a browser on this machine. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../serve/server';
import { stableToken } from '../serve/stable-token';
import { acquireServeLock } from '../serve/workspace-lock';
import { Studio } from '../studio';
import { defaultWorkspace } from '../workspace';
import { createOutput, parseCommand, positiveInt, UsageError } from './args';

/** Where the built renderer sits beside the built CLI (`dist/cli` → `dist/renderer`). */
function rendererDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'renderer');
}

/**
 * `mae-studio serve [--workspace W] [--port P] [--host 127.0.0.1] [--stable-token]`; runs until
 * interrupted. One serve per workspace (a second is refused, naming the first); with
 * `--stable-token` the link survives restarts (token kept 0600 in the workspace).
 */
export async function serveCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('serve', argv, {
    workspace: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'stable-token': { type: 'boolean' },
  });
  const out = createOutput(values.json === true);
  const port = values.port === '0' ? 0 : (positiveInt('serve', 'port', values.port) ?? 5174);
  if (port > 65535) throw new UsageError(`serve: --port must be at most 65535, got ${port}`);
  const host = values.host ?? '127.0.0.1';
  const workspace = path.resolve(values.workspace ?? defaultWorkspace());
  const lock = acquireServeLock(workspace);
  let studio: Studio;
  try {
    studio = new Studio(workspace);
  } catch (error) {
    lock.release();
    throw error;
  }
  let served;
  try {
    const token = values['stable-token'] === true ? stableToken(workspace) : undefined;
    served = await startServer({
      studio,
      host,
      port,
      token,
      staticDir: process.env.MAE_STUDIO_RENDERER ?? rendererDir(),
    });
    lock.update(served.url.replace(/\?token=.*$/, ''));
  } catch (error) {
    await studio.close();
    lock.release();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new UsageError(`serve: port ${port} on ${host} is already in use; pick another with --port`);
    if (code === 'EADDRNOTAVAIL') throw new UsageError(`serve: cannot bind to --host ${host} on this machine`);
    throw error;
  }
  const exposed = host !== '127.0.0.1' && host !== 'localhost' && host !== '::1';
  out.result({ url: served.url, token: served.token, port: served.port, workspace: studio.workspace.root }, () =>
    [
      `MAE Studio is serving ${studio.workspace.root}`,
      `Open ${served.url}`,
      exposed ? `Warning: bound to ${host}; anyone who can reach it and has the token can use your workspace.` : '',
      'Press Ctrl+C to stop.',
    ]
      .filter(Boolean)
      .join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await served.close();
  await studio.close();
  lock.release();
}
