/**
 * One `serve` per workspace: a lock file (`serve.lock`, mode 0600) naming the serving process, so
 * a second `serve` on the same workspace is refused with where the first one is, instead of two
 * servers racing on one database and two tabs showing different truths. A lock left by a process
 * that died (same machine, pid gone) is taken over.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StudioError } from '../contract';

/** What the lock file says about the server holding it. */
export interface ServeLockInfo {
  pid: number;
  hostname: string;
  /** The server's address without its token; null while it is starting. */
  address: string | null;
  startedAt: string;
}

/** A held lock: `update` records the address once listening, `release` removes the file. */
export interface ServeLock {
  readonly file: string;
  update(address: string): void;
  release(): void;
}

/** True when a process with this pid runs on this machine. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the workspace's serve lock, or throws CONFLICT naming the server that holds it. */
export function acquireServeLock(workspace: string, isAlive: (pid: number) => boolean = alive): ServeLock {
  const file = path.join(workspace, 'serve.lock');
  fs.mkdirSync(workspace, { recursive: true });
  const info: ServeLockInfo = {
    pid: process.pid,
    hostname: os.hostname(),
    address: null,
    startedAt: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(info), { flag: 'wx', mode: 0o600 });
      return held(file, info);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readLock(file);
    const foreignHost = holder !== null && holder.hostname !== os.hostname();
    if (holder && (foreignHost || isAlive(holder.pid))) {
      const where = holder.address ? ` at ${holder.address}` : '';
      const machine = foreignHost ? ` on ${holder.hostname}` : '';
      throw new StudioError(
        'CONFLICT',
        `another mae-studio serve (pid ${holder.pid}${machine}, since ${holder.startedAt}) ` +
          `is serving ${workspace}${where}. ` +
          `Use that one (its link is printed in its terminal), or stop it first; if it is gone, delete ${file}.`,
        { lock: file, holder },
      );
    }
    fs.rmSync(file, { force: true }); // left by a process that died: take it over
  }
  throw new StudioError('CONFLICT', `could not take the serve lock ${file}`, { lock: file });
}

function readLock(file: string): ServeLockInfo | null {
  try {
    const value = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ServeLockInfo>;
    return typeof value.pid === 'number' && typeof value.hostname === 'string' ? (value as ServeLockInfo) : null;
  } catch {
    return null;
  }
}

function held(file: string, info: ServeLockInfo): ServeLock {
  return {
    file,
    update(address) {
      fs.writeFileSync(file, JSON.stringify({ ...info, address }), { mode: 0o600 });
    },
    release() {
      if (readLock(file)?.pid === info.pid) fs.rmSync(file, { force: true });
    },
  };
}
