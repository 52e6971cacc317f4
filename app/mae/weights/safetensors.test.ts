import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors } from './safetensors';

const directories: string[] = [];
afterAll(async () => Promise.all(directories.map((d) => rm(d, { recursive: true, force: true }))));

describe('checkpoint files', () => {
  it('round-trips tensors and metadata in the safetensors layout', () => {
    const tensors = new Map([
      ['model.a', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      ['model.b', { shape: [1], data: Float32Array.from([-0.5]) }],
    ]);
    const bytes = encodeSafetensors(tensors, { studio: '{"step":3}' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const decoded = decodeSafetensors(bytes);
    expect(decoded.metadata.studio).toBe('{"step":3}');
    expect(decoded.tensors.get('model.a')).toEqual(tensors.get('model.a'));
    expect(decoded.tensors.get('model.b')).toEqual(tensors.get('model.b'));
  });

  it('writes atomically, leaving no temporary file', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'mae-ckpt-'));
    directories.push(directory);
    const path = join(directory, 'last.safetensors');
    await writeSafetensors(path, new Map([['x', { shape: [1], data: Float32Array.from([1]) }]]), {});
    await writeSafetensors(path, new Map([['x', { shape: [1], data: Float32Array.from([2]) }]]), {});
    expect(await readdir(directory)).toEqual(['last.safetensors']);
    expect((await readSafetensors(path)).tensors.get('x')!.data[0]).toBe(2);
  });

  it('rejects a truncated file', () => {
    const bytes = encodeSafetensors(new Map([['x', { shape: [4], data: new Float32Array(4) }]]), {});
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4))).toThrow('runs past the end');
  });
});
