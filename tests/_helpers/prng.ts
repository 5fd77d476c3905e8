/**
 * mulberry32: a small seeded PRNG, so that a failing fuzz run's choices can be
 * replayed from its seed.
 *
 * @example
 * ```ts
 * const rng = prng(42);
 * const frame = rng.bytes(rng.int(1, 64));
 * ```
 *
 * @module
 */

/** A seeded generator: floats in [0, 1), integers in [lo, hi], a pick from a list, random bytes. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  const bytes = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = int(0, 255);
    return b;
  };
  return { next, int, pick, bytes };
}

/** What `prng()` returns. */
export type Rng = ReturnType<typeof prng>;
