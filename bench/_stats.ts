/**
 * The numbers every benchmark takes from its samples: the median of rounds,
 * their spread, a quantile of latencies, the machine's own timer noise, and
 * `windowed()`, which keeps a fixed number of requests in flight (up to a
 * count or a deadline). No imports, so the serializer bench (Bun, Deno and a
 * Node bundle) can use it too.
 *
 * @module
 */

/**
 * The median of `xs` (the mean of the middle two for an even count). Rounds
 * are summarised by their median, not their mean: the machine is shared and
 * the median shrugs off one disturbed round.
 *
 * @example
 * ```ts
 * median([3, 1, 2, 10]) // 2.5
 * ```
 */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * (max − min) / median of several rounds, or `undefined` for fewer than two:
 * one round has no spread to show.
 *
 * @example
 * ```ts
 * spread([90, 100, 110]) // 0.2
 * ```
 */
export function spread(xs: readonly number[]): number | undefined {
  return xs.length > 1 ? (Math.max(...xs) - Math.min(...xs)) / median(xs) : undefined;
}

/**
 * The `p` quantile (0..1) of ascending `sorted`: the sample at index
 * `floor(p · n)`, clamped to the last one (so `quantile(s, 0.99)` of 1000
 * samples is `s[990]`).
 *
 * @example
 * ```ts
 * quantile([1, 2, 3, 4], 0.5) // 3
 * ```
 */
export function quantile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Samples in a {@link timerNoise} measurement: its p99 rests on the 10 latest. */
export const NOISE_SAMPLES = 1000;

/**
 * How late `setTimeout(f, 1)` fires here, idle: the machine's own scheduling
 * noise, printed next to latencies so that a p99 can be read against it.
 * Takes about `samples` ms (more on a loaded machine).
 *
 * @example
 * ```ts
 * const noise = await timerNoise(); // { p50: 0.09, p99: 0.23, max: 3.5 } (ms late)
 * ```
 */
export async function timerNoise(samples: number = NOISE_SAMPLES): Promise<{ p50: number; p99: number; max: number }> {
  const gaps: number[] = [];
  let last = performance.now();
  await new Promise<void>((resolve) => {
    const f = () => {
      const now = performance.now();
      gaps.push(now - last - 1);
      last = now;
      if (gaps.length < samples) setTimeout(f, 1);
      else resolve();
    };
    setTimeout(f, 1);
  });
  gaps.sort((a, b) => a - b);
  return { p50: quantile(gaps, 0.5), p99: quantile(gaps, 0.99), max: gaps[gaps.length - 1] };
}

/**
 * Runs `fn(0..count-1)` with at most `inflight` promises pending, starting
 * the next as each settles; rejects on the first failure. With `until` (a
 * `performance.now()` time), starts nothing after it, so a slow path stops
 * early. Resolves with how many calls settled, once every started one has
 * (at once with 0 for `count = 0`).
 *
 * @example
 * ```ts
 * await windowed({ count: msgs.length, inflight: 1000 }, (i) => client.port.add("s", msgs[i]));
 * const done = await windowed({ count: msgs.length, inflight: 1, until: performance.now() + 3000 }, (i) => client.port.add("s", msgs[i]));
 * ```
 */
export function windowed(
  { count: n, inflight, until = Infinity }: { count: number; inflight: number; until?: number },
  fn: (i: number) => Promise<unknown>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    if (n === 0) return resolve(0);
    let next = 0;
    let done = 0;
    let last = n;
    const launch = () => {
      if (last === n && until !== Infinity && performance.now() >= until) last = next;
      if (done === last) return resolve(done);
      while (next < last && next - done < inflight) {
        fn(next++).then(() => {
          done++;
          launch();
        }, reject);
      }
    };
    launch();
  });
}

/** The samples of one row over its rounds: a rate per round, and each process's CPU share per round. */
export interface Rounds {
  /** Items per second of each round. */
  rates: number[];
  /** CPU per process of each round, as a fraction of one core. */
  cpus: Record<string, number>[];
}

/** The median CPU share of process `name` over the rounds, or `undefined` when it was not metered. */
export function cpuMedian(r: Rounds, name: string): number | undefined {
  return r.cpus[0]?.[name] === undefined ? undefined : median(r.cpus.map((c) => c[name]));
}
