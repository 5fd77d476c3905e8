/**
 * The SDK's one async queue: transports' received chunks, `streamIter()`'s
 * deliveries and `listen()`'s fetched entries all wait in it.
 *
 * @module
 */

/**
 * A queue that an async iterator drains: `push()` hands an item to a waiting
 * reader or keeps it, `end()` finishes the iteration, `fail()` makes the
 * reader's next call reject once the queued items are read. `onTake`, if
 * given, is called with the items left each time the reader takes a queued
 * one: a producer that paused its source resumes it from there, on the event
 * rather than on a timer.
 *
 * @example
 * ```ts
 * import { AsyncQueue } from "./async_queue.ts";
 *
 * const q = new AsyncQueue<number>();
 * q.push(1);
 * q.end();
 * const got: number[] = [];
 * for await (const n of { [Symbol.asyncIterator]: () => q }) got.push(n);
 * if (got.join() !== "1") throw new Error(`got ${got}`);
 * ```
 */
export class AsyncQueue<T> implements AsyncIterator<T> {
  #items: T[] = [];
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | undefined;
  #ended = false;
  #error: Error | undefined;
  #onTake: ((left: number) => void) | undefined;

  /** `onTake(left)` runs each time the reader takes a queued item; defaults to none. */
  constructor(onTake?: (left: number) => void) {
    this.#onTake = onTake;
  }

  /** Hands `item` to the waiting reader, or queues it; ignored after `end()` or `fail()`. */
  push(item: T): void {
    if (this.#ended || this.#error !== undefined) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w.resolve({ value: item, done: false });
    } else this.#items.push(item);
  }

  /** Ends the iteration once the queued items are read; a waiting reader is told at once. */
  end(): void {
    this.#ended = true;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.resolve({ value: undefined, done: true });
  }

  /**
   * Fails the iteration: once the queued items are read, `next()` rejects
   * with `error` (the first one given), also after `end()`.
   */
  fail(error: Error): void {
    this.#error ??= error;
    const w = this.#waiter;
    if (w === undefined) return;
    this.#waiter = undefined;
    w.reject(this.#error);
  }

  /** Drops the queued items (a reader that stopped early). */
  clear(): void {
    this.#items = [];
  }

  /** Items waiting to be read. */
  get length(): number {
    return this.#items.length;
  }

  /** The next item, waiting for a `push()` (not a timer) when none is queued. */
  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) {
      const item = this.#items.shift()!;
      this.#onTake?.(this.#items.length);
      return Promise.resolve({ value: item, done: false });
    }
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }
}

/**
 * The queue of received chunks a transport's iterator drains.
 *
 * @example
 * ```ts
 * import { ChunkQueue } from "./async_queue.ts";
 *
 * const q = new ChunkQueue();
 * q.push(new Uint8Array([1]));
 * if (q.length !== 1) throw new Error("one chunk is queued");
 * ```
 */
export class ChunkQueue extends AsyncQueue<Uint8Array> {}
