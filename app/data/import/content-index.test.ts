import { describe, expect, it } from 'vitest';
import { ContentIndex } from './content-index';

describe('ContentIndex', () => {
  it('makes the earlier file in walk order the original, whichever hashes first', async () => {
    const index = new ContentIndex(new Map());
    // File 1 hashes first but must wait for file 0's turn.
    const later = index.claimInOrder('same', '/b.png', 1);
    const earlier = await index.claimInOrder('same', '/a.png', 0);
    expect(earlier.first).toBe(true);
    const claim = await later;
    expect(claim.first).toBe(false);
    if (earlier.first) earlier.settle(true);
    if (!claim.first) expect(await claim.original).toBe('/a.png');
  });

  it('points at an image already in the project, but never at the file itself', async () => {
    const index = new ContentIndex(new Map([['hash', { path: '/old.png' }]]));
    const copy = index.claim('hash', '/new.png');
    expect(copy.first).toBe(false);
    if (!copy.first) expect(await copy.original).toBe('/old.png');
    expect(index.claim('hash', '/old.png').first).toBe(true);
  });

  it('hands the content to the next copy when the first one fails to decode', async () => {
    const index = new ContentIndex(new Map());
    const first = index.claim('hash', '/a.png');
    const second = index.claim('hash', '/b.png');
    if (first.first) first.settle(false);
    if (!second.first) expect(await second.original).toBeNull();
    expect(index.claim('hash', '/b.png').first).toBe(true);
  });

  it('lets later files go once earlier ones pass without claiming', async () => {
    const index = new ContentIndex(new Map());
    const third = index.claimInOrder('c', '/c.png', 2);
    index.pass(1);
    index.pass(0);
    expect((await third).first).toBe(true);
  });
});
