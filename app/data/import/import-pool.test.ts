import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeDicom, writeTiff } from '../formats/formats.fixtures';
import { temporaryFolder, temporaryWorkspace, writeFixture, type FixtureSpec } from '../images.fixtures';
import { importFolders, importMode, type ImportOptions } from './import';

// Built from the current sources before the tests by scripts/vitest-global-setup.ts (`build --only cli`).
const WORKER = path.resolve(import.meta.dirname, '../../../dist/cli/import-worker.js');

let data: ReturnType<typeof temporaryFolder>;
const spaces: ReturnType<typeof temporaryWorkspace>[] = [];

beforeEach(() => {
  data = temporaryFolder();
});
afterEach(() => {
  for (const space of spaces.splice(0)) space.remove();
  data.remove();
});

function write(relative: string, bytes: Uint8Array | string): string {
  const file = path.join(data.dir, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return file;
}

/** A folder with every kind of file an import meets: formats, depths, samples, a huge TIFF, copies, broken files. */
async function writeMixedFolder(): Promise<void> {
  const specs: (FixtureSpec & { name: string })[] = [
    { name: 'a/grey8.png', format: 'png', bitDepth: 8, channels: 1, width: 40, height: 30 },
    { name: 'a/rgba8.png', format: 'png', bitDepth: 8, channels: 4, width: 20, height: 50 },
    { name: 'a/rgb16.png', format: 'png', bitDepth: 16, channels: 3, width: 300, height: 170 },
    { name: 'a/grey16.tif', format: 'tiff', bitDepth: 16, channels: 1, width: 30, height: 20 },
    { name: 'b/rgb8.jpg', format: 'jpeg', bitDepth: 8, channels: 3, width: 48, height: 32 },
    { name: 'b/rgb8.webp', format: 'webp', bitDepth: 8, channels: 3, width: 36, height: 24 },
    { name: 'b/bands16.tif', format: 'tiff', bitDepth: 16, channels: 4, width: 24, height: 24 },
  ];
  for (const [seed, spec] of specs.entries()) await writeFixture(path.join(data.dir, spec.name), { ...spec, seed });
  for (let seed = 0; seed < 12; seed++)
    await writeFixture(path.join(data.dir, 'c', `${seed}.png`), {
      format: 'png',
      bitDepth: 8,
      channels: 3,
      width: 64,
      height: 64,
      seed: 100 + seed,
    });
  // Copies: of a good image (in a later folder and in the same one), and of a broken file.
  fs.copyFileSync(path.join(data.dir, 'a/grey8.png'), write('d/copy-of-grey8.png', ''));
  fs.copyFileSync(path.join(data.dir, 'c/3.png'), write('c/3-again.png', ''));
  const good = fs.readFileSync(path.join(data.dir, 'c/0.png'));
  write('e/corrupt.png', Buffer.concat([good.subarray(0, 33), Buffer.alloc(400, 0x5a)]));
  write('e/corrupt-copy.png', Buffer.concat([good.subarray(0, 33), Buffer.alloc(400, 0x5a)]));
  write('e/truncated.png', good.subarray(0, Math.floor(good.length / 2)));
  write('e/empty.jpg', '');
  write('e/text.png', 'not an image');
  // Samples: a two-frame DICOM, and a 50,000² TIFF imported by tiles under the memory budget.
  write(
    'f/scan.dcm',
    writeDicom({
      rows: 4,
      columns: 4,
      frames: 2,
      bitsAllocated: 16,
      bitsStored: 12,
      values: Array.from({ length: 32 }, (_, i) => i * 100),
    }),
  );
  const tile = Array.from({ length: 256 * 256 }, (_, index) => (index % 256) * 100 + Math.floor(index / 256));
  write(
    'f/huge.tif',
    writeTiff([
      {
        width: 50_000,
        height: 50_000,
        bands: 1,
        sampleType: 'uint16',
        values: tile,
        tile: [256, 256],
        sharedTile: true,
      },
    ]),
  );
}

/** Imports the folder into a fresh workspace; returns what a user could see of it afterwards. */
async function importInto(extra: Partial<ImportOptions>) {
  const space = temporaryWorkspace();
  spaces.push(space);
  const projectDir = space.workspace.projectDir(space.projectId);
  const run = () =>
    importFolders({
      importId: 'i',
      projectId: space.projectId,
      folders: [data.dir],
      images: space.workspace.images,
      projectDir,
      ...extra,
    });
  const { seconds: _seconds, ...first } = await run();
  const { seconds: _again, ...again } = await run();
  const rows = (
    space.workspace.db.prepare('SELECT * FROM images WHERE project_id = ? ORDER BY id').all(space.projectId) as Record<
      string,
      unknown
    >[]
  ).map(({ imported_at: _importedAt, ...row }) => row);
  const thumbs = path.join(projectDir, 'thumbs');
  const thumbnails = Object.fromEntries(
    (fs.readdirSync(thumbs, { recursive: true }) as string[])
      .filter((name) => name.endsWith('.jpg'))
      .sort()
      .map((name) => [
        name,
        createHash('sha256')
          .update(fs.readFileSync(path.join(thumbs, name)))
          .digest('hex'),
      ]),
  );
  return { first, again, rows, thumbnails };
}

describe('import worker threads', () => {
  it('store the same rows, ids, thumbnails, reasons and counts with 0, 1 and 2 workers', async () => {
    await writeMixedFolder();
    const inThread = await importInto({ workers: 0 });
    const oneWorker = await importInto({ workers: 1, workerPath: WORKER });
    const twoWorkers = await importInto({ workers: 2, workerPath: WORKER });

    // The import itself is right: counts of files add up, copies and failures are reported.
    const { first, again } = inThread;
    expect(first).toMatchObject({ filesSeen: 28, imported: 21, samples: 22, skipped: 0, cancelled: false });
    expect(first.imported + first.skipped + first.duplicates.length + first.errors.length).toBe(first.filesSeen);
    expect(first.duplicates.map((duplicate) => path.relative(data.dir, duplicate.path))).toEqual([
      'c/3.png',
      'd/copy-of-grey8.png',
    ]); // '-' sorts before '.': 3-again.png is walked first;
    expect(first.errors.map((error) => path.relative(data.dir, error.path))).toEqual([
      'e/corrupt-copy.png',
      'e/corrupt.png',
      'e/empty.jpg',
      'e/text.png',
      'e/truncated.png',
    ]);
    expect(again).toMatchObject({ imported: 0, skipped: 28, errors: [], duplicates: [] });
    expect(inThread.rows).toHaveLength(22 + 2 + 5);
    expect(Object.keys(inThread.thumbnails)).toHaveLength(22);

    expect(oneWorker).toEqual(inThread);
    expect(twoWorkers).toEqual(inThread);
  });

  it('leave the store consistent when cancelled midway, and a second import finishes the job', async () => {
    const spec = { format: 'png', bitDepth: 8, channels: 3, width: 512, height: 512 } as const;
    const total = 40;
    for (let seed = 0; seed < total; seed++)
      await writeFixture(path.join(data.dir, `${String(seed).padStart(2, '0')}.png`), { ...spec, seed });
    const space = temporaryWorkspace();
    spaces.push(space);
    const options = {
      importId: 'i',
      projectId: space.projectId,
      folders: [data.dir],
      images: space.workspace.images,
      projectDir: space.workspace.projectDir(space.projectId),
      workers: 2,
      workerPath: WORKER,
    };
    const controller = new AbortController();
    const result = await importFolders({
      ...options,
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.phase === 'importing' && progress.processed > 0) controller.abort();
      },
    });
    expect(result.cancelled).toBe(true);
    expect(result.imported).toBeGreaterThan(0);
    expect(result.imported).toBeLessThan(total);
    const rows = space.workspace.db
      .prepare('SELECT path, thumbnail FROM images WHERE project_id = ?')
      .all(space.projectId) as { path: string; thumbnail: string }[];
    expect(rows).toHaveLength(result.imported);
    for (const row of rows)
      expect(fs.existsSync(path.join(space.workspace.projectDir(space.projectId), row.thumbnail))).toBe(true);
    const resumed = await importFolders(options);
    expect(resumed).toMatchObject({
      imported: total - result.imported,
      skipped: result.imported,
      errors: [],
      duplicates: [],
    });
  });

  it('fail the import with the files it held when a worker dies, and leave no file waiting for it', async () => {
    for (let seed = 0; seed < 6; seed++)
      await writeFixture(path.join(data.dir, `${seed}.png`), {
        format: 'png',
        bitDepth: 8,
        channels: 3,
        width: 8,
        height: 8,
        seed,
      });
    const scripts = temporaryFolder();
    const dying = path.join(scripts.dir, 'dying-worker.mjs');
    fs.writeFileSync(
      dying,
      "import { parentPort } from 'node:worker_threads';\nparentPort.once('message', () => process.exit(3));\n",
    );
    const space = temporaryWorkspace();
    spaces.push(space);
    const run = importFolders({
      importId: 'i',
      projectId: space.projectId,
      folders: [data.dir],
      images: space.workspace.images,
      projectDir: space.workspace.projectDir(space.projectId),
      workers: 2,
      workerPath: dying,
    });
    await expect(run).rejects.toThrow(/^an import worker stopped \(exited with code 3\) while importing .*0\.png/);
    expect(space.workspace.db.prepare('SELECT COUNT(*) AS n FROM images').get()).toEqual({ n: 0 });
    scripts.remove();
  });

  it('run in this thread when there is no built worker or none is asked for', () => {
    expect(importMode({ workers: 4, workerPath: null, concurrency: 3 })).toEqual({
      workers: 0,
      concurrency: 3,
      workerPath: null,
    });
    expect(importMode({ workers: 0, workerPath: WORKER, concurrency: 3 })).toEqual({
      workers: 0,
      concurrency: 3,
      workerPath: null,
    });
    expect(importMode({ workers: 2, workerPath: WORKER })).toEqual({ workers: 2, concurrency: 6, workerPath: WORKER });
    expect(() => importMode({ workers: 1.5 })).toThrow(
      'workers must be a whole number of threads (0 for none), got 1.5',
    );
  });
});
