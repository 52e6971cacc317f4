/**
 * Probes and fine-tuning runs start their training process through the host's launcher, as
 * pretraining does: in the desktop app that is Electron's utilityProcess, never a
 * `child_process.fork` of the Electron binary (which needs the runAsNode fuse the app disables).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../studio';
import type { StudioError } from '../contract';
import type { LaunchWorker } from '../train/host';
import { pretrainedFixture, TINY_PRETRAIN, type PretrainedFixture } from '../train/probe.fixtures';

let fixture: PretrainedFixture;
beforeAll(async () => {
  fixture = await pretrainedFixture({ ...TINY_PRETRAIN, steps: 2 });
}, 120_000);
afterAll(() => fixture?.remove());

describe('evaluation jobs', () => {
  it('start their process with the host launcher and worker', async () => {
    const workerPath = path.join(fixture.dir, 'host-worker.js');
    fs.writeFileSync(workerPath, '');
    const launches: { workerPath: string; args: string[] }[] = [];
    const launch: LaunchWorker = (file, args) => {
      launches.push({ workerPath: file, args });
      let exit: ((code: number | null, signal: string | null) => void) | undefined;
      return {
        pid: 1,
        send: () => {},
        kill: () => exit?.(null, 'SIGKILL'),
        onMessage: () => {},
        onExit: (listener) => {
          exit = listener;
          setTimeout(() => listener(1, null));
        },
        onError: () => {},
      };
    };
    const studio = new Studio(fixture.workspaceDir, { training: { launch, workerPath } });
    try {
      const { runId: probeRunId } = await studio.services.evaluation.probe(fixture.runId, {
        method: 'knn',
        k: 5,
        pooling: 'mean',
      });
      const { runId: finetuneRunId } = await studio.services.evaluation.finetune(fixture.runId, { steps: 1 });
      expect(launches.map((launched) => launched.workerPath)).toEqual([workerPath, workerPath]);
      expect(launches[0]!.args).toContain(String(probeRunId));
      expect(launches[1]!.args).toContain(String(finetuneRunId));
    } finally {
      await studio.close();
    }
  });

  it('stop a running fine-tune like a pretraining run, and refuse one that is not running', async () => {
    const workerPath = path.join(fixture.dir, 'host-worker.js');
    fs.writeFileSync(workerPath, '');
    const sent: unknown[] = [];
    let exit: ((code: number | null, signal: string | null) => void) | undefined;
    const launch: LaunchWorker = () => ({
      pid: 1,
      send: (command) => sent.push(command),
      kill: () => exit?.(null, 'SIGKILL'),
      onMessage: () => {},
      onExit: (listener) => (exit = listener),
      onError: () => {},
    });
    const studio = new Studio(fixture.workspaceDir, { training: { launch, workerPath } });
    try {
      const { runId } = await studio.services.evaluation.finetune(fixture.runId, { steps: 50 });
      await studio.services.evaluation.stop(runId);
      expect(sent).toContainEqual({ type: 'stop' });
      exit?.(0, null);
      await expect
        .poll(async () => {
          try {
            await studio.services.evaluation.stop(runId);
            return 'still stoppable';
          } catch (error) {
            return (error as StudioError).code;
          }
        })
        .toBe('CONFLICT');
      await expect(async () => studio.services.evaluation.stop(fixture.runId)).rejects.toThrow(
        'stop it from the Training tab',
      );
    } finally {
      await studio.close();
    }
  });
});
