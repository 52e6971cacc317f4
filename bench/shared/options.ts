/**
 * The benchmarks' command-line options: `--name value` pairs and `--name` switches read from
 * `process.argv`, so every bench parses its options the same way.
 */

/** The value after `--name` on the command line, or `fallback` (undefined when none) when it is absent. */
export function argument(name: string): string | undefined;
export function argument(name: string, fallback: string): string;
export function argument(name: string, fallback?: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1]! : fallback;
}

/** The comma-separated values after `--name` (`--seeds 1,2`), or those of `fallback`; empty items dropped. */
export function list(name: string, fallback: string): string[] {
  return argument(name, fallback).split(',').filter(Boolean);
}

/** Whether `--name` is on the command line. */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** The positive whole number after `--name`, or `fallback`; anything else is an error naming the option. */
export function positiveInteger(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}
