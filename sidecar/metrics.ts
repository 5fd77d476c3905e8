/**
 * ampd's delivery counters and backend round-trip histograms, for `/metrics`
 * (sidecar/web/exposition.ts writes them out in the Prometheus text format).
 * The ops count with one-line hooks: plain integer fields, and a histogram
 * that is an array of bucket counts indexed by a short scan, so that counting
 * allocates nothing and looks nothing up per message. Everything else
 * `/metrics` shows (adds, duplicates, connections, claims, dead letters...)
 * is read at scrape time from counters ampd already keeps.
 *
 * No dependencies: ampd's start-up imports this module.
 *
 * @module
 */

/**
 * Upper bounds (seconds) of the round-trip histogram's buckets: 100 µs to
 * 2.5 s. An add on the memory backend lands in the first, one on SQLite or a
 * local Redis in the next few; a Redis that stops answering fills the last.
 */
export const ROUND_TRIP_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
// The same bounds in ms, the unit observations arrive in.
const BOUNDS_MS = ROUND_TRIP_BUCKETS.map((s) => s * 1000);

/**
 * A histogram of durations with the fixed buckets `ROUND_TRIP_BUCKETS`.
 *
 * @example
 * ```ts
 * const h = new RoundTrips();
 * const t0 = performance.now();
 * await backend.add(stream, entry);
 * h.observe(performance.now() - t0);
 * ```
 */
export class RoundTrips {
  /** Observations per bucket (not cumulative); the last counts those above every bound. */
  readonly counts: number[] = new Array(BOUNDS_MS.length + 1).fill(0);
  /** Sum of every observation, in ms. */
  sumMs = 0;
  /** Observations. */
  count = 0;

  /** Counts one duration, in ms. */
  observe(ms: number): void {
    let i = 0;
    while (i < BOUNDS_MS.length && ms > BOUNDS_MS[i]) i++;
    this.counts[i]++;
    this.sumMs += ms;
    this.count++;
  }
}

/** The backend calls whose round trips are timed, by the label `/metrics` gives them. */
export const TIMED_CALLS = ["add", "ack", "nack"] as const;
/** A timed backend call. */
export type TimedCall = typeof TIMED_CALLS[number];

/**
 * Counters of what ampd delivered and what consumers answered, kept since
 * start (`ServerState.metrics`).
 *
 * @example
 * ```ts
 * const m = new Metrics();
 * m.delivered += entries.length; // in group.read
 * m.roundTrips.add.observe(1.2);
 * ```
 */
export class Metrics {
  /** Entries handed to consumers of groups (`group.read` and `claim`), redeliveries included. */
  delivered = 0;
  /** Entries acknowledged (`ack`): those that were pending. */
  acked = 0;
  /** Entries given back for redelivery (`nack`). */
  nacked = 0;
  /** Round trips of backend calls, by call. */
  readonly roundTrips: Record<TimedCall, RoundTrips> = { add: new RoundTrips(), ack: new RoundTrips(), nack: new RoundTrips() };
}
