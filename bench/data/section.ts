/**
 * What `bench/data.ts` is made of: sections, each measuring something that feeds the model
 * (import, the loader, …) beside the ceiling it is judged against, measured in the same run.
 * A section is one file in this folder exporting a {@link DataSection}, listed in `SECTIONS`
 * of `bench/data.ts`; its measurements print as rows of one table.
 */
import os from 'node:os';

/** Options every section gets (from the command line of `bench/data.ts`). */
export interface DataBenchOptions {
  /** Files of the PNG dataset (a multiple of 1,000). */
  files: number;
  /** Core counts to measure at, ascending (1, 2, 4, … up to every core by default). */
  cores: number[];
  /** Where the PNG dataset is cached. */
  dir: string;
  /** Times each measurement is repeated; the best is kept (other load on the machine only slows runs down). */
  rounds: number;
}

/** One row of the table: a rate measured beside its ceiling on the same cores. */
export interface Measurement {
  section: string;
  /** Cores the measurement was pinned to (or could use). */
  cores: number;
  /** What was measured, in words: `import, 2 worker threads`. */
  measured: string;
  value: number;
  /** `files/s`, `samples/s`. */
  unit: string;
  /** The ceiling: what was measured beside it (`sharp decode`). */
  ceiling: string;
  ceilingValue: number;
  /** What the ratio value / ceiling should reach, in words (`≥ 0.5 (within 2× of the ceiling)`). */
  target: string;
  /** Whether the ratio meets the target. */
  met: boolean;
}

/** A part of `npm run bench:data`. */
export interface DataSection {
  name: string;
  /** Runs once in the parent process; starts pinned child processes through `runChild` as it needs. */
  run(options: DataBenchOptions, runChild: RunChild): Promise<Measurement[]>;
  /**
   * Measurements made inside a child process (`data.js --child <name> …`), by name; each
   * returns a JSON-able result the parent gets back from `runChild`.
   */
  children: Record<string, (argv: readonly string[]) => Promise<unknown>>;
}

/** Runs `data.js --child <child> ...args` pinned to `cores` cores and returns what it printed (JSON). */
export type RunChild = (child: string, cores: number, args: string[]) => Promise<unknown>;

/** 1, 2, 4, … and every core: the default core counts. */
export function defaultCoreCounts(): number[] {
  const all = os.availableParallelism();
  const counts: number[] = [];
  for (let cores = 1; cores < all; cores *= 2) counts.push(cores);
  counts.push(all);
  return counts;
}

/** The value of `--name` in `argv`, if given. */
export function optionValue(argv: readonly string[], name: string): string | undefined {
  const index = argv.indexOf(name);
  return index >= 0 ? argv[index + 1] : undefined;
}
