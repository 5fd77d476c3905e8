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
 * for await (const n of { [Symbol.asyncIterator]: () => q }) console.log(n); // 1
 * ```
 */
export class AsyncQueue<T> implements AsyncIterator<T> {
  #chunks: T[] = [];
  #waiter: ((r: IteratorResult<T>) => void) | undefined;
  #ended = false;
  #onTake: ((left: number) => void) | undefined;

  constructor(onTake?: (left: number) => void) {
    this.#onTake = onTake;
  }

  push(chunk: T): void {
    if (this.#ended) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w({ value: chunk, done: false });
    } else this.#chunks.push(chunk);
  }

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
