/**
 * Blocked reads of the SQLite store: a read with `block` that found nothing
 * waits here, by stream, until a commit that added to one of its streams is
 * durable (`wake()`), its time is up, or its signal aborts. ampd is the
 * store's only writer, so its own commits are the only news there is.
 *
 * @module
 */
import { type BlockedRead, blockRead, disarmRead } from "../../sdk/backend/blocked_read.ts";
import type { StreamBatch } from "../../sdk/backend/types.ts";

/** Where a blocked read is, per stream ("$" already resolved). */
export interface WaitCursor {
  stream: string;
  ms: number;
  seq: number;
}

/** Reads what is after `cursors`, up to `count` per stream (the backend's query). */
export type Gather = (cursors: readonly WaitCursor[], count: number) => StreamBatch[];

type Waiter = BlockedRead<WaitCursor>;

/** The blocked reads of one store. */
export class BlockedReads {
  #byStream = new Map<string, Set<Waiter>>();
  #gather: Gather;

  constructor(gather: Gather) {
    this.#gather = gather;
  }

  /** Waits up to `wait.block` ms for entries after `cursors`; resolves `[]` on timeout or abort. */
  wait(cursors: WaitCursor[], wait: { count: number; block: number; signal: AbortSignal | undefined }): Promise<StreamBatch[]> {
    return blockRead(cursors, wait, {
      register: (w) => {
        for (const c of cursors) {
          let set = this.#byStream.get(c.stream);
          if (set === undefined) this.#byStream.set(c.stream, (set = new Set()));
          set.add(w);
        }
      },
      finish: (w, batches) => this.#finish(w, batches),
    });
  }

  /** Answers the reads blocked on `streams` that now have entries. */
  wake(streams: Iterable<string>): void {
    for (const name of streams) {
      const set = this.#byStream.get(name);
      if (set === undefined) continue;
      for (const w of [...set]) {
        const batches = this.#gather(w.cursors, w.count);
        if (batches.length > 0) this.#finish(w, batches);
      }
    }
  }

  /** Answers every blocked read with no entries (the store is closing). */
  endAll(): void {
    for (const set of this.#byStream.values()) for (const w of [...set]) this.#finish(w, []);
  }

  #finish(w: Waiter, batches: StreamBatch[]): void {
    disarmRead(w);
    for (const c of w.cursors) {
      const set = this.#byStream.get(c.stream);
      if (set === undefined) continue;
      set.delete(w);
      if (set.size === 0) this.#byStream.delete(c.stream);
    }
    w.resolve(batches);
  }
}
