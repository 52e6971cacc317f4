/**
 * Puts what finishes in any order back into walk order: each value is handed on once every
 * value before it has been, so rows get ids in walk order whatever the timing.
 */
export class InWalkOrder<T> {
  readonly #waiting = new Map<number, T>();
  #next = 0;

  /** @param handle called with each value, in index order. */
  constructor(private readonly handle: (value: T) => void) {}

  /** Adds the value of walk index `index` (each index once) and hands on every value now in order. */
  add(index: number, value: T): void {
    this.#waiting.set(index, value);
    while (this.#waiting.has(this.#next)) {
      const ready = this.#waiting.get(this.#next)!;
      this.#waiting.delete(this.#next++);
      this.handle(ready);
    }
  }

  /** Hands on what is left, in index order, skipping the gaps (files never finished: cancelled or failed). */
  drain(): void {
    const rest = [...this.#waiting.keys()].sort((a, b) => a - b);
    for (const index of rest) {
      const value = this.#waiting.get(index)!;
      this.#waiting.delete(index);
      this.handle(value);
    }
    this.#next = Infinity;
  }

  /** Values waiting for an earlier one. */
  get waiting(): number {
    return this.#waiting.size;
  }
}
