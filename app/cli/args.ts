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
    return parseArgs({
      args: argv,
      options: { ...options, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
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

/**
 * Output for a command run. With `--json`, anything else written to stdout from JavaScript
 * (a library's `console.log`, a codec's messages) goes to stderr instead, so that stdout holds
 * the one JSON document and nothing else.
 */
export function createOutput(json: boolean): Output {
  const live = process.stderr.isTTY === true;
  let lastLength = 0;
  let lastLogged = 0;
  const writeStdout = json ? guardStdout() : process.stdout.write.bind(process.stdout);
  return {
    json,
    result(value, human) {
      if (live && lastLength) process.stderr.write('\n');
      writeStdout(json ? JSON.stringify(value) + '\n' : human() + '\n');
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

/** The real stdout writer, once {@link guardStdout} has turned `process.stdout.write` aside. */
let realStdoutWrite: ((text: string) => boolean) | null = null;

/** Sends stdout writes to stderr from now on; returns the real stdout writer for the result. */
function guardStdout(): (text: string) => boolean {
  if (!realStdoutWrite) {
    realStdoutWrite = process.stdout.write.bind(process.stdout) as (text: string) => boolean;
    process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  }
  return realStdoutWrite;
}
