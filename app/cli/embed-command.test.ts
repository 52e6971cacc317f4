/**
 * `embed` as scripts call it: the built CLI writes the files, reuses what is current, and exits 1 with the reason on
 * bad input.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpy } from '../train/embeddings/npy';
import { pretrainedFixture, type PretrainedFixture } from '../train/probe.fixtures';
import { runCli } from './cli.fixtures';

let fixture: PretrainedFixture;

function run(...args: string[]) {
  return runCli(args);
}

beforeAll(async () => {
  fixture = await pretrainedFixture();
}, 120_000);
afterAll(() => fixture?.remove());

describe('mae-studio embed', () => {
  it('computes the embeddings once, writes .npy and CSV files into --out, and reuses them the next time', () => {
    const out = path.join(fixture.dir, 'cli-embeddings');
    const first = run(
      'embed',
      '--workspace',
      fixture.workspaceDir,
      '--run',
      String(fixture.runId),
      '--out',
      out,
      '--json',
    );
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      runId: fixture.runId,
      block: 1,
      pooling: 'mean',
      images: 24,
      width: 192,
      computed: true,
      skipped: [],
      dir: out,
    });
    expect(fs.readdirSync(out).sort()).toEqual(['embeddings.csv', 'embeddings.json', 'embeddings.npy', 'images.csv']);
    const npy = decodeNpy(fs.readFileSync(path.join(out, 'embeddings.npy')));
    expect([npy.rows, npy.columns]).toEqual([24, 192]);
    const images = fs.readFileSync(path.join(out, 'images.csv'), 'utf8').trim().split('\n');
    expect(images).toHaveLength(25);
    expect(images[1]).toMatch(/^\d+,\/.*\.png,0,(ring|round)-lesion$/);

    const second = run(
      'embed',
      '--workspace',
      fixture.workspaceDir,
      '--run',
      String(fixture.runId),
      '--out',
      path.join(fixture.dir, 'cli-embeddings-2'),
      '--json',
    );
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ computed: false, images: 24 });
    expect(fs.readFileSync(path.join(fixture.dir, 'cli-embeddings-2', 'embeddings.npy'))).toEqual(
      fs.readFileSync(path.join(out, 'embeddings.npy')),
    );
  }, 60_000);

  it('exits 1 naming a block the encoder lacks, a bad pooling or an occupied folder', () => {
    const block = run(
      'embed',
      '--workspace',
      fixture.workspaceDir,
      '--run',
      String(fixture.runId),
      '--out',
      path.join(fixture.dir, 'x'),
      '--block',
      '3',
    );
    expect(block.code).toBe(1);
    expect(block.stderr).toMatch(/block must be 1\.\.1 \(the run's encoder has 1 block\), got 3/);
    const pooling = run(
      'embed',
      '--workspace',
      fixture.workspaceDir,
      '--run',
      String(fixture.runId),
      '--out',
      path.join(fixture.dir, 'x'),
      '--pooling',
      'max',
    );
    expect(pooling.code).toBe(1);
    expect(pooling.stderr).toMatch(/--pooling must be one of cls, mean, got "max"/);
    const taken = path.join(fixture.dir, 'taken');
    fs.mkdirSync(taken);
    fs.writeFileSync(path.join(taken, 'embeddings.npy'), 'mine');
    const occupied = run('embed', '--workspace', fixture.workspaceDir, '--run', String(fixture.runId), '--out', taken);
    expect(occupied.code).toBe(1);
    expect(occupied.stderr).toMatch(/already holds embeddings.npy/);
    expect(fs.readFileSync(path.join(taken, 'embeddings.npy'), 'utf8')).toBe('mine');
  }, 60_000);
});
