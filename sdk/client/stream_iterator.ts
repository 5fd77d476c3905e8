/**
 * The async iterator behind `streamIter()`: a subscription's pushes wait in
 * an `AsyncQueue`, and credit goes back to the sidecar as the application
 * takes them, so at most a window of entries is ever in flight.
 *
 * @module
 */
import { AsyncQueue } from "../async_queue.ts";
import { ConnectionClosedError } from "../errors.ts";
import type { RawEntry } from "./bus_port.ts";
import type { ClientCore, Delivery, DeliveryIterator } from "./types.ts";

/** Where a `StreamIterator` reads and how much it lets the sidecar send ahead. */
export interface StreamIteratorOptions {
  stream: string;
  /** `"0"`, `"$"` or an entry id to start after. */
  from: string;
  /** Most entries in flight (the credit window). */
  window: number;
  /** Called once when the iterator ends (`return()`). */
  onEnd: () => void;
}

/** The async iterator behind `streamIter()`. `AmpClient.streamIter()` makes it. */
export class StreamIterator implements DeliveryIterator {
  #client: ClientCore;
  #stream: string;
  #window: number;
  #sub: Promise<number>;
  // Taking a queued delivery may free credit: the queue says so.
  #queue: AsyncQueue<Delivery> = new AsyncQueue((): void => this.#grant());
  #received = 0;
  #granted = 0;
  #done = false;
  #onEnd: () => void;
  /** Resolves with the entry id the subscription starts after; see `DeliveryIterator.ready`. */
  readonly ready: Promise<string>;

  constructor(client: ClientCore, options: StreamIteratorOptions) {
    const { stream, from, window, onEnd } = options;
    this.#client = client;
    this.#stream = stream;
    this.#window = window;
    this.#onEnd = onEnd;
    const port = client.port;
    const subscribed = port.subscribe(stream, { from, credit: window, onEntries: (entries) => this.#onEntries(entries) });
    this.#sub = subscribed.then((r) => r.sub);
    this.ready = subscribed.then((r) => r.from);
    this.#sub.catch((e) => this.#fail(e));
    this.ready.catch(() => {}); // the failure surfaces through next()
    port.closed().then(() => this.#fail(new ConnectionClosedError(`connection closed while following ${stream}`)));
  }

  #onEntries(entries: RawEntry[]): void {
    if (this.#done) return;
    this.#received += entries.length;
    for (const d of this.#client.deliveries(this.#stream, entries)) this.#queue.push(d);
    this.#grant(); // entries handed straight to a waiting reader, or skipped as invalid, were consumed at once
  }

  // Credit: the sidecar may send `window + granted - received` more entries. Entries
  // leave the window once consumed (taken from the queue, or skipped as invalid);
  // grant them back in batches of at least half a window.
  #grant(): void {
    const consumed = this.#received - this.#queue.length;
    const give = consumed - this.#granted;
    if (give >= this.#window / 2) {
      this.#granted += give;
      void this.#sub.then((sub) => this.#client.port.credit(sub, give)).catch((e) => this.#fail(e));
    }
  }

  #fail(e: Error): void {
    if (this.#done) return;
    this.#queue.fail(e);
  }

  /** The next delivery, in stream order. */
  next(): Promise<IteratorResult<Delivery>> {
    return this.#queue.next();
  }

  /** Stops following: the subscription is ended and queued deliveries are dropped. */
  async return(): Promise<IteratorResult<Delivery>> {
    if (!this.#done) {
      this.#done = true;
      this.#queue.clear();
      this.#onEnd();
      this.#queue.end();
      try {
        await this.#client.port.unsubscribe(await this.#sub);
      } catch {
        // connection already gone: nothing to unsubscribe
      }
    }
    return { value: undefined, done: true };
  }

  /** This iterator itself, for `for await`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Delivery> {
    return this;
  }
}
