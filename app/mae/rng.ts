/**
 * Seeded, serialisable pseudo-random numbers (sfc32, Chris Doty-Humphrey's "small fast
 * counting" generator). Every random choice in model init, masking and augmentation goes
 * through an explicit `Rng` so a run can be checkpointed and resumed bit-for-bit.
 */

/** The four 32-bit words of an sfc32 state; what a checkpoint stores. */
export type RngState = [number, number, number, number];

/** splitmix32: spreads a (seed, stream) pair over 32 bits so nearby seeds give unrelated streams. */
function splitmix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Named independent streams derived from one run seed. */
export const RNG_STREAMS = { init: 1, data: 2, mask: 3, preview: 4 } as const;

/** A small counter-based PRNG whose whole state is four uint32 words. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  private constructor(state: RngState) {
    [this.a, this.b, this.c, this.d] = state;
  }

  /** A generator for `seed`, optionally a separate `stream` of it (see `RNG_STREAMS`). */
  static fromSeed(seed: number, stream = 0): Rng {
    if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
    const s0 = splitmix32(seed ^ Math.imul(stream, 0x632be5ab));
    const s1 = splitmix32(s0);
    const s2 = splitmix32(s1);
    const rng = new Rng([s0, s1, s2, 1]);
    for (let i = 0; i < 15; i++) rng.nextUint32(); // warm up: sfc32 needs a few rounds to mix
    return rng;
  }

  /** Restores a generator saved with `state()`. */
  static fromState(state: RngState): Rng {
    if (state.length !== 4 || state.some((word) => !Number.isInteger(word))) {
      throw new Error(`rng state must be four integers, got ${JSON.stringify(state)}`);
    }
    return new Rng([state[0] >>> 0, state[1] >>> 0, state[2] >>> 0, state[3] >>> 0]);
  }

  /** The current state, to be saved and passed to `fromState`. */
  state(): RngState {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform float in [low, high). */
  uniformIn(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Shuffles `items` in place (Fisher–Yates from the end: one `int` per position) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  /** A standard normal sample (Box–Muller; uses two uniforms). */
  normal(): number {
    const u1 = 1 - this.uniform(); // (0, 1]: log stays finite
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
