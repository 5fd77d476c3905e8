/**
 * Entry ids given in one tick, per key, sent as one request: how
 * `GroupDelivery.ack()` and `nack()` of a group coalesce. `fetch()` then
 * `Promise.all(ds.map((d) => d.ack()))` costs one `ack` request instead of
 * one per delivery; every caller's promise settles with that request.
 *
 * @module
 */

/** Most ids per request (ampd takes up to 10 000). */
export const MAX_IDS_PER_REQUEST = 5000;

interface Batch {
  ids: string[];
  send: (ids: string[]) => Promise<unknown>;
  done: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Coalesces ids per key until the end of the current tick.
 *
 * @example
 * ```ts
 * const requests: string[][] = [];
 * const acks = new IdBatcher();
 * const send = (ids: string[]) => Promise.resolve(requests.push(ids));
 * await Promise.all([acks.add("coders", "1-0", send), acks.add("coders", "2-0", send)]);
 * if (requests.length !== 1 || requests[0].length !== 2) throw new Error("one request with both ids expected");
 * ```
 */
export class IdBatcher {
  #batches = new Map<string, Batch>();
  #scheduled = false;

  /**
   * Adds `id` to this tick's batch for `key` (sent with `send`, the one of
   * the first id of the batch); resolves when its request is answered,
   * rejects with the request's error.
   */
  add(key: string, id: string, send: (ids: string[]) => Promise<unknown>): Promise<void> {
    let b = this.#batches.get(key);
    if (b === undefined) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      b = { ids: [], send, done, resolve, reject };
      this.#batches.set(key, b);
    }
    b.ids.push(id);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    }
    return b.done;
  }

  #flush(): void {
    this.#scheduled = false;
    const batches = this.#batches;
    this.#batches = new Map();
    for (const b of batches.values()) {
      const sent: Promise<unknown>[] = [];
      for (let i = 0; i < b.ids.length; i += MAX_IDS_PER_REQUEST) {
        try {
          sent.push(b.send(b.ids.slice(i, i + MAX_IDS_PER_REQUEST)));
        } catch (e) {
          sent.push(Promise.reject(e)); // a throw from send (a closed port) rejects like a failed request
        }
      }
      Promise.all(sent).then(() => b.resolve(), b.reject);
    }
  }
}
