import { describe, expect, it } from 'vitest';
import { StudioError } from '$contract';
import { errorMessage } from './errors';
import { baseName, formatBytes, formatDuration, plural } from './format';
import { runName } from './run-format';

describe('format', () => {
  it('names the last segment of POSIX and Windows paths', () => {
    expect(baseName('/data/slides/a.tif')).toBe('a.tif');
    expect(baseName('C:\\scans\\b.png')).toBe('b.png');
  });

  it('writes sizes in decimal units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(43_800)).toMatch(/^43\.8 kB$/);
    expect(formatBytes(null)).toBe('—');
  });

  it('writes one of a thing in the singular and every other count in the plural', () => {
    expect(plural(1, 'channel')).toBe('1 channel');
    expect(plural(3, 'channel')).toBe('3 channels');
    expect(plural(0, 'image')).toBe('0 images');
    expect(plural(1, 'class', 'classes')).toBe('1 class');
  });

  it('names a run by its kind and its number within the project, not its id', () => {
    expect(runName({ kind: 'pretrain', number: 3 })).toBe('Pretrain #3');
    expect(runName({ kind: 'finetune', number: 1 })).toBe('Fine-tune #1');
  });

  it('writes durations for people, and a dash while unknown', () => {
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(80)).toBe('1 min 20 s');
    expect(formatDuration(null)).toBe('—');
  });
});

describe('errorMessage', () => {
  it('shows a validation issue without the channel prefix in forms', () => {
    const error = new StudioError('INVALID_ARGUMENT', 'projects.create: argument 0.name: a project needs a name', {
      issues: [{ path: ['0', 'name'], message: 'a project needs a name' }],
    });
    expect(errorMessage(error, true)).toBe('a project needs a name');
    expect(errorMessage(error)).toBe('projects.create: argument 0.name: a project needs a name');
  });
});
