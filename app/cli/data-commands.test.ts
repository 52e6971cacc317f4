/** `import --json` as scripts call it: the built CLI, one JSON document on stdout whatever the decoders print. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportResult } from '../contract';
import { compressedDicoms } from '../data/formats/codecs.fixtures';
import { writeDicom } from '../data/formats/formats.fixtures';
import { runCli } from './cli.fixtures';

let dir: string;

function run(...args: string[]) {
  return runCli(args, dir);
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-cli-import-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('mae-studio import --json', () => {
  it('prints one JSON document for JPEG 2000, JPEG-LS, RLE, JPEG and broken DICOMs, naming frames', async () => {
    const folder = path.join(dir, 'scans');
    fs.mkdirSync(folder);
    for (const [name, bytes] of Object.entries(await compressedDicoms()))
      fs.writeFileSync(path.join(folder, name), bytes);
    // A JPEG 2000 stream cut short: OpenJPEG prints its complaints, the reason must carry them.
    const j2k = await compressedDicoms(1);
    const broken = j2k['jpeg2000.dcm']!;
    fs.writeFileSync(
      path.join(folder, 'broken-jpeg2000.dcm'),
      writeDicom({
        rows: 64,
        columns: 64,
        bitsAllocated: 16,
        transferSyntax: '1.2.840.10008.1.2.4.90',
        fragments: [broken.subarray(broken.length - 200)],
      }),
    );

    fs.writeFileSync(
      path.join(folder, 'cine.dcm'),
      writeDicom({ rows: 2, columns: 2, frames: 2, bitsAllocated: 8, values: [1, 2, 3, 4, 5, 6, 7, 8] }),
    );

    const init = run('init', '--workspace', 'ws', '--name', 'codecs', '--json');
    expect(init.code, init.stderr).toBe(0);
    const projectId = String(JSON.parse(init.stdout).project.id);
    const imported = run('import', '--workspace', 'ws', '--project', projectId, folder, '--json');
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout.trimEnd().split('\n')).toHaveLength(1);
    const result = JSON.parse(imported.stdout) as ImportResult;
    expect(result).toMatchObject({ filesSeen: 6, imported: 5, samples: 6, skipped: 0, duplicates: [] });
    expect(result.errors).toHaveLength(1);
    const reason = result.errors[0]!.reason;
    expect(reason).toMatch(
      /^corrupt DICOM pixel data in frame 1 \(JPEG 2000 Lossless, transfer syntax 1\.2\.840\.10008\.1\.2\.4\.90\): /,
    );
    expect(reason).toMatch(/failed to read the header/);
    expect(result.imported + result.skipped + result.duplicates.length + result.errors.length).toBe(result.filesSeen);

    const listed = JSON.parse(run('images', '--workspace', 'ws', '--project', projectId, '--json').stdout) as {
      images: { path: string; sample: string | null }[];
    };
    expect(listed.images.filter((image) => image.path.endsWith('cine.dcm')).map((image) => image.sample)).toEqual([
      'frame 1 of 2',
      'frame 2 of 2',
    ]);
    expect(listed.images.find((image) => image.path.endsWith('rle.dcm'))!.sample).toBeNull();

    const again = run('import', '--workspace', 'ws', '--project', projectId, folder, '--json');
    const second = JSON.parse(again.stdout) as ImportResult;
    expect(second).toMatchObject({ filesSeen: 6, imported: 0, skipped: 6 });
    expect(second.skippedFiles.map((skip) => path.basename(skip.path)).sort()).toEqual([
      'broken-jpeg2000.dcm',
      'cine.dcm',
      'jpeg-baseline.dcm',
      'jpeg-ls.dcm',
      'jpeg2000.dcm',
      'rle.dcm',
    ]);
  });

  it('imports alike with --workers 0 (one thread) and 2, and refuses a --workers that is not a whole number', () => {
    const folder = path.join(dir, 'workers');
    fs.mkdirSync(folder);
    for (let frames = 1; frames <= 4; frames++) {
      fs.writeFileSync(
        path.join(folder, `${frames}.dcm`),
        writeDicom({
          rows: 2,
          columns: 2,
          frames,
          bitsAllocated: 8,
          values: Array.from({ length: 4 * frames }, (_, i) => i * frames),
        }),
      );
    }
    fs.writeFileSync(path.join(folder, 'broken.dcm'), 'not a DICOM file');
    const results = ['0', '2'].map((workers) => {
      const init = run('init', '--workspace', `ws-${workers}`, '--name', 'workers', '--json');
      const projectId = String(JSON.parse(init.stdout).project.id);
      const imported = run(
        'import',
        '--workspace',
        `ws-${workers}`,
        '--project',
        projectId,
        '--workers',
        workers,
        folder,
        '--json',
      );
      expect(imported.code, imported.stderr).toBe(0);
      const { seconds: _seconds, ...result } = JSON.parse(imported.stdout) as ImportResult;
      return result;
    });
    expect(results[0]).toMatchObject({ filesSeen: 5, imported: 4, samples: 10 });
    expect(results[1]).toEqual(results[0]);
    const refused = run('import', '--workspace', 'ws-0', '--project', '1', '--workers', 'all', folder);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('import: --workers must be a whole number from 0 to 256, got "all"');
  });
});
