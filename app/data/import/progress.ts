/** Progress events of an import, throttled to one every {@link PROGRESS_INTERVAL_MS} per phase. */
import type { ImportProgress } from '../../contract';

/** Least time between two progress events of the same phase. */
export const PROGRESS_INTERVAL_MS = 100;

/** Running counts of an import. */
export interface ImportCounts {
  processed: number;
  /** Files (not samples): imported + skipped + duplicates + failed = processed. */
  imported: number;
  skipped: number;
  duplicates: number;
  failed: number;
}

/** Files processed before an estimate of the time left is given. */
const ETA_MIN_FILES = 20;

/** Emits `walking` → `importing` → `done` events; phase changes and the end always go out. */
export class ProgressReporter {
  #phase: ImportProgress['phase'] = 'walking';
  #found = 0;
  #lastEmit = -Infinity;
  #importingSince = 0;

  constructor(
    private readonly importId: string,
    private readonly projectId: number,
    private readonly listener: ((progress: ImportProgress) => void) | undefined,
    readonly counts: ImportCounts = { processed: 0, imported: 0, skipped: 0, duplicates: 0, failed: 0 },
  ) {}

  /** Starts the walk. */
  startWalking(): void {
    this.#emit(true);
  }

  /** A file was found during the walk. */
  found(total: number): void {
    this.#found = total;
    this.#emit(false);
  }

  /** The walk is over: `total` files will be processed. */
  startImporting(total: number): void {
    this.#found = total;
    this.#phase = 'importing';
    this.#importingSince = performance.now();
    this.#emit(true);
  }

  /** The counts changed. */
  update(): void {
    this.#emit(false);
  }

  /** The import finished (or was cancelled). */
  done(): void {
    this.#phase = 'done';
    this.#emit(true);
  }

  #emit(force: boolean): void {
    if (!this.listener) return;
    const now = performance.now();
    if (!force && now - this.#lastEmit < PROGRESS_INTERVAL_MS) return;
    this.#lastEmit = now;
    const seconds = this.#phase === 'walking' ? 0 : (now - this.#importingSince) / 1000;
    const filesPerSecond = seconds > 0 ? this.counts.processed / seconds : 0;
    const left = this.#found - this.counts.processed;
    const etaSeconds =
      this.#phase === 'done'
        ? 0
        : this.counts.processed >= ETA_MIN_FILES && filesPerSecond > 0
          ? left / filesPerSecond
          : null;
    this.listener({
      importId: this.importId,
      projectId: this.projectId,
      phase: this.#phase,
      found: this.#found,
      ...this.counts,
      etaSeconds,
      filesPerSecond,
    });
  }
}
