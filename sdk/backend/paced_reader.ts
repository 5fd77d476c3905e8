/**
 * A credit-paced reader: follows one stream from a cursor and hands entries
 * to a sink, never reading more than the credit granted, and pausing while
 * the sink is backed up. ampd's subscriptions and the in-process bus both run
 * on it, so a slow consumer never makes either buffer without bound. Entries
 * past `expiresAt` are skipped (the cursor moves past them; they use no credit).
 *
 * @module
 */
import { Backoff } from "../backoff.ts";
import { readLive } from "./live_read.ts";
import type { SharedRead } from "./shared_reader.ts";
import { BackendUnavailableError, type StreamBackend, type StreamEntry } from "./types.ts";

/** Most entries one hand-over carries. */
export const MAX_BATCH = 256;
/** How long one blocked read waits before re-arming (ms). */
export const BLOCK_MS = 5000;

/** Where a paced reader delivers. */
export interface PacedSink {
  /** Takes a batch (in stream order). */
  push(entries: StreamEntry[]): void;
  /** True while the consumer is backed up: reading waits for `drained()`. */
  full?(): boolean;
  drained?(): Promise<void>;
  /** Called for unexpected read failures (the reader waits and retries). */
  warn?(message: string): void;
}

/** Follows a stream for one consumer, paced by credit. */
export class PacedReader {
  readonly stream: string;
  /** Entries are read after this id; advances with every batch, expired entries included. */
  cursor: string;
  /** Entries the consumer may still receive. */
  credit: number;
  #backend: StreamBackend;
  #sink: PacedSink;
  #abort = new AbortController();
  #wake: (() => void) | undefined;
  #stopped = false;
  #shared: SharedRead | undefined;

  /**
   * With `opts.shared` (a `sharedReader()` of the same stream and backend),
   * entries come from the stream's shared read instead of reads of its own;
   * it is released on `stop()`.
   */
  constructor(backend: StreamBackend, opts: { stream: string; cursor: string; credit: number; sink: PacedSink; shared?: SharedRead }) {
    this.#backend = backend;
    this.#shared = opts.shared;
    this.stream = opts.stream;
    this.cursor = opts.cursor;
    this.credit = opts.credit;
    this.#sink = opts.sink;
  }

  /** Grants `n` more entries. */
  addCredit(n: number): void {
    this.credit += n;
    this.#wakeUp();
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const t = ms === undefined ? undefined : setTimeout(resolve, ms);
      this.#wake = () => {
        if (t !== undefined) clearTimeout(t);
        resolve();
      };
    });
  }

  /** Runs until stopped. */
  async run(): Promise<void> {
    const sink = this.#sink;
    const backoff = new Backoff();
    while (!this.#stopped) {
      if (this.credit <= 0) {
        await this.#sleep();
        continue;
      }
      if (sink.full?.()) {
        await sink.drained!();
        continue;
      }
      let batches;
      try {
        const count = Math.min(this.credit, MAX_BATCH);
        if (this.#shared !== undefined) {
          const b = await this.#shared.read(this.cursor, { count, signal: this.#abort.signal });
          batches = b === undefined ? [] : [b];
        } else {
          batches = await readLive(this.#backend, [{ stream: this.stream, after: this.cursor }], { count, block: BLOCK_MS, signal: this.#abort.signal });
        }
        backoff.reset();
      } catch (e) {
        if (this.#stopped) return;
        if (!(e instanceof BackendUnavailableError)) sink.warn?.(`reading ${this.stream}: ${(e as Error).message}`);
        // The backend is down or hiccuped: wait and re-arm from the same cursor; nothing is skipped.
        await this.#sleep(backoff.next());
        continue;
      }
      if (this.#stopped) return;
      if (batches.length === 0) continue;
      const { entries, last } = batches[0];
      this.cursor = last;
      if (entries.length === 0) continue; // all expired: read on after them
      this.credit -= entries.length;
      sink.push(entries);
    }
  }

  /** Stops; a blocked read ends at once. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    this.#shared?.release();
    this.#wakeUp();
  }
}
