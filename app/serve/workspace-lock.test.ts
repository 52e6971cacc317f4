/** One serve per workspace, and the opt-in stable token kept 0600. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stableToken } from './stable-token';
import { acquireServeLock } from './workspace-lock';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-lock-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('acquireServeLock', () => {
  it('refuses a second serve on the same workspace, naming the first and its address', () => {
    const first = acquireServeLock(dir);
    first.update('http://127.0.0.1:5174/');
    expect(fs.statSync(first.file).mode & 0o777).toBe(0o600);
    expect(() => acquireServeLock(dir)).toThrow(`another mae-studio serve (pid ${process.pid}`);
    expect(() => acquireServeLock(dir)).toThrow('at http://127.0.0.1:5174/');
    first.release();
    expect(fs.existsSync(first.file)).toBe(false);
    acquireServeLock(dir).release();
  });

  it('takes over a lock left by a process that died', () => {
    fs.writeFileSync(
      path.join(dir, 'serve.lock'),
      JSON.stringify({ pid: 999_999, hostname: os.hostname(), address: null, startedAt: 'then' }),
    );
    const lock = acquireServeLock(dir, () => false);
    expect(JSON.parse(fs.readFileSync(lock.file, 'utf8')).pid).toBe(process.pid);
    lock.release();
  });
});

describe('stableToken', () => {
  it('keeps one token per workspace in a 0600 file, and refuses a file others can read', () => {
    const token = stableToken(dir);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(stableToken(dir)).toBe(token);
    const file = path.join(dir, 'serve-token');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.chmodSync(file, 0o644);
    expect(() => stableToken(dir)).toThrow('readable by other users');
  });
});
