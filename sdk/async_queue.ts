/**
 * The SDK's one async queue (transports' received chunks).
 *
 * @module
 */

/**
 * A queue that an async iterator drains: `push()` hands an item to a waiting
 * reader or keeps it, `end()` finishes the iteration. `onTake`, if given, is
 * called with the items left each time the reader takes a queued one: a
 * producer that paused its source resumes it from there, on the event rather
 * than on a timer.
 *
 * @example
 * ```ts
 * const q = new AsyncQueue<number>();
 * q.push(1);
 * q.end();
 * const got: number[] = [];
 * for await (const n of { [Symbol.asyncIterator]: () => q }) got.push(n);
 * if (got.join() !== "1") throw new Error(`got ${got}`);
 * ```
 */
export class AsyncQueue<T> implements AsyncIterator<T> {
  #chunks: T[] = [];
  #waiter: ((r: IteratorResult<T>) => void) | undefined;
  #ended = false;
  #onTake: ((left: number) => void) | undefined;

  /** `onTake(left)` runs each time the reader takes a queued item; defaults to none. */
  constructor(onTake?: (left: number) => void) {
    this.#onTake = onTake;
  }

  /** Hands `chunk` to the waiting reader, or queues it; ignored after `end()`. */
  push(chunk: T): void {
    if (this.#ended) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w({ value: chunk, done: false });
    } else this.#chunks.push(chunk);
  }

  /** Ends the iteration once the queued items are read; a waiting reader is told at once. */
  end(): void {
    this.#ended = true;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.({ value: undefined, done: true });
  }

  /** Items waiting to be read. */
  get length(): number {
    return this.#chunks.length;
  }

  /** The next item, waiting for a `push()` (not a timer) when none is queued. */
  next(): Promise<IteratorResult<T>> {
    if (this.#chunks.length > 0) {
      const chunk = this.#chunks.shift()!;
      this.#onTake?.(this.#chunks.length);
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiter = resolve));
  }
}

/** The queue of received chunks a transport's iterator drains. */
export class ChunkQueue extends AsyncQueue<Uint8Array> {}
