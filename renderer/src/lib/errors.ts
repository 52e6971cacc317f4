/** Turns anything thrown into what a person should read. */
import { StudioError } from '$contract';

interface Issue {
  path?: string[];
  message?: string;
}

/**
 * The message to show for an error. For argument validation the core prefixes the channel and
 * argument path (`projects.create: argument 0.name: a project needs a name`); a form wants only
 * the last part, so `inline` returns the first issue's own message when there is one.
 */
export function errorMessage(error: unknown, inline = false): string {
  if (error instanceof StudioError) {
    if (inline && error.code === 'INVALID_ARGUMENT') {
      const issues = (error.details as { issues?: Issue[] } | undefined)?.issues;
      const first = issues?.[0]?.message;
      if (first) return first;
    }
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
