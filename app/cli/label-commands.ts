/** `relabel` and `reprobe`: labels changed by hand (with history and undo), and a probe re-fitted on them. */
import path from 'node:path';
import type { LabelChange, ReprobeScores } from '../contract';
import { accuracyText } from '../train/probe-format';
import { createOutput, parseCommand, positiveInt, required, UsageError } from './args';
import { withClient } from './client';

function changeLine(change: LabelChange): string {
  const before = change.previous.map((entry) => `${entry.label ?? '(no label)'} ×${entry.count}`).join(', ');
  return (
    `#${change.id}  ${change.createdAt}  ${change.actor}  ${change.images} image${change.images === 1 ? '' : 's'}` +
    ` → ${change.label ?? '(no label)'}  (was ${before})${change.undoneAt ? `  undone ${change.undoneAt}` : ''}`
  );
}

/** `--images 3,4,10-12` → [3, 4, 10, 11, 12]. */
function imageIds(value: string): number[] {
  return value.split(',').flatMap((part) => {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!match)
      throw new UsageError(`relabel: --images takes image ids and ranges like 3,4,10-12, got ${JSON.stringify(part)}`);
    const [first, last] = [Number(match[1]), Number(match[2] ?? match[1])];
    if (first < 1 || last < first || last - first > 100_000)
      throw new UsageError(
        `relabel: --images range ${JSON.stringify(part)} must run from a smaller id to a larger one`,
      );
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  });
}

/**
 * `mae-studio relabel --workspace W --project ID (--images IDS | --folder DIR) (--label NAME | --clear) | --undo |
 * --history`
 */
export async function relabelCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('relabel', argv, {
    workspace: { type: 'string' },
    project: { type: 'string' },
    images: { type: 'string' },
    folder: { type: 'string' },
    label: { type: 'string' },
    clear: { type: 'boolean' },
    undo: { type: 'boolean' },
    history: { type: 'boolean' },
  });
  const out = createOutput(values.json === true);
  const workspace = path.resolve(required('relabel', values, 'workspace'));
  const projectId = positiveInt('relabel', 'project', required('relabel', values, 'project'))!;
  if (values.history) {
    const history = await withClient(workspace, {}, async ({ client }) =>
      client.labels.history(projectId, { limit: 100 }),
    );
    out.result({ history }, () => history.map(changeLine).join('\n') || '(no label changed by hand)');
    return;
  }
  if (values.undo) {
    const undone = await withClient(workspace, {}, async ({ client }) => client.labels.undo(projectId));
    out.result({ undone }, () =>
      undone ? `Undid ${changeLine(undone)}` : 'Nothing to undo: no label change is in force',
    );
    return;
  }
  if ((values.label === undefined) === (values.clear !== true))
    throw new UsageError('relabel: give --label NAME or --clear (or --undo, --history)');
  if (!values.images && !values.folder) throw new UsageError('relabel: pick images with --images IDS or --folder DIR');
  const selection = {
    ...(values.images && { imageIds: imageIds(values.images) }),
    ...(values.folder && { folder: path.resolve(values.folder) }),
  };
  const label = values.clear ? null : values.label!;
  const result = await withClient(workspace, {}, async ({ client }) => client.labels.set(projectId, selection, label));
  out.result(result, () =>
    result.change ? `Relabelled ${changeLine(result.change)}` : 'No image changed: they already have that label',
  );
}

function scoresLine(
  caption: string,
  then: ReprobeScores,
  now: ReprobeScores,
  pick: (s: ReprobeScores) => ReprobeScores['pretrained'] | null,
): string[] {
  const [a, b] = [pick(then), pick(now)];
  return a && b ? [`  ${caption.padEnd(12)} when probed ${accuracyText(a)}   now ${accuracyText(b)}`] : [];
}

/**
 * `mae-studio reprobe --workspace W --run PROBE_ID`: re-fits a probe run on its run's stored embeddings (computed
 * first when missing) with today's labels.
 */
export async function reprobeCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('reprobe', argv, { workspace: { type: 'string' }, run: { type: 'string' } });
  const out = createOutput(values.json === true);
  const workspace = path.resolve(required('reprobe', values, 'workspace'));
  const runId = positiveInt('reprobe', 'run', required('reprobe', values, 'run'))!;
  const report = await withClient(workspace, {}, async ({ client }) => client.labels.reprobe(runId));
  out.result(report, () =>
    [
      `Probe run ${runId} re-fitted on its cached features (block ${report.block}) ` +
        `in ${report.seconds.toFixed(2)} s: ${report.relabelled} probed image(s) relabelled since`,
      ...scoresLine('pretrained', report.before, report.after, (s) => s.pretrained),
      ...scoresLine('random init', report.before, report.after, (s) => s.randomInit),
      ...scoresLine('raw pixels', report.before, report.after, (s) => s.rawPixels),
      ...report.skipped.map((entry) => `  left out: ${entry.count} (${entry.reason})`),
      ...(report.notEncoded
        ? [`  ${report.notEncoded} image(s) labelled now were not probed: run the probe again to include them`]
        : []),
    ].join('\n'),
  );
}
