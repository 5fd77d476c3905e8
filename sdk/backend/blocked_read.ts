/**
 * A read with `block` that found nothing, as `MemoryBackend` and
 * `SqliteBackend` hold it while it waits: its cursors, its answer, and the
 * timer and abort listener that end it with no entries. Each backend keeps
 * its own index of who waits on which stream and decides when entries have
 * come; starting and stopping the wait is here, once.
 *
 * @module
 */
import type { StreamBatch } from "./types.ts";

/** A blocked read over cursors of type `C` (each backend has its own). */
export interface BlockedRead<C> {
  cursors: C[];
  count: number;
  resolve: (batches: StreamBatch[]) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** What a backend does with a blocked read: index it, and end it (stop it, unindex it, answer it). */
export interface BlockedReadHooks<C> {
  register: (w: BlockedRead<C>) => void;
  finish: (w: BlockedRead<C>, batches: StreamBatch[]) => void;
}

/**
 * Waits up to `wait.block` ms for `hooks.finish` to answer a read of
 * `cursors`; the time running out and `wait.signal` aborting both finish it
 * with no entries.
 *
 * @example
 * ```ts
 * const waiting = new Set<unknown>();
 * const batches = await blockRead(["tasks"], { count: 100, block: 20, signal: undefined }, {
 *   register: (w) => waiting.add(w),
 *   finish: (w, found) => {
 *     disarmRead(w);
 *     waiting.delete(w);
 *     w.resolve(found);
 *   },
 * });
 * if (batches.length !== 0 || waiting.size !== 0) throw new Error("expected the block time to end the read");
 * ```
 */
export function blockRead<C>(
  cursors: C[],
  wait: { count: number; block: number; signal: AbortSignal | undefined },
  hooks: BlockedReadHooks<C>,
): Promise<StreamBatch[]> {
  const { count, block, signal } = wait;
  return new Promise<StreamBatch[]>((resolve) => {
    const w: BlockedRead<C> = { cursors, count, resolve, timer: undefined, signal, onAbort: undefined };
    w.timer = setTimeout(() => hooks.finish(w, []), block);
    if (signal !== undefined) {
      w.onAbort = () => hooks.finish(w, []);
      signal.addEventListener("abort", w.onAbort, { once: true });
    }
    hooks.register(w);
  });
}

/** Stops the timer and the abort listener of `w`, before its backend unindexes and answers it. */
export function disarmRead(w: BlockedRead<unknown>): void {
  clearTimeout(w.timer);
  if (w.onAbort !== undefined) w.signal!.removeEventListener("abort", w.onAbort);
}
