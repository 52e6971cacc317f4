/**
 * A disk that fills up during an export: the CLI runs under a file size limit (`ulimit -f`, with
 * SIGXFSZ handled so the write returns EFBIG as on a full disk instead of killing the process).
 * The export must fail with a message naming the file and saying the disk is full, leave no file
 * (finished, partial or temporary) and no folder it created, record nothing, and succeed into the
 * same folder once there is room.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../mae/mae.fixtures';
import { pretrainedFixture, TINY_PRETRAIN, type PretrainedFixture } from '../train/probe.fixtures';
import { exportRun } from './export-run';

const CLI = path.resolve('dist/cli/cli.js');
/** Keeps the process alive on SIGXFSZ, so an over-limit write fails with EFBIG. */
const HANDLE_SIGXFSZ = 'data:text/javascript,process.on("SIGXFSZ",()=>{})';

let fixture: PretrainedFixture;
/** File sizes of a successful export of each format, to set limits between them. */
const sizes: Record<string, Record<string, number>> = {};

beforeAll(async () => {
  await useCpuBackend();
  fixture = await pretrainedFixture({ ...TINY_PRETRAIN, steps: 2 }); // any checkpoint will do
  for (const format of ['tfjs', 'safetensors'] as const) {
    const out = path.join(fixture.dir, `sizes-${format}`);
    const result = await fixture.openAsync((w) => exportRun(w, fixture.runId, format, out));
    sizes[format] = Object.fromEntries(result.files.map((file) => [file.name, file.bytes]));
    fs.rmSync(out, { recursive: true });
  }
}, 120_000);
afterAll(() => fixture?.remove());

/** `mae-studio export` with writes limited to `limitKiB` per file (none when null). */
function exportWithLimit(format: string, out: string, limitKiB: number | null) {
  const command = [
    ...(limitKiB === null ? [] : [`ulimit -f ${limitKiB}`]),
    'exec "$0" --import "$1" "$2" export --workspace "$3" --run "$4" --format "$5" --out "$6" --json',
  ].join('; ');
  const run = spawnSync(
    'bash',
    ['-c', command, process.execPath, HANDLE_SIGXFSZ, CLI, fixture.workspaceDir, String(fixture.runId), format, out],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { status: run.status, signal: run.signal, stderr: run.stderr };
}

/** The workspace database with its write-ahead log. */
function databaseBytes(): number {
  return ['studio.sqlite', 'studio.sqlite-wal'].reduce((sum, name) => {
    const file = path.join(fixture.workspaceDir, name);
    return sum + (fs.existsSync(file) ? fs.statSync(file).size : 0);
  }, 0);
}

function exportRows(): number {
  return fixture.open((w) => w.exports.list(fixture.projectId).length);
}

describe('disk full during export', () => {
  it('fails on the big weights file after writing the small model.json, and leaves nothing behind', () => {
    const { 'model.json': modelJson = 0, 'weights.bin': weights = 0 } = sizes.tfjs!;
    // The limit holds for every file the process writes: the database must fit, and model.json;
    // weights.bin must not.
    const limitKiB = Math.floor(weights / 1024 / 2);
    expect(limitKiB * 1024).toBeGreaterThan(Math.max(modelJson, databaseBytes()) + 64 * 1024);
    const parent = path.join(fixture.dir, 'full-tfjs');
    fs.mkdirSync(parent);
    const out = path.join(parent, 'a', 'b');
    const rowsBefore = exportRows();

    const failed = exportWithLimit('tfjs', out, limitKiB);
    expect(failed.signal, failed.stderr).toBeNull();
    expect(failed.status, failed.stderr).toBe(1);
    expect(failed.stderr).toContain(`could not write ${path.join(out, 'weights.bin')}: the disk is full`);
    expect(failed.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
    expect(fs.readdirSync(parent)).toEqual([]); // model.json, temporaries and the folders made: all gone
    expect(exportRows()).toBe(rowsBefore);

    const retried = exportWithLimit('tfjs', out, null);
    expect(retried.status, retried.stderr).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['MODEL_CARD.md', 'model.json', 'model_card.json', 'weights.bin']);
    expect(exportRows()).toBe(rowsBefore + 1);
  });

  it("fails on the first file of a safetensors export and keeps the user's own files in the folder", () => {
    const out = path.join(fixture.dir, 'full-safetensors');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
    const limitKiB = Math.floor(sizes.safetensors!['model.safetensors']! / 1024 / 2);

    const failed = exportWithLimit('safetensors', out, limitKiB);
    expect(failed.status, failed.stderr).toBe(1);
    expect(failed.stderr).toContain(`could not write ${path.join(out, 'model.safetensors')}: the disk is full`);
    expect(fs.readdirSync(out)).toEqual(['notes.txt']);
  });

  it('removes the written files when recording the export in the database fails', async () => {
    const out = path.join(fixture.dir, 'full-database', 'onnx');
    const rowsBefore = exportRows();
    await expect(
      fixture.openAsync(async (w) => {
        // The database's last write refused, as a full disk would (SQLITE_FULL).
        w.db.exec(
          'CREATE TEMP TRIGGER refuse_export BEFORE INSERT ON exports ' +
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
        );
        return exportRun(w, fixture.runId, 'onnx', out);
      }),
    ).rejects.toThrow(/disk is full/);
    expect(fs.existsSync(path.join(fixture.dir, 'full-database'))).toBe(false); // both folders it made, gone
    expect(exportRows()).toBe(rowsBefore);
  });
});
