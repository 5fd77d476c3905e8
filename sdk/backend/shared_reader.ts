/**
 * One backend read per stream for every subscriber of it: a
 * `SharedStreamReader` follows the stream's tail (one blocking read at a
 * time, whoever is waiting) and keeps the entries it read in a window;
 * each subscriber takes what lies after its own cursor from there. A
 * subscriber whose cursor is behind the window (it started from an older
 * cursor, or fell behind on credit or a slow socket) reads the backend on
 * its own until it is inside the window again, so it never stalls the
 * others, and the window never holds entries for it.
 *
 * Per subscriber, as with its own reads: every entry after its cursor,
 * exactly once and in stream order (the window is contiguous: each tail
 * read starts after the last entry of the one before), at most `count` per
 * read, entries past `expiresAt` left out with the cursor moved past them.
 *
 * @module
 */
import { parseEntryId } from "./args.ts";
import { isExpired } from "./headers.ts";
import { type LiveBatch, readLive } from "./live_read.ts";
import type { StreamBackend, StreamEntry } from "./types.ts";

/** Most entries one tail read asks for. */
export const TAIL_COUNT = 1024;
/** Entries the window keeps, at most (older ones are read again from the backend by whoever still needs them). */
export const WINDOW_ENTRIES = 4096;
/** Message bytes the window keeps, at most. */
export const WINDOW_BYTES = 8 * 1024 * 1024;
/** How long one tail read blocks before re-arming (ms). */
const TAIL_BLOCK_MS = 5000;

/** A reader of one stream, shared; `read()` as `readLive()` of that stream alone. */
export interface SharedRead {
  /**
   * Entries after `after` (at most `count`, expired ones left out), waiting
   * for some while there are none; resolves `undefined` when `signal` aborts.
   */
  read(after: string, options: { count: number; signal: AbortSignal }): Promise<LiveBatch | undefined>;
  /** This subscriber is done with it. */
  release(): void;
}

const readers = new WeakMap<StreamBackend, Map<string, SharedStreamReader>>();

/**
 * The shared reader of `stream` on `backend`; `release()` it when done (the
 * last release stops its tail read).
 *
 * @example
 * ```ts
 * import { MemoryBackend } from "./memory.ts";
 *
 * const backend = new MemoryBackend();
 * await backend.add("tasks", { headers: { id: "m1", opId: "m1", type: "task", sender: "a", receiver: "b" }, msg: new Uint8Array([0x80]) });
 * const shared = sharedReader(backend, "tasks");
 * const batch = await shared.read("0", { count: 100, signal: new AbortController().signal }); // { stream, entries, last }
 * if (batch?.entries.length !== 1) throw new Error("one entry expected");
 * shared.release();
 * await backend.close();
 * ```
 */
export function sharedReader(backend: StreamBackend, stream: string): SharedRead {
  let byStream = readers.get(backend);
  if (byStream === undefined) readers.set(backend, (byStream = new Map()));
  let r = byStream.get(stream);
  if (r === undefined) {
    const created = new SharedStreamReader(backend, stream, () => {
      if (byStream.get(stream) === created) byStream.delete(stream);
    });
    byStream.set(stream, (r = created));
  }
  r.users++;
  let released = false;
  const reader = r;
  return {
    read: (after, options) => reader.read(after, options),
    release: () => {
      if (released) return;
      released = true;
      reader.release();
    },
  };
}

function after(ms: number, seq: number, id: { ms: number; seq: number }): boolean {
  return ms > id.ms || (ms === id.ms && seq > id.seq);
}

/** The window and tail read of one stream (see the module doc). */
class SharedStreamReader {
  users = 0;
  readonly #backend: StreamBackend;
  readonly #stream: string;
  readonly #onIdle: () => void;
  /** The window: entries in stream order from index `#start`, with their parsed ids. */
  #entries: (StreamEntry | undefined)[] = [];
  #ms: number[] = [];
  #seq: number[] = [];
  #start = 0;
  #bytes = 0;
  /** The window holds every entry after `#base` up to its last entry; undefined before the first tail read starts. */
  #base: { ms: number; seq: number } | undefined;
  /** Id of the last entry read by the tail (or `#baseId`). */
  #tailId = "0";
  #tail = { ms: 0, seq: 0 };
  /** Readers waiting for the tail to move. */
  #waiting = 0;
  #running = false;
  #abort = new AbortController();
  #advanced!: Promise<Error | undefined>;
  #signal!: (e?: Error) => void;

  constructor(backend: StreamBackend, stream: string, onIdle: () => void) {
    this.#backend = backend;
    this.#stream = stream;
    this.#onIdle = onIdle;
    this.#renew();
  }

  #renew(): void {
    this.#advanced = new Promise((resolve) => (this.#signal = resolve));
  }

  /** Wakes every waiting reader (with the tail read's error, if it failed). */
  #notify(error?: Error): void {
    const signal = this.#signal;
    this.#renew();
    signal(error);
  }

  release(): void {
    if (--this.users > 0) return;
    this.#abort.abort();
    this.#notify();
    this.#onIdle();
  }

  async read(afterId: string, o: { count: number; signal: AbortSignal }): Promise<LiveBatch | undefined> {
    const cursor = parseEntryId(afterId);
    for (;;) {
      if (o.signal.aborted) return undefined;
      const base = this.#base;
      if (base === undefined || !after(base.ms, base.seq, cursor)) {
        // Inside the window (or the tail starts here): serve from it, or wait for the tail.
        if (base === undefined) {
          await this.#open(cursor);
          continue;
        } else {
          const batch = this.#serve(cursor, o.count);
          if (batch !== undefined) return batch;
        }
      } else {
        // Behind the window: catch up on our own.
        const own = await readLive(this.#backend, [{ stream: this.#stream, after: afterId }], { count: o.count, signal: o.signal });
        if (own.length > 0) return own[0];
        // Nothing after the cursor any more (trimmed): wait for the tail like the others.
      }
      const error = await this.#wait(o.signal);
      if (error !== undefined) throw error;
    }
  }

  /** Entries of the window after `cursor`, or undefined when it has none. */
  #serve(cursor: { ms: number; seq: number }, count: number): LiveBatch | undefined {
    const end = this.#entries.length;
    // First index with an id after the cursor (binary search: the window is in id order).
    let lo = this.#start;
    let hi = end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (after(this.#ms[mid]!, this.#seq[mid]!, cursor)) hi = mid;
      else lo = mid + 1;
    }
    if (lo >= end) return undefined;
    const now = Date.now();
    const out: StreamEntry[] = [];
    let i = lo;
    for (; i < end && out.length < count; i++) {
      const e = this.#entries[i]!;
      if (!isExpired(e.headers, now)) out.push(e);
    }
    return { stream: this.#stream, entries: out, last: this.#entries[i - 1]!.entryId };
  }

  /**
   * Starts the window at the first reader's cursor, or at the stream's last
   * entry if that is older (a cursor past the end: entries added after the
   * last one may still have ids below it, and readers from older cursors
   * must find them in the window).
   */
  async #open(cursor: { ms: number; seq: number }): Promise<void> {
    const last = (await this.#backend.info(this.#stream)).lastEntryId ?? "0";
    if (this.#base !== undefined) return; // another reader started it meanwhile
    const end = parseEntryId(last);
    const at = after(cursor.ms, cursor.seq, end) ? end : cursor;
    this.#base = at;
    this.#tail = at;
    this.#tailId = `${at.ms}-${at.seq}`;
  }

  async #wait(signal: AbortSignal): Promise<Error | undefined> {
    this.#waiting++;
    if (!this.#running) void this.#follow();
    let onAbort: (() => void) | undefined;
    try {
      return await new Promise<Error | undefined>((resolve) => {
        this.#advanced.then(resolve);
        onAbort = () => resolve(undefined);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    } finally {
      this.#waiting--;
      signal.removeEventListener("abort", onAbort!);
    }
  }

  /** The tail read: runs while someone waits for entries after the window. */
  async #follow(): Promise<void> {
    this.#running = true;
    const signal = this.#abort.signal;
    try {
      while (this.#waiting > 0 && !signal.aborted) {
        const batches = await this.#backend.read([{ stream: this.#stream, after: this.#tailId }], {
          count: TAIL_COUNT,
          block: TAIL_BLOCK_MS,
          signal,
        });
        if (signal.aborted) break;
        const entries = batches[0]?.entries;
        if (entries !== undefined && entries.length > 0) {
          this.#append(entries);
          this.#notify();
        }
        // A blocked read ends with nothing after its block: loop and re-arm while anyone waits.
        await undefined;
      }
    } catch (e) {
      // Waiters see the error and retry (their reader backs off); the next wait restarts the tail.
      this.#running = false;
      this.#notify(e as Error);
      return;
    }
    this.#running = false;
  }

  #append(entries: readonly StreamEntry[]): void {
    for (const e of entries) {
      const { ms, seq } = parseEntryId(e.entryId);
      // A read after the tail only returns later ids; anything else (a server that lost its data
      // and reused ids) is not appended, so the window stays strictly ordered.
      if (!after(ms, seq, this.#tail)) continue;
      this.#entries.push(e);
      this.#ms.push(ms);
      this.#seq.push(seq);
      this.#bytes += e.msg.length;
      this.#tail = { ms, seq };
      this.#tailId = e.entryId;
    }
    // Evict the oldest beyond the window's size; whoever still needs them reads them from the backend.
    while (this.#entries.length - this.#start > WINDOW_ENTRIES || (this.#bytes > WINDOW_BYTES && this.#entries.length - this.#start > 1)) {
      const i = this.#start++;
      this.#bytes -= this.#entries[i]!.msg.length;
      this.#entries[i] = undefined; // let it go now, not at the next compaction
      this.#base = { ms: this.#ms[i]!, seq: this.#seq[i]! };
    }
    if (this.#start >= 1024 && this.#start * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#start);
      this.#ms = this.#ms.slice(this.#start);
      this.#seq = this.#seq.slice(this.#start);
      this.#start = 0;
    }
  }
}
