/**
 * The SDK's one retry delay: capped exponential backoff with jitter. Every
 * loop that waits to retry (the reconnecting client, a subscription's reader
 * after a backend error, ampd's Redis reconnection) asks it for the next
 * wait, so that many clients cut off by the same outage do not come back in
 * step.
 *
 * @module
 */

/** Options of `Backoff`. */
export interface BackoffOptions {
  /** First wait, in ms. Defaults to 50. */
  initialMs?: number;
  /** Longest wait, in ms. Defaults to 1000. */
  maxMs?: number;
  /**
   * Share of each wait that is random, from 0 (none) to 1. Defaults to 0.5:
   * each wait is between half and all of the exponential delay.
   */
  jitter?: number;
}

/**
 * The wait before retry number `attempt` (0 for the first retry): `initialMs`
 * doubled per attempt up to `maxMs`, less a random share of `jitter`.
 *
 * @example
 * ```ts
 * const ms = backoffDelay(3, { initialMs: 50, maxMs: 1000 }); // 200 to 400
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 50;
  const max = options.maxMs ?? 1000;
  const jitter = Math.min(Math.max(options.jitter ?? 0.5, 0), 1);
  const base = Math.min(initial * 2 ** Math.min(attempt, 30), max);
  return Math.round(base * (1 - jitter * Math.random()));
}

/**
 * The delays of one retry loop: `next()` gives the wait before the next
 * attempt, `reset()` starts over after a success.
 *
 * @example
 * ```ts
 * const backoff = new Backoff({ initialMs: 25 });
 * const first = backoff.next();  // 13 to 25 ms
 * const second = backoff.next(); // 25 to 50 ms
 * backoff.reset();
 * ```
 */
export class Backoff {
  #options: BackoffOptions;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#options = options;
  }

  /** The wait before the next attempt, in ms. */
  next(): number {
    return backoffDelay(this.#attempt++, this.#options);
  }

  /** Starts over from `initialMs`. */
  reset(): void {
    this.#attempt = 0;
  }
}
