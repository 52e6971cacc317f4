/**
 * The summary table of `bench:recipes`: accuracy pooled over seeds with its Wilson interval and n, and each
 * recipe's gain over the plain MAE with a paired-bootstrap interval, per domain.
 */
import { type AccuracyGain, type Interval, pairedBootstrap, wilsonInterval } from '../../app/train/intervals';
import type { RunResult, Scored } from './runs';
import type { BenchRecipe } from './setup';

/** Accuracy over the pooled seeds with its Wilson interval and n. */
function pooled(scores: Scored[]): { accuracy: number; interval: Interval; n: number } {
  const right = scores.flatMap((score) => score.right);
  const correct = right.filter(Boolean).length;
  return { accuracy: correct / right.length, interval: wilsonInterval(correct, right.length), n: right.length };
}

/** A's gain over B over the pooled seeds, paired per image. */
function gain(a: Scored[], b: Scored[]): AccuracyGain {
  return pairedBootstrap(
    a.flatMap((score) => score.right),
    b.flatMap((score) => score.right),
  );
}

/** A fraction as a percentage with one decimal. */
export const percent = (value: number): string => `${(value * 100).toFixed(1)}`;
const accuracyCell = (scores: Scored[]): string => {
  const { accuracy, interval, n } = pooled(scores);
  return `${percent(accuracy)} [${percent(interval.low)}, ${percent(interval.high)}] n=${n}`;
};
const gainCell = (value: AccuracyGain | null): string =>
  value === null
    ? '–'
    : `${value.estimate >= 0 ? '+' : ''}${percent(value.estimate)} [${percent(value.low)}, ${percent(value.high)}]` +
      (value.low > 0 || value.high < 0 ? ' *' : '');

/** Rows of the summary table of one domain: one per recipe, then the two baselines. */
function summarise(domain: string, runs: RunResult[], recipes: readonly string[]): string[][] {
  const ofRecipe = (name: string) =>
    // sorted by seed: the paired gains pair the runs of one seed
    runs.filter((run) => run.domain === domain && run.recipe === name && run.linear).sort((a, b) => a.seed - b.seed);
  const vanilla = ofRecipe('mae');
  const rows: string[][] = [];
  const add = (label: string, linear: Scored[], knn: Scored[], extra: string) => {
    if (linear.length === 0) return;
    const sameSeeds = linear.length === vanilla.length;
    rows.push([
      domain,
      label,
      accuracyCell(linear),
      label === 'mae' || !sameSeeds
        ? '–'
        : gainCell(
            gain(
              linear,
              vanilla.map((run) => run.linear!),
            ),
          ),
      accuracyCell(knn),
      label === 'mae' || !sameSeeds
        ? '–'
        : gainCell(
            gain(
              knn,
              vanilla.map((run) => run.knn!),
            ),
          ),
      extra,
    ]);
  };
  for (const name of recipes) {
    const done = ofRecipe(name);
    const losses = done.map((run) => run.valLoss?.toFixed(3) ?? '–').join(', ');
    const seconds = done.reduce((sum, run) => sum + run.seconds, 0) / Math.max(1, done.length);
    add(
      name,
      done.map((run) => run.linear!),
      done.map((run) => run.knn!),
      `${losses} · ${seconds.toFixed(0)} s`,
    );
  }
  for (const baseline of ['randomInit', 'rawPixels'] as const) {
    add(
      baseline === 'randomInit' ? 'random init' : 'raw pixels',
      vanilla.map((run) => run.baselines![baseline].linear),
      vanilla.map((run) => run.baselines![baseline].knn),
      '',
    );
  }
  return rows;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** The summary table of these runs, with its legend. */
export function summaryTable(runs: RunResult[], domains: readonly string[], recipes: readonly BenchRecipe[]): string {
  const header = ['domain', 'recipe', 'linear % [95 % CI]', 'Δ linear vs MAE', 'kNN % [95 % CI]', 'Δ kNN vs MAE'];
  const names = recipes.map((recipe) => recipe.name);
  const rows = domains.flatMap((name) => summarise(name, runs, names));
  return (
    "Δ: paired bootstrap over the same scored images (shown where a recipe has the MAE's seeds), * = excludes 0.\n" +
    'Last column: final val loss per seed (recipes differ in what they regress) · mean seconds per run.\n' +
    table([...header, 'val loss · time'], rows)
  );
}
