/** `handoff` and `adopt`: a run leaves for a torchrun cluster job and comes back as a run. */
import path from 'node:path';
import { adoptHandoff } from '../handoff/adopt';
import { writeHandoff } from '../handoff/handoff';
import { createOutput, parseCommand, positiveInt, required, UsageError } from './args';

/** `mae-studio handoff --workspace W --run ID --out DIR` */
export async function handoffCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('handoff', argv, {
    workspace: { type: 'string' },
    run: { type: 'string' },
    out: { type: 'string' },
  });
  const out = createOutput(values.json === true);
  const workspace = path.resolve(required('handoff', values, 'workspace'));
  const runId = positiveInt('handoff', 'run', required('handoff', values, 'run'))!;
  const dir = path.resolve(required('handoff', values, 'out'));
  const result = await writeHandoff(workspace, runId, dir);
  out.result({ handoff: result }, () =>
    [
      `Run ${runId} handed off at step ${result.step} (${result.images} images) to ${result.dir}`,
      `Launch it:  cd ${result.dir} && torchrun --nproc_per_node N train_mae.py   (see README.md there)`,
      `Bring it back:  mae-studio adopt --workspace ${workspace} --project <id> ${result.dir}`,
    ].join('\n'),
  );
}

/** `mae-studio adopt --workspace W --project ID DIR` */
export async function adoptCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand('adopt', argv, {
    workspace: { type: 'string' },
    project: { type: 'string' },
  });
  const out = createOutput(values.json === true);
  const workspace = path.resolve(required('adopt', values, 'workspace'));
  const projectId = positiveInt('adopt', 'project', required('adopt', values, 'project'))!;
  if (positionals.length !== 1) throw new UsageError('adopt: give exactly one hand-off folder');
  const result = await adoptHandoff(workspace, projectId, path.resolve(positionals[0]!));
  out.result(
    { run: result },
    () =>
      `Adopted as run ${result.runId} (parent ${result.parentRunId}): steps ${result.startStep} → ${result.step}` +
      (result.finalLoss === null ? '' : `, loss ${result.firstLoss?.toFixed(4)} → ${result.finalLoss.toFixed(4)}`),
  );
}
