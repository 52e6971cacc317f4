/**
 * Every method of the contract, called with hostile arguments — wrong types, huge strings,
 * deep nesting, paths outside the workspace, prototype keys — answers with a typed error (never
 * an unexpected INTERNAL one, never a crash), and the workspace's data survives the barrage.
 * New methods are covered as soon as they join the contract.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, ERROR_CODES, methodSpec, type Reply } from './contract';
import { createDispatcher, type Dispatch } from './rpc';
import { Studio } from './studio';

let dir: string;
let studio: Studio;
let dispatch: Dispatch;
const internal: unknown[] = [];

/** Values that are wrong for (nearly) every parameter. */
function hostileValues(): unknown[] {
  let deep: unknown = 'bottom';
  for (let i = 0; i < 2000; i++) deep = { next: deep };
  return [
    undefined,
    null,
    true,
    -1,
    0,
    1.5,
    Number.MAX_SAFE_INTEGER,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -0,
    '',
    ' ',
    'x'.repeat(1_000_000),
    '../../../../etc/passwd',
    '/etc/shadow',
    'C:\\Windows\\System32',
    '\u0000',
    '%00',
    '\ud800',
    [],
    [[[]]],
    {},
    { __proto__: { admin: true } },
    JSON.parse('{"__proto__": {"polluted": 1}}'),
    { constructor: { prototype: { polluted: 1 } } },
    deep,
    new Array(100_000).fill(7),
    { projectId: -5, offset: -1, limit: 1e9, sort: 'DROP TABLE images' },
    { name: 'x'.repeat(10_000), domain: 'not-a-domain' },
    { projectId: 1, search: "' OR 1=1 --" },
  ];
}

/** Argument lists for a method: each hostile value alone, in each position, and malformed lists. */
function hostileArguments(arity: number): unknown[] {
  const values = hostileValues();
  const lists: unknown[] = ['not an array', 42, null, { 0: 1, length: 1 }, new Array(50).fill(null)];
  for (const value of values) {
    lists.push([value]);
    for (let position = 1; position < Math.max(arity, 2); position++)
      lists.push([1, ...Array(position - 1).fill(1), value]);
  }
  return lists;
}

function expectTyped(reply: Reply, channel: string): void {
  expect(typeof reply.ok, channel).toBe('boolean');
  if (!reply.ok) {
    expect(ERROR_CODES, `${channel}: ${JSON.stringify(reply.error).slice(0, 300)}`).toContain(reply.error.code);
    expect(reply.error.code, `${channel}: ${reply.error.message.slice(0, 300)}`).not.toBe('INTERNAL');
    expect(reply.error.message.length, channel).toBeLessThan(5000); // a huge argument is not echoed back whole
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-fuzz-'));
  studio = new Studio(path.join(dir, 'workspace'));
  await studio.services.projects.create({ name: 'Keep me', domain: 'medical' });
  dispatch = createDispatcher(studio.services, (error) => internal.push(error));
});
afterAll(async () => {
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the contract under hostile calls', () => {
  it('answers every method and every malformed argument list with a typed error or a value', async () => {
    // Methods that would act on the machine rather than the workspace are still validated, but a
    // dialog cannot open here; destructive ones run last so the others see the project.
    const order = [...CHANNELS].sort((a, b) => Number(/remove|delete/.test(a)) - Number(/remove|delete/.test(b)));
    let calls = 0;
    for (const channel of order) {
      const arity = (methodSpec(channel)!.args.def.items as unknown[]).length;
      for (const args of hostileArguments(arity)) {
        // keep project 1 to check below
        if (/remove|delete/.test(channel) && Array.isArray(args) && args[0] === 1) continue;
        const reply = await dispatch(channel, args);
        calls++;
        expectTyped(reply, channel);
      }
    }
    expect(internal).toEqual([]);
    expect(calls).toBeGreaterThan(CHANNELS.length * 30);
  }, 120_000);

  it('refuses unknown and prototype channels by name', async () => {
    for (const channel of [
      'nope',
      'projects',
      'projects.__proto__',
      'constructor.prototype',
      '__proto__.toString',
      'projects.list.extra',
      '',
      'x'.repeat(100_000),
    ]) {
      const reply = await dispatch(channel, []);
      expect(reply).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
      expect((reply as { error: { message: string } }).error.message.length).toBeLessThan(300);
    }
  });

  it('leaves stored data intact and the prototype unpolluted', async () => {
    // Project 1 was never deleted; renames to odd but valid text are allowed, mangled text is not.
    const projects = await studio.services.projects.list();
    const kept = projects.find((p) => p.id === 1);
    expect(kept).toBeDefined();
    expect(kept!.name.isWellFormed() && !kept!.name.includes('\ufffd') && !kept!.name.includes('\u0000')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});
