import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type Dispatch } from './rpc';
import { Studio } from './studio';

let dir: string;
let studio: Studio;
let dispatch: Dispatch;
let logged: unknown[];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-rpc-'));
  studio = new Studio(dir);
  logged = [];
  dispatch = createDispatcher(studio.services, (error) => logged.push(error));
});
afterAll(async () => {
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('dispatcher', () => {
  it('runs a valid call and fills in defaults', async () => {
    const reply = await dispatch('projects.create', [{ name: '  Chest CT  ' }]);
    expect(reply).toMatchObject({ ok: true, value: { name: 'Chest CT', domain: 'general', imageCount: 0 } });
  });

  it('answers an unknown method with UNKNOWN_METHOD', async () => {
    expect(await dispatch('projects.drop', [])).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    expect(await dispatch('__proto__.constructor', [])).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    expect(await dispatch('projects.list.extra', [])).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
  });

  it('names the argument and what was expected for a malformed call', async () => {
    const wrongType = await dispatch('projects.get', ['7']);
    expect(wrongType).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(!wrongType.ok && wrongType.error.message).toMatch(/projects\.get: argument 0: .*number/i);

    const badDomain = await dispatch('projects.create', [{ name: 'x', domain: 'astronomy' }]);
    expect(!badDomain.ok && badDomain.error.message).toMatch(/argument 0\.domain/);

    const extraKey = await dispatch('projects.create', [{ name: 'x', admin: true }]);
    expect(extraKey).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });

    const huge = await dispatch('projects.create', [{ name: 'x'.repeat(1_000_000) }]);
    expect(huge).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });

    expect(await dispatch('projects.list', { not: 'an array' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    expect(await dispatch('projects.list', ['unexpected'])).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
  });

  it('passes typed errors through and wraps unexpected ones as INTERNAL', async () => {
    expect(await dispatch('projects.get', [424242])).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'no project with id 424242' },
    });
    const broken = createDispatcher(
      {
        ...studio.services,
        projects: {
          ...studio.services.projects,
          list: () => {
            throw new TypeError('boom');
          },
        },
      },
      (error) => logged.push(error),
    );
    expect(await broken('projects.list', [])).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL', message: 'projects.list failed: boom' },
    });
    expect(logged).toHaveLength(1);
  });
});
