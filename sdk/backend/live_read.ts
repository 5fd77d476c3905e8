/**
 * Stream reads as readers see them: entries past `expiresAt` left out, the
 * cursor still moved past them, and replies cut to a byte budget so that no
 * frame outgrows the `maxFrame` the sidecar announces. ampd's `read` op, its
 * subscriptions and the in-process bus all read through here; group reads
 * apply the same rules in `GroupReader`.
 *
 * @module
 */
import { EntryTooLargeError } from "../errors.ts";

export { EntryTooLargeError };
import { isExpired } from "./headers.ts";
import type { ReadCursor, StreamBackend, StreamBatch, StreamEntry } from "./types.ts";

/**
 * Bytes of a frame kept back for everything but message bytes: the reply map
 * (`rid`, `ok`, keys), one stream name of up to 256 characters in UTF-8, the
 * entry id and the per-entry array. A message of `maxFrame - FRAME_RESERVE`
 * bytes always fits one reply or push on its own.
 */
export const FRAME_RESERVE = 1024;
/** What a reply or push frame costs besides its batches (map header, `rid`, `ok`, keys, array header). */
export const FRAME_BASE_COST = 64;
/** What one stream of a `read` reply costs besides its name's UTF-8 bytes and its entries. */
export const BATCH_COST = 64;
/** What one entry costs besides its message bytes (`[entryId, bin, deliveries]`). */
export const ENTRY_COST = 64;

/**
 * The largest message `add` stores when frames are limited to `maxFrame`
 * bytes: `maxFrame - 1024` (16 776 192 bytes at the default 16 MiB).
 *
 * @example
 * ```ts
 * maxEntryBytes(16 * 1024 * 1024) // 16776192
 * ```
 */
export function maxEntryBytes(maxFrame: number): number {
  return maxFrame - FRAME_RESERVE;
}


/** Throws `EntryTooLargeError` when a message of `size` bytes would not fit a delivery frame of `maxFrame` bytes. */
export function checkEntrySize(size: number, maxFrame: number): void {
  if (size > maxEntryBytes(maxFrame)) throw new EntryTooLargeError(size, { limit: maxEntryBytes(maxFrame), maxFrame });
}

/**
 * How many of `entries`, from index `window.from` (default 0), fit in
 * `window.budget` bytes of frame;
 * at least one, so a reader always makes progress (an entry over the limit,
 * stored before the limit applied or written around ampd, goes out alone).
 */
export function fitCount(entries: readonly StreamEntry[], window: { budget: number; from?: number }): number {
  let budget = window.budget;
  const from = window.from ?? 0;
  let n = 0;
  for (let i = from; i < entries.length; i++) {
    budget -= entries[i]!.msg.length + ENTRY_COST;
    if (budget < 0 && n > 0) break;
    n++;
  }
  return n;
}

/** Entries of one stream, and the entry id the next read of it goes on after. */
export interface LiveBatch extends StreamBatch {
  /**
   * The last entry id this read looked at: the last entry returned, or a
   * later one that was left out as expired. Read on after it; a batch may
   * have no entries and still move `last`.
   */
  last: string;
}

/** Options of `readLive()`. */
export interface LiveReadOptions {
  /** Most entries per stream scanned. Defaults to 100. */
  count?: number;
  /** Wait up to this many ms for entries that are not expired. Undefined returns at once. */
  block?: number;
  signal?: AbortSignal;
  /** The reply must fit a frame of this many bytes (the `maxFrame`). Defaults to no limit. */
  maxBytes?: number;
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) n += s.charCodeAt(i) > 0x7ff ? 2 : 1;
  return n;
}

/**
 * Reads after each cursor, leaving out expired entries and cutting the reply
 * to `maxBytes`. A batch is returned for every stream the read moved past,
 * even when all it found had expired (`entries: []`, `last` moved on), so a
 * reader never re-reads expired entries. With `block`, a read that found only
 * expired entries reads on after them until a live one comes or time is up.
 *
 * @example
 * ```ts
 * import { MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * let cursor = "0";
 * const batches = await readLive(backend, [{ stream: "tasks", after: cursor }], { count: 100, maxBytes: 16 * 1024 * 1024 });
 * for (const b of batches) cursor = b.last;
 * await backend.close();
 * ```
 */
export async function readLive(backend: StreamBackend, cursors: readonly ReadCursor[], o: LiveReadOptions = {}): Promise<LiveBatch[]> {
  let cur = cursors;
  const deadline = o.block === undefined ? 0 : Date.now() + o.block;
  const moved = new Map<string, LiveBatch>();
  for (;;) {
    const left = o.block === undefined ? undefined : Math.max(1, deadline - Date.now());
    const batches = await backend.read(cur, { count: o.count, block: left, signal: o.signal });
    const delivered = sift(batches, moved, o.maxBytes);
    if (delivered > 0 || o.block === undefined || batches.length === 0 || Date.now() >= deadline || o.signal?.aborted) {
      return [...moved.values()];
    }
    // Everything found had expired: read on after it, within the same wait. A "$"
    // cursor of a stream that had nothing becomes that stream's position now.
    if (cur.some((c) => c.after === "$" && !moved.has(c.stream))) cur = await resolveNow(backend, cur);
    cur = cur.map((c) => ({ stream: c.stream, after: moved.get(c.stream)?.last ?? c.after }));
  }
}

// Moves live entries of `batches` into `moved` (per stream, in order) within the
// byte budget; returns how many were added. Reading stops where the budget is
// spent, so the next read starts there: nothing is skipped.
function sift(batches: readonly StreamBatch[], moved: Map<string, LiveBatch>, maxBytes: number | undefined): number {
  const now = Date.now();
  const limit = maxBytes === undefined ? Infinity : maxBytes - FRAME_BASE_COST;
  let used = 0;
  for (const b of moved.values()) used += batchCost(b.stream);
  let delivered = 0;
  for (const b of batches) {
    let out = moved.get(b.stream);
    for (const e of b.entries) {
      const live = !isExpired(e.headers, now);
      const cost = (out === undefined ? batchCost(b.stream) : 0) + (live ? e.msg.length + ENTRY_COST : 0);
      if (used + cost > limit) {
        if (delivered > 0 || !live) return delivered;
        // The first live entry: make room by leaving other streams' expired-only
        // batches for the next read; if it still does not fit, it goes alone.
        for (const o of [...moved.values()]) {
          if (o.stream !== b.stream && o.entries.length === 0) {
            moved.delete(o.stream);
            used -= batchCost(o.stream);
          }
        }
      }
      if (out === undefined) moved.set(b.stream, (out = { stream: b.stream, entries: [], last: e.entryId }));
      out.last = e.entryId;
      used += cost;
      if (live) {
        out.entries.push(e);
        delivered++;
      }
    }
  }
  return delivered;
}

function batchCost(stream: string): number {
  return BATCH_COST + utf8Length(stream);
}

async function resolveNow(backend: StreamBackend, cursors: readonly ReadCursor[]): Promise<ReadCursor[]> {
  const out: ReadCursor[] = [];
  for (const c of cursors) {
    out.push(c.after === "$" ? { stream: c.stream, after: (await backend.info(c.stream)).lastEntryId ?? "0" } : c);
  }
  return out;
}
