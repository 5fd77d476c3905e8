/**
 * The rows of a bus benchmark and their rounds: `Recorder.measure()` times
 * one round of one row (with the CPU of the processes it names) and keeps
 * every round's rate, so a table can print min / median / max over rounds.
 * Shared by the default bus run (`bus.ts`) and `--durable` (`_durable.ts`).
 *
 * @module
 */
import { log, timeWithCpu, withTimeout } from "./_proc.ts";
import { median, quantile, type Rounds } from "./_stats.ts";
import { cpuLine, formatInt } from "./_table.ts";

/** One row of a table, summed over its rounds. */
export interface Rate extends Rounds {
  name: string;
  backend: string;
  /** Per round, when the row timed each request: its p50 and p99 in ms. */
  acks?: { p50: number; p99: number }[];
  /** Per round, extra figures a row keeps besides its rate (CPU µs per add, say). */
  extra: Record<string, number>[];
}

/** One row's place in the tables and the processes its CPU columns meter. */
export interface RowOf {
  backend: string;
  name: string;
  pids: Record<string, number>;
}

/** What `measure()` may resolve with: the items handled, and figures to keep beside the rate. */
export type Measured = number | void | { count: number; extra?: Record<string, number> };

/**
 * Rows and their rounds, in the order they were first measured.
 *
 * @example
 * ```ts
 * const rec = new Recorder({ n: 1000, timeoutMs: 60_000 });
 * await rec.measure({ backend: "redis", name: "XADD", pids: {} }, () => windowed({ count: 1000, inflight: 100 }, (i) => send(i)));
 * rec.row({ backend: "redis", name: "XADD" })?.rates; // one rate per round
 * ```
 */
export class Recorder {
  rows: Rate[] = [];
  #byKey = new Map<string, Rate>();
  #n: number;
  #timeoutMs: number;

  /** `n`: the count a row handled when its function resolves with nothing; `timeoutMs`: the most one round of a row may take. */
  constructor({ n, timeoutMs }: { n: number; timeoutMs: number }) {
    this.#n = n;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Times `fn` with CPU metering and records one round of a row: `fn`
   * resolves with the number of items it handled (or `{ count, extra }`), or
   * with nothing for N. Resolves with the rate.
   */
  async measure({ backend, name, pids }: RowOf, fn: () => Promise<Measured>): Promise<number> {
    const key = `${backend}|${name}`;
    let row = this.#byKey.get(key);
    if (row === undefined) {
      row = { name, backend, rates: [], cpus: [], extra: [] };
      this.#byKey.set(key, row);
      this.rows.push(row);
    }
    const { value, seconds, cpu } = await timeWithCpu(pids, () => withTimeout(fn(), { what: `${backend} ${name}`, ms: this.#timeoutMs }));
    const count = typeof value === "number" ? value : typeof value === "object" ? value.count : this.#n;
    const rate = count / seconds;
    row.rates.push(rate);
    row.cpus.push(cpu);
    row.extra.push(typeof value === "object" ? value.extra ?? {} : {});
    log(`  ${backend.padEnd(12)} ${name.padEnd(44)} ${formatInt(rate).padStart(10)} /s  cpu ${cpuLine(cpu)}${count === this.#n ? "" : `  (${formatInt(count)} in ${seconds.toFixed(2)} s)`}`);
    return rate;
  }

  /** Adds the p50 and p99 of one round's request times (ms) to the row last measured as `backend`/`name`. */
  ackTimes({ backend, name }: { backend: string; name: string }, times: number[]): void {
    const r = this.#byKey.get(`${backend}|${name}`)!;
    const xs = [...times].sort((a, b) => a - b);
    (r.acks ??= []).push({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99) });
  }

  /** The row, or `undefined` when it was never measured. */
  row({ backend, name }: { backend: string; name: string }): Rate | undefined {
    return this.#byKey.get(`${backend}|${name}`);
  }

  /** The median rate of a row over its rounds. */
  get(at: { backend: string; name: string }): number | undefined {
    const r = this.row(at);
    return r ? median(r.rates) : undefined;
  }

  /** The row's rate of every round, in round order (empty when never measured). */
  rounds(at: { backend: string; name: string }): number[] {
    return this.row(at)?.rates ?? [];
  }
}

/**
 * `min / median / max` of some rounds' figures, each by `fmt`; one figure
 * alone when there is one round.
 *
 * @example
 * ```ts
 * minMedMax([3, 1, 2], (x) => x.toFixed(1)) // "1.0 / 2.0 / 3.0"
 * ```
 */
export function minMedMax(xs: readonly number[], fmt: (x: number) => string = formatInt): string {
  if (xs.length === 0) return "—";
  if (xs.length === 1) return fmt(xs[0]);
  return `${fmt(Math.min(...xs))} / ${fmt(median(xs))} / ${fmt(Math.max(...xs))}`;
}

/**
 * The systems of a round, in the order round `r` runs them: rotated by one
 * each round, so none always runs first or right after the same neighbour.
 *
 * @example
 * ```ts
 * rotated(["a", "b", "c"], 1) // ["b", "c", "a"]
 * ```
 */
export function rotated<T>(xs: readonly T[], r: number): T[] {
  return xs.map((_, i) => xs[(i + r) % xs.length]);
}
