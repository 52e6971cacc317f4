/** `probe`, `finetune` and `export` as scripts call them: the built CLI, one JSON document, exit codes 0/1. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('mae-studio probe / finetune / export', () => {
  it('probe --json: accuracy, both baselines with 95% intervals, block and warnings, from the training process', () => {
    const result = run(
      'probe',
      '--workspace',
      fixture.workspaceDir,
      '--run',
      String(fixture.runId),
      '--method',
      'knn',
      '--k',
      '5',
      '--labels-per-class',
      '4',
      '--block',
      '1',
      '--backend',
      'cpu',
      '--json',
    );
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      pretrainRunId: fixture.runId,
      method: 'knn',
      k: 5,
      labelsPerClass: 4,
      trainImages: 8,
      classes: ['ring-lesion', 'round-lesion'],
      valImages: 6,
    });
    expect(report.block).toMatchObject({ requested: 1, chosen: 1, depth: 1 });
    expect(report.accuracy).toBeGreaterThanOrEqual(report.interval.low);
    expect(report.accuracy).toBeLessThanOrEqual(report.interval.high);
    expect(typeof report.baseline.randomInit).toBe('number');
    expect(report.baseline.rawPixelsInterval.high).toBeGreaterThan(report.baseline.rawPixelsInterval.low);
    expect(report.gain.randomInit.estimate).toBeCloseTo(report.accuracy - report.baseline.randomInit, 10);
    expect(report.warnings).toContain(
      "Class 'ring-lesion' has 3 validation images; accuracy per class is unreliable below ~10.",
    );
    expect(
      report.warnings.some((w: string) => w.startsWith('k = 5 exceeds the smallest class of the fitted images')),
    ).toBe(true);
    expect(report.confusion).toHaveLength(2);
    expect(fixture.open((w) => w.runs.get(report.runId))).toMatchObject({ kind: 'probe', status: 'completed' });
  });

  it('finetune --json trains a classifier run and export writes its ONNX', () => {
    const tuned = run(
      'finetune',
      '--workspace',
      fixture.workspaceDir,
      '--run',
      String(fixture.runId),
      '--steps',
      '3',
      '--batch',
      '4',
      '--crop-scale',
      '0.5',
      '--flip',
      '0.25',
      '--backend',
      'cpu',
      '--json',
    );
    expect(tuned.code, tuned.stderr).toBe(0);
    const { run: classifier, accuracy, interval, valImages } = JSON.parse(tuned.stdout);
    expect(classifier).toMatchObject({ parentRunId: fixture.runId, status: 'completed' });
    // The crops and flips asked for are the run's; what was not asked for is the defaults' (whole-image, linear lr).
    expect(fixture.open((w) => w.runs.get(classifier.id).config)).toMatchObject({
      cropScale: 0.5,
      flipProbability: 0.25,
      dropPath: 0,
      lrRule: 'linear',
    });
    expect(accuracy).toBeGreaterThanOrEqual(interval.low);
    expect(accuracy).toBeLessThanOrEqual(interval.high);
    expect(valImages).toBe(6);
    const out = path.join(fixture.dir, 'cli-export');
    const exported = run(
      'export',
      '--workspace',
      fixture.workspaceDir,
      '--run',
      String(classifier.id),
      '--format',
      'onnx',
      '--out',
      out,
      '--json',
    );
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout).export).toMatchObject({
      runId: classifier.id,
      format: 'onnx',
      path: path.join(out, 'model.onnx'),
    });
    expect(fs.readFileSync(path.join(out, 'MODEL_CARD.md'), 'utf8')).toMatch(/crops of 50–100%, flips 0\.25/);
  });

  it('exits 1 with the reason for a bad format, an unknown run or an occupied destination', () => {
    const badFormat = run(
      'export',
      '--workspace',
      fixture.workspaceDir,
      '--run',
      '1',
      '--format',
      'pickle',
      '--out',
      fixture.dir,
    );
    expect(badFormat.code).toBe(1);
    expect(badFormat.stderr).toMatch(/--format must be one of safetensors, onnx, tfjs, got "pickle"/);
    const budget = run(
      'probe',
      '--workspace',
      fixture.workspaceDir,
      '--run',
      String(fixture.runId),
      '--labels-per-class',
      'all',
    );
    expect(budget.code).toBe(1);
    expect(budget.stderr).toMatch(/--labels-per-class must be a positive integer, got "all"/);
    const block = run('probe', '--workspace', fixture.workspaceDir, '--run', String(fixture.runId), '--block', 'top');
    expect(block.code).toBe(1);
    expect(block.stderr).toMatch(/--block must be a block number \(1 = the first\) or best, got "top"/);
    const rule = run('finetune', '--workspace', fixture.workspaceDir, '--run', String(fixture.runId), '--lr-rule', 'x');
    expect(rule.code).toBe(1);
    expect(rule.stderr).toMatch(/--lr-rule must be one of linear, sqrt, fixed, floor, got "x"/);
    const unknown = run('probe', '--workspace', fixture.workspaceDir, '--run', '99');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no run with id 99/);
    const out = path.join(fixture.dir, 'occupied');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'model.json'), '{}');
    const occupied = run(
      'export',
      '--workspace',
      fixture.workspaceDir,
      '--run',
      String(fixture.runId),
      '--format',
      'tfjs',
      '--out',
      out,
    );
    expect(occupied.code).toBe(1);
    expect(occupied.stderr).toMatch(/already holds model.json/);
  });
});
