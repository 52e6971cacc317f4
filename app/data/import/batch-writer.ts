/**
 * Buffers image rows and writes them in batched transactions. Duplicate rows point at their
 * original's id, so they are written once the original's row has one.
 */
import type { ImageStore, NewImage } from '../../store/images';

/** A row of a duplicate, waiting for the id of the image it repeats. */
export interface DuplicateRow {
  row: NewImage;
  originalPath: string;
}

/** Batches rows of one import into `ImageStore.insertMany` calls. */
export class BatchWriter {
  readonly #rows: NewImage[] = [];
  #duplicates: DuplicateRow[] = [];
  readonly #ids = new Map<string, number>();
  /** Milliseconds spent in the database, for the benchmark's breakdown. */
  databaseMs = 0;

  /**
   * @param knownIds path → id of the project's good images before this import.
   * @param batchSize rows per transaction.
   */
  constructor(
    private readonly images: ImageStore,
    knownIds: ReadonlyMap<string, number>,
    private readonly batchSize = 200,
  ) {
    for (const [path, id] of knownIds) this.#ids.set(path, id);
  }

  /** Queues a row (an imported image or a failed file); writes a batch when one is full. */
  add(row: NewImage): void {
    this.#rows.push(row);
    if (this.#rows.length + this.#duplicates.length >= this.batchSize) this.flush();
  }

  /** Queues the row of a duplicate of `originalPath`. */
  addDuplicate(duplicate: DuplicateRow): void {
    this.#duplicates.push(duplicate);
    if (this.#rows.length + this.#duplicates.length >= this.batchSize) this.flush();
  }

  /** Writes everything that can be written now. */
  flush(): void {
    const started = performance.now();
    if (this.#rows.length > 0) {
      const rows = this.#rows.splice(0);
      const ids = this.images.insertMany(rows);
      rows.forEach((row, index) => {
        if (row.error === null && (row.frame ?? 0) === 0) this.#ids.set(row.path, ids[index]!);
      });
    }
    const ready = this.#duplicates.filter((duplicate) => this.#ids.has(duplicate.originalPath));
    if (ready.length > 0) {
      this.#duplicates = this.#duplicates.filter((duplicate) => !this.#ids.has(duplicate.originalPath));
      this.images.insertMany(
        ready.map(({ row, originalPath }) => ({ ...row, duplicateOf: this.#ids.get(originalPath)! })),
      );
    }
    this.databaseMs += performance.now() - started;
  }

  /** Rows still waiting (duplicates whose original has no row yet); zero after a final flush. */
  get pending(): number {
    return this.#rows.length + this.#duplicates.length;
  }
}
