/**
 * A byte budget for decoded images in flight. Small images never wait (the file concurrency
 * bounds them); a large 16-bit scene waits until enough decoded memory is free, so four
 * concurrent 10k × 10k satellite tiles cannot exhaust the heap.
 */
import os from 'node:os';

/** Default budget: an eighth of the machine's memory, between 256 MiB and 2 GiB. */
export function defaultMemoryBudget(): number {
  return Math.min(2 * 1024 ** 3, Math.max(256 * 1024 ** 2, os.totalmem() / 8));
}

/** What a file's import asks of the budget: {@link MemoryBudget}, or a worker's proxy of it. */
export interface ByteBudget {
  /** Waits until `bytes` can be reserved; resolves with the function that releases them. */
  reserve(bytes: number): Promise<() => void>;
}

/** Grants byte reservations in arrival order while they fit; one reservation always fits alone. */
export class MemoryBudget implements ByteBudget {
  #used = 0;
  readonly #queue: { bytes: number; grant: () => void }[] = [];

  constructor(readonly limit: number) {}

  /** Waits until `bytes` can be reserved; resolves with the function that releases them. */
  async reserve(bytes: number): Promise<() => void> {
    if (this.#queue.length === 0 && this.#fits(bytes)) return this.#take(bytes);
    return new Promise((resolve) => this.#queue.push({ bytes, grant: () => resolve(this.#take(bytes)) }));
  }

  /** Bytes reserved now. */
  get used(): number {
    return this.#used;
  }

  #fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.limit;
  }

  #take(bytes: number): () => void {
    this.#used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#used -= bytes;
      this.#grantWaiting();
    };
  }

  #grantWaiting(): void {
    // Granting takes the reservation at once, so the next waiter in this loop sees it.
    while (this.#queue.length > 0 && this.#fits(this.#queue[0]!.bytes)) this.#queue.shift()!.grant();
  }
}
