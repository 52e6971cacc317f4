/** Command-line parsing shared by every `mae-studio` command. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { StudioError } from '../contract';

/** A mistake in how the command was called: exit code 1 with the message. */
export class UsageError extends StudioError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's flags strictly; an unknown flag or a missing value is a UsageError. */
export function parseCommand<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...options, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message.replace(/^TypeError \[\w+\]: /, '')}`);
  }
}

/** A required string flag, or a UsageError naming it. */
export function required(command: string, values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`${command}: --${name} is required`);
  return value;
}

/** A positive integer flag (e.g. `--project 3`), or a UsageError saying what was given. */
export function positiveInt(command: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0) {
    throw new UsageError(`${command}: --${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** Where command output goes: one JSON document with `--json`, human text otherwise. */
export interface Output {
  json: boolean;
  /** Prints the command's result. */
  result(value: unknown, human: () => string): void;
  /** Progress for people, on stderr; silent with --json. `important` lines are never thinned out. */
  progress(line: string, important?: boolean): void;
}

/** Output for a command run. */
export function createOutput(json: boolean): Output {
  const live = process.stderr.isTTY === true;
  let lastLength = 0;
  let lastLogged = 0;
  return {
    json,
    result(value, human) {
      if (live && lastLength) process.stderr.write('\n');
      process.stdout.write(json ? JSON.stringify(value) + '\n' : human() + '\n');
    },
    progress(line, important = false) {
      if (json) return;
      if (live) {
        process.stderr.write('\r' + line.padEnd(lastLength));
        lastLength = line.length;
      } else if (important || Date.now() - lastLogged >= 1000) {
        // Logs and pipes get a line a second, not a redraw per update.
        lastLogged = Date.now();
        process.stderr.write(line + '\n');
      }
    },
  };
}
