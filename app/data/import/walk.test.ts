import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkFolders, findImageFiles } from './walk';
import { temporaryFolder } from '../images.fixtures';

let folder: ReturnType<typeof temporaryFolder>;
beforeEach(() => (folder = temporaryFolder('mae-walk-')));
afterEach(() => folder.remove());

function touch(relative: string): string {
  const file = path.join(folder.dir, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '');
  return file;
}

describe('findImageFiles', () => {
  it('finds image files recursively, skipping hidden entries and other extensions', async () => {
    touch('a.PNG');
    touch('cats/b.jpg');
    touch('cats/notes.txt');
    touch('.hidden/c.png');
    touch('dogs/.d.png');
    const found = await findImageFiles([folder.dir]);
    expect(found.map((file) => [path.relative(folder.dir, file.path), file.label])).toEqual([
      ['a.PNG', null],
      [path.join('cats', 'b.jpg'), 'cats'],
    ]);
  });

  it('does not loop through a symlink to a parent folder', async () => {
    touch('set/a.png');
    fs.symlinkSync(folder.dir, path.join(folder.dir, 'set', 'loop'));
    const found = await findImageFiles([folder.dir]);
    expect(found.map((file) => path.relative(folder.dir, file.path))).toEqual([path.join('set', 'a.png')]);
  });

  it('lists a file once when folders overlap, and counts as it goes', async () => {
    touch('x/a.png');
    const counts: number[] = [];
    const found = await findImageFiles([folder.dir, path.join(folder.dir, 'x')], {
      onFound: (count) => counts.push(count),
    });
    expect(found).toHaveLength(1);
    expect(counts).toEqual([1]);
  });
});

describe('checkFolders', () => {
  it('names the folder that is missing or is a file', async () => {
    const file = touch('a.png');
    await expect(checkFolders([path.join(folder.dir, 'missing')])).rejects.toThrow(
      `${path.join(folder.dir, 'missing')} does not exist`,
    );
    await expect(checkFolders([file])).rejects.toThrow(`${file} is not a folder`);
    await expect(checkFolders([])).rejects.toThrow('no folder to import');
    expect(await checkFolders([folder.dir])).toEqual([folder.dir]);
  });
});
