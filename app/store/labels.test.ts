/**
 * Labels changed by hand: overrides of the folder label that every reader sees, survive a
 * re-import, are kept in a history (who, when, old, new) and undo exactly, newest first.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CurationStore } from './curation';
import { openDatabase, type Db } from './database';
import { ImageStore, type NewImage } from './images';
import { LabelStore } from './labels';
import { ProjectStore } from './projects';

let dir: string;
let db: Db;
let images: ImageStore;
let labels: LabelStore;
let curation: CurationStore;
let projectId: number;
let ids: number[];

function rows(folder: string, count: number): NewImage[] {
  return Array.from({ length: count }, (_, i) => ({
    projectId,
    path: `/data/${folder}/img-${i}.png`,
    sha256: `${folder}${i}`,
    sizeBytes: 100,
    mtimeMs: 1,
    width: 64,
    height: 64,
    channels: 1,
    bitDepth: 8,
    format: 'png',
    label: folder,
    error: null,
    stats: [{ mean: 0, std: 1, min: 0, max: 1 }],
    thumbnail: null,
    duplicateOf: null,
  }));
}

const labelOf = (id: number) => images.get(id).label;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-labels-'));
  db = openDatabase(dir);
  images = new ImageStore(db);
  labels = new LabelStore(db);
  curation = new CurationStore(db);
  projectId = new ProjectStore(db).create('p', 'general').id;
  ids = images.insertMany([...rows('cat', 3), ...rows('dog', 3)]);
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('label overrides', () => {
  it('every reader sees the new label; the folder label stays beside it', () => {
    const { changed, change } = labels.set(projectId, { imageIds: [ids[0]!, ids[1]!] }, 'dog', 'ana');
    expect(changed).toBe(2);
    expect(change).toMatchObject({
      label: 'dog',
      actor: 'ana',
      images: 2,
      previous: [{ label: 'cat', count: 2 }],
      undoneAt: null,
    });
    expect(images.get(ids[0]!)).toMatchObject({ label: 'dog', folderLabel: 'cat', relabelled: true });
    expect(images.get(ids[2]!)).toMatchObject({ label: 'cat', folderLabel: 'cat', relabelled: false });
    expect(images.labels(projectId)).toEqual([
      { label: 'cat', count: 1 },
      { label: 'dog', count: 5 },
    ]);
    expect(images.list({ projectId, offset: 0, limit: 10, sort: 'path', status: 'ok', label: 'dog' }).total).toBe(5);
    expect(curation.health(projectId).labels.map((row) => [row.label, row.count])).toEqual([
      ['dog', 5],
      ['cat', 1],
    ]);
    expect(curation.health(projectId).relabelled).toBe(2);
    expect(curation.keptImages(projectId).filter((row) => row.label === 'dog')).toHaveLength(5);
    expect(images.usableCounts(projectId)).toEqual([
      { channels: 1, label: 'cat', count: 1 },
      { channels: 1, label: 'dog', count: 5 },
    ]);
    expect(images.sources([ids[1]!])[0]!.label).toBe('dog');
    expect(images.usable(projectId, 'id').find((row) => row.id === ids[1])!.label).toBe('dog');
  });

  it('keeps overrides when the folder is imported again', () => {
    labels.set(projectId, { imageIds: [ids[0]!] }, 'dog', 'ana');
    images.insertMany(rows('cat', 3));
    expect(labelOf(ids[0]!)).toBe('dog');
  });

  it('clears a label with null, and drops the override when set back to the folder label', () => {
    labels.set(projectId, { folder: '/data/cat' }, null, 'ana');
    expect(images.labels(projectId)).toEqual([
      { label: null, count: 3 },
      { label: 'dog', count: 3 },
    ]);
    labels.set(projectId, { imageIds: [ids[0]!] }, 'cat', 'ana');
    expect(images.get(ids[0]!)).toMatchObject({ label: 'cat', relabelled: false });
    expect(labels.overrides(projectId)).toBe(2);
  });

  it('counts only images whose label changes, and records nothing when none does', () => {
    expect(labels.set(projectId, { imageIds: [ids[0]!, ids[3]!] }, 'dog', 'ana').changed).toBe(1);
    expect(labels.set(projectId, { imageIds: [ids[3]!] }, 'dog', 'ana')).toEqual({ changed: 0, change: null });
    expect(labels.history(projectId)).toHaveLength(1);
  });

  it('undoes changes newest first, back to the folder labels', () => {
    labels.set(projectId, { imageIds: [ids[0]!, ids[1]!] }, 'dog', 'ana');
    labels.set(projectId, { imageIds: [ids[0]!, ids[3]!] }, 'bird', 'ben');
    expect([labelOf(ids[0]!), labelOf(ids[1]!), labelOf(ids[3]!)]).toEqual(['bird', 'dog', 'bird']);
    expect(labels.history(projectId, { imageId: ids[3]! }).map((change) => change.label)).toEqual(['bird']);

    expect(labels.undo(projectId)).toMatchObject({
      label: 'bird',
      actor: 'ben',
      previous: [{ label: 'dog', count: 2 }],
    });
    expect([labelOf(ids[0]!), labelOf(ids[1]!), labelOf(ids[3]!)]).toEqual(['dog', 'dog', 'dog']);
    expect(images.get(ids[0]!).relabelled).toBe(true);
    expect(images.get(ids[3]!).relabelled).toBe(false); // dog is its folder's label

    expect(labels.undo(projectId)?.label).toBe('dog');
    expect(ids.map(labelOf)).toEqual(['cat', 'cat', 'cat', 'dog', 'dog', 'dog']);
    expect(labels.overrides(projectId)).toBe(0);
    expect(labels.undo(projectId)).toBeNull();
    expect(labels.history(projectId).map((change) => [change.label, change.undoneAt !== null])).toEqual([
      ['bird', true],
      ['dog', true],
    ]);
  });

  it('refuses a selection that names no images', () => {
    expect(() => labels.set(projectId, {}, 'dog', 'ana')).toThrow('select images by imageIds or folder');
  });
});
