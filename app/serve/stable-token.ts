/**
 * An opt-in stable serve token per workspace (`serve --stable-token`): kept in
 * `<workspace>/serve-token` with mode 0600, so a restarted server keeps the same link and open
 * pages reconnect by themselves. Refused when the file is readable by others.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../contract';
import { newToken } from './auth';

/** The workspace's stable token, created on first use. */
export function stableToken(workspace: string): string {
  const file = path.join(workspace, 'serve-token');
  fs.mkdirSync(workspace, { recursive: true });
  try {
    fs.writeFileSync(file, newToken() + '\n', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const mode = fs.statSync(file).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new StudioError(
      'CONFLICT',
      `${file} is readable by other users (mode ${mode.toString(8)}): ` +
        `run chmod 600 on it, or delete it for a new token`,
      { file },
    );
  }
  const token = fs.readFileSync(file, 'utf8').trim();
  if (!/^[A-Za-z0-9_-]{32,}$/.test(token))
    throw new StudioError('INVALID_ARGUMENT', `${file} does not hold a token: delete it for a new one`, { file });
  return token;
}
