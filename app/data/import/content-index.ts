/**
 * Duplicate detection by content hash across the project and the running import. Files are
 * processed concurrently but claim their content in walk order (each waits for the files before
 * it to hash, or to drop out), so the first copy in walk order is the original whatever the
 * timing; later copies wait to learn whether that original turned out to be a good image.
 */

/** The answer to {@link ContentIndex.claim}. */
export type Claim =
  /** This file is the first with its content: report whether it imported, so waiters can go on. */
  | { first: true; settle: (imported: boolean) => void }
  /** Resolves with the path of the good image this file duplicates, or null if there is none. */
  | { first: false; original: Promise<string | null> };

/**
 * What a file's import asks of the import's content index; {@link ContentIndex} in the importing
 * thread, a message proxy in an import worker (`import-worker.ts`).
 */
export interface ContentClaims {
  claimInOrder(sha256: string, path: string, index: number): Promise<Claim>;
  claim(sha256: string, path: string): Claim | Promise<Claim>;
  pass(index: number): void;
}

/** Content hash → first file with that content, for one project during one import. */
export class ContentIndex implements ContentClaims {
  readonly #firsts = new Map<string, { path: string; imported: Promise<boolean> }>();
  /** Walk-order index of the next file allowed to claim. */
  #turn = 0;
  readonly #passed = new Set<number>();
  readonly #waiting = new Map<number, () => void>();

  /** Seeds the index with the project's good images (`ImageStore.hashes`). */
  constructor(existing: ReadonlyMap<string, { path: string }>) {
    for (const [sha256, image] of existing)
      this.#firsts.set(sha256, { path: image.path, imported: Promise.resolve(true) });
  }

  /**
   * Claims `sha256` for the file at walk-order `index`, after every earlier file has claimed or
   * passed, or says which file holds that content already. Passes the file's turn.
   */
  async claimInOrder(sha256: string, path: string, index: number): Promise<Claim> {
    if (index !== this.#turn) await new Promise<void>((resolve) => this.#waiting.set(index, resolve));
    const claim = this.claim(sha256, path);
    this.pass(index);
    return claim;
  }

  /** Gives up the turn of a file that will not claim (unchanged, unreadable); idempotent. */
  pass(index: number): void {
    if (index < this.#turn) return;
    this.#passed.add(index);
    while (this.#passed.delete(this.#turn)) this.#turn++;
    const next = this.#waiting.get(this.#turn);
    if (next) {
      this.#waiting.delete(this.#turn);
      next();
    }
  }

  /** Claims `sha256` for `path` now, or says which file holds it already. */
  claim(sha256: string, path: string): Claim {
    const first = this.#firsts.get(sha256);
    // A changed-then-restored file keeps its own row: it is not a duplicate of itself.
    if (first && first.path !== path) {
      return { first: false, original: first.imported.then((imported) => (imported ? first.path : null)) };
    }
    let settle!: (imported: boolean) => void;
    const imported = new Promise<boolean>((resolve) => (settle = resolve));
    const entry = { path, imported };
    this.#firsts.set(sha256, entry);
    return {
      first: true,
      settle: (ok) => {
        // A failed claimant hands the content back, so the next good copy becomes the first.
        if (!ok && this.#firsts.get(sha256) === entry) this.#firsts.delete(sha256);
        settle(ok);
      },
    };
  }
}
