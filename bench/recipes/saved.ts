/**
 * The runs of earlier `bench:recipes` invocations, pooled into one table: the JSON lines `--save` appends
 * (`--from`), and the workspaces a bench left behind (`--rescore`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Workspace } from '../../app/workspace';
import { lastValLoss, type RunResult, scoreProbe } from './runs';
import { BENCH_DOMAINS } from './setup';

/** Appends `run` as one JSON line to `file` (when given) and returns it. */
export function saveRun(file: string | null, run: RunResult): RunResult {
  if (file) fs.appendFileSync(file, `${JSON.stringify(run)}\n`);
  return run;
}

/** The runs saved, one JSON line each, in these files. */
export function readSavedRuns(files: readonly string[]): RunResult[] {
  return files.flatMap((file) =>
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as RunResult),
  );
}

/**
 * The runs a bench left under `root` (`--keep`, or a bench stopped before its table): every completed
 * pretraining of each `<domain>-seed<s>` workspace whose linear probe finished, scored as the bench scores
 * them, with the times the runs' records give.
 */
export async function rescore(root: string): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (const entry of fs.readdirSync(root).sort()) {
    const match = /^(.+)-seed(\d+)$/.exec(entry);
    if (!match || !BENCH_DOMAINS[match[1]!]) continue;
    const dir = path.join(root, entry, 'workspace');
    const workspace = new Workspace(dir);
    const project = workspace.projects.list()[0]!;
    const records = workspace.runs.list(project.id).reverse();
    workspace.close();
    for (const run of records.filter((record) => record.kind === 'pretrain' && record.status === 'completed')) {
      const probe = records.find(
        (record) =>
          record.kind === 'probe' &&
          record.status === 'completed' &&
          (record.config as { pretrainRunId?: number }).pretrainRunId === run.id,
      );
      if (!probe) continue;
      const config = run.config as { recipe: { domainRecipe?: { name: string } } };
      const { linear, knn } = await scoreProbe(dir, project.id, probe.id);
      const seconds = (end: string | null) => (Date.parse(end ?? run.createdAt) - Date.parse(run.createdAt)) / 1000;
      runs.push({
        domain: match[1]!,
        recipe: config.recipe.domainRecipe?.name ?? 'mae',
        seed: Number(match[2]),
        status: run.status,
        valLoss: lastValLoss(dir, run.id),
        seconds: seconds(probe.finishedAt),
        pretrainSeconds: seconds(run.finishedAt),
        linear: linear.pretrained,
        knn: knn.pretrained,
        baselines: {
          randomInit: { linear: linear.randomInit, knn: knn.randomInit },
          rawPixels: { linear: linear.rawPixels, knn: knn.rawPixels },
        },
      });
    }
  }
  return runs;
}
