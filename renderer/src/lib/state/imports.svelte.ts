/**
 * Running and finished imports, per project, driven by the core's `importProgress` and
 * `importFinished` events. Views watch `revision(projectId)` to refetch what they show.
 */
import { getContext, setContext } from 'svelte';
import { SvelteMap } from 'svelte/reactivity';
import type { ImportProgress, ImportResult, StudioClient } from '$contract';

/** How often the grid refetches while images are arriving. */
const LIVE_REFRESH_MS = 2500;

/** Imports across all projects. */
export class ImportState {
  /** Latest progress of the running import of each project. */
  readonly running = new SvelteMap<number, ImportProgress>();
  /** The last finished import of each project, until dismissed. */
  readonly finished = new SvelteMap<number, ImportResult>();
  /** Projects whose `imports.start` call is in flight. */
  readonly starting = new SvelteMap<number, boolean>();
  readonly #revisions = new SvelteMap<number, number>();
  readonly #lastRefresh = new Map<number, { at: number; imported: number }>();

  constructor(
    private readonly client: StudioClient,
    /** Called whenever images of a project landed (during and after an import), e.g. to reload its counts. */
    private readonly onChanged: (projectId: number) => void,
  ) {
    client.on('importProgress', (progress) => this.#progress(progress));
    client.on('importFinished', (result) => this.#finish(result));
  }

  /** Changes whenever images of the project were added; 0 before any import. */
  revision(projectId: number): number {
    return this.#revisions.get(projectId) ?? 0;
  }

  /** Starts importing folders; progress then arrives as events. */
  async start(projectId: number, folders: string[]): Promise<void> {
    this.finished.delete(projectId);
    this.starting.set(projectId, true);
    try {
      const { importId } = await this.client.imports.start(projectId, folders);
      // Events may have come first; only fill in a placeholder when they did not.
      if (!this.running.has(projectId) && !this.finished.has(projectId)) {
        this.running.set(projectId, emptyProgress(importId, projectId));
      }
    } finally {
      this.starting.delete(projectId);
    }
  }

  /** Asks the core to stop the project's running import; it still reports what it did. */
  async cancel(projectId: number): Promise<void> {
    const progress = this.running.get(projectId);
    if (progress) await this.client.imports.cancel(progress.importId);
  }

  /** Hides the summary of the project's last import. */
  dismiss(projectId: number): void {
    this.finished.delete(projectId);
  }

  #progress(progress: ImportProgress): void {
    if (this.finished.get(progress.projectId)?.importId === progress.importId) return;
    this.running.set(progress.projectId, progress);
    const last = this.#lastRefresh.get(progress.projectId) ?? { at: 0, imported: 0 };
    const now = Date.now();
    if (progress.imported > last.imported && now - last.at > LIVE_REFRESH_MS) {
      this.#lastRefresh.set(progress.projectId, { at: now, imported: progress.imported });
      this.#bump(progress.projectId);
    }
  }

  #finish(result: ImportResult): void {
    this.running.delete(result.projectId);
    this.#lastRefresh.delete(result.projectId);
    this.finished.set(result.projectId, result);
    this.#bump(result.projectId);
  }

  #bump(projectId: number): void {
    this.#revisions.set(projectId, this.revision(projectId) + 1);
    this.onChanged(projectId);
  }
}

function emptyProgress(importId: string, projectId: number): ImportProgress {
  return {
    importId,
    projectId,
    phase: 'walking',
    found: 0,
    processed: 0,
    imported: 0,
    skipped: 0,
    duplicates: 0,
    failed: 0,
    etaSeconds: null,
    filesPerSecond: 0,
  };
}

const KEY = Symbol('imports');

/** Provides the import state; call once in the root component. */
export function setImports(state: ImportState): ImportState {
  return setContext(KEY, state);
}

/** The import state provided by the root component. */
export function useImports(): ImportState {
  return getContext<ImportState>(KEY);
}
