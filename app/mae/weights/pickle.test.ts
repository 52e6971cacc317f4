import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PickleError, type PickleGlobal, PickleObject, readPickle, type PickleHooks } from './pickle';

const hooks: PickleHooks = {
  persistentLoad: (id) => ({ storage: id }),
  call: (callable) => (callable.qualifiedName === 'collections.OrderedDict' ? new Map() : undefined),
};

/** Bytes of a protocol-2 pickle written by hand. */
function pickle(...parts: (string | number[])[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => (typeof part === 'string' ? [...Buffer.from(part, 'latin1')] : part)));
}

describe('readPickle', () => {
  it('turns a call of os.system into an inert record instead of running it', () => {
    const marker = path.join(os.tmpdir(), `mae-pickle-${process.pid}`);
    // os.system("touch <marker>") as Python's pickle.dumps writes it
    const command = `touch ${marker}`;
    const bytes = pickle([0x80, 0x02], 'cos\nsystem\n', [0x58, command.length, 0, 0, 0], command, [0x85, 0x52, 0x2e]);
    const value = readPickle(bytes, hooks);
    expect(value).toBeInstanceOf(PickleObject);
    expect(((value as PickleObject).callable as PickleGlobal).qualifiedName).toBe('os.system');
    expect((value as PickleObject).args).toEqual([command]);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('reads dicts, lists, numbers and strings as plain data', () => {
    // {"a": [1, 2.5, True, None], "b": "x"} in protocol 2
    const bytes = pickle(
      [0x80, 0x02, 0x7d, 0x71, 0x00, 0x28],
      [0x58, 1, 0, 0, 0],
      'a',
      [0x5d, 0x28, 0x4b, 0x01, 0x47],
      [0x40, 0x04, 0, 0, 0, 0, 0, 0],
      [0x88, 0x4e, 0x65],
      [0x58, 1, 0, 0, 0],
      'b',
      [0x58, 1, 0, 0, 0],
      'x',
      [0x75, 0x2e],
    );
    expect(readPickle(bytes, hooks)).toEqual(
      new Map<unknown, unknown>([
        ['a', [1, 2.5, true, null]],
        ['b', 'x'],
      ]),
    );
  });

  it('stops at a truncated stream or an unknown opcode, naming the byte', () => {
    expect(() => readPickle(pickle([0x80, 0x02, 0x58, 9, 0, 0, 0], 'ab'), hooks)).toThrow(PickleError);
    expect(() => readPickle(pickle([0x80, 0x02, 0xff]), hooks)).toThrow(/opcode 0xff at byte 2/);
  });
});
