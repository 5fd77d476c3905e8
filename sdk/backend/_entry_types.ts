/**
 * Entries and how they go in and out of a stream: entry ids, headers, an
 * add and its answer, a read's cursors, options and batches. Part of the
 * backend interface; import these names from `types.ts`.
 *
 * @module
 */

/**
 * A stream entry id in Redis's `ms-seq` form, such as `1706745600000-0`:
 * milliseconds since the epoch, then a sequence number within that
 * millisecond. Ids grow strictly within a stream.
 *
 * @example
 * ```ts
 * import type { EntryId } from "@ampbus/ampbus";
 *
 * const id: EntryId = "1706745600000-0";
 * const [ms, seq] = id.split("-").map(Number);
 * if (ms !== 1706745600000 || seq !== 0) throw new Error("not ms-seq");
 * ```
 */
export type EntryId = string;

/**
 * Where a read starts, exclusive: `"0"` (from the beginning), `"$"` (only
 * entries added after the call), or an explicit entry id.
 *
 * @example
 * ```ts
 * import { MemoryBackend, type ReadFrom } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const headers = { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" };
 * const { entryId } = await backend.add("tasks", { headers, msg: new Uint8Array([1]) });
 * const after: ReadFrom = "0";
 * const [batch] = await backend.read([{ stream: "tasks", after }]);
 * if (batch.entries[0].entryId !== entryId) throw new Error("expected the first entry");
 * await backend.close();
 * ```
 */
export type ReadFrom = "0" | "$" | EntryId;

/**
 * Plain-text routing headers stored beside the message bytes (readable with
 * `redis-cli XRANGE`). ampd and `createLocalBus()` build them from the
 * message; a backend stores them as given.
 *
 * @example
 * ```ts
 * import type { EntryHeaders } from "@ampbus/ampbus";
 *
 * const headers: EntryHeaders = {
 *   id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester",
 *   expiresAt: Date.now() + 60_000,
 * };
 * ```
 */
export interface EntryHeaders {
  /** Message id. */
  id: string;
  /** Idempotency key: a second add of the same `opId` to a stream within the dedupe window stores nothing. */
  opId: string;
  /** Message type, such as `task`, `result` or `dead-letter`. */
  type: string;
  /** The sending agent. */
  sender: string;
  /** The receiving agent, or `broadcast`. */
  receiver: string;
  /** Present when the message has a tier. */
  tier?: string;
  /**
   * Present when the message expires: milliseconds since the epoch. The
   * backend only stores it; not delivering expired messages is the job of
   * the layer above.
   */
  expiresAt?: number;
}

/**
 * What `add()` stores.
 *
 * @example
 * ```ts
 * import { MemoryBackend, type NewEntry } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const entry: NewEntry = {
 *   headers: { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" },
 *   msg: new Uint8Array([1, 2, 3]),
 * };
 * await backend.add("tasks", entry);
 * await backend.close();
 * ```
 */
export interface NewEntry {
  /** Routing headers, stored as given. */
  headers: EntryHeaders;
  /** The message as the SDK encoded it (canonical MessagePack). Stored and delivered unchanged. */
  msg: Uint8Array;
}

/**
 * An entry read back from a stream: what was added, and where it sits.
 *
 * @example
 * ```ts
 * import { MemoryBackend, type StreamEntry } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const headers = { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" };
 * await backend.add("tasks", { headers, msg: new Uint8Array([1]) });
 * const [batch] = await backend.read([{ stream: "tasks", after: "0" }]);
 * const first: StreamEntry = batch.entries[0];
 * if (first.headers.opId !== "op-1") throw new Error("wrong entry");
 * await backend.close();
 * ```
 */
export interface StreamEntry extends NewEntry {
  /** The stream entry id (not the message id). */
  entryId: EntryId;
}

/**
 * Options of `add()`.
 *
 * @example
 * ```ts
 * import { type AddOptions, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const options: AddOptions = { maxLen: 1 };
 * for (const opId of ["a", "b"]) {
 *   const headers = { id: opId, opId, type: "task", sender: "coder", receiver: "tester" };
 *   await backend.add("tasks", { headers, msg: new Uint8Array([1]) }, options);
 * }
 * if ((await backend.info("tasks")).length !== 1) throw new Error("not trimmed");
 * await backend.close();
 * ```
 */
export interface AddOptions {
  /** Trim the stream to about this many entries while adding (`MAXLEN ~` on Redis). */
  maxLen?: number;
}

/**
 * The outcome of `add()` on a backend (exported from `mod.ts` as
 * `BackendAddResult`; the client's `AddResult` adds the stream name).
 *
 * @example
 * ```ts
 * import { type BackendAddResult, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const entry = { headers: { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" }, msg: new Uint8Array([1]) };
 * const first: BackendAddResult = await backend.add("tasks", entry);
 * const again = await backend.add("tasks", entry);
 * if (!again.duplicate || again.entryId !== first.entryId) throw new Error("not deduplicated");
 * await backend.close();
 * ```
 */
export interface AddResult {
  /** Entry id of the stored copy (of the first copy when `duplicate`). */
  entryId: EntryId;
  /** True when `headers.opId` was already stored in this stream within the dedupe window: nothing was stored. */
  duplicate: boolean;
}

/**
 * One stream and the position to read after.
 *
 * @example
 * ```ts
 * import { MemoryBackend, type ReadCursor } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const cursors: ReadCursor[] = [{ stream: "tasks", after: "0" }, { stream: "results", after: "0" }];
 * const batches = await backend.read(cursors);
 * if (batches.length !== 0) throw new Error("both streams are empty");
 * await backend.close();
 * ```
 */
export interface ReadCursor {
  /** The stream to read. */
  stream: string;
  /** Read entries after this position (exclusive). */
  after: ReadFrom;
}

/**
 * Options of `read()`.
 *
 * @example
 * ```ts
 * import { MemoryBackend, type ReadOptions } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const options: ReadOptions = { count: 10, block: 20 };
 * const batches = await backend.read([{ stream: "tasks", after: "$" }], options); // waits 20 ms
 * if (batches.length !== 0) throw new Error("nothing was added");
 * await backend.close();
 * ```
 */
export interface ReadOptions {
  /** Most entries per stream. Defaults to 100. */
  count?: number;
  /**
   * Block up to this many milliseconds when no stream has entries, waking as
   * soon as one does. Undefined (the default) returns at once; 0 is not
   * allowed (no read may wait forever).
   */
  block?: number;
  /** Aborting ends a blocked read early; it then resolves with no entries. */
  signal?: AbortSignal;
}

/**
 * Entries read from one stream. Streams with no entries are left out of a
 * read's result.
 *
 * @example
 * ```ts
 * import { MemoryBackend, type StreamBatch } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const headers = { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" };
 * await backend.add("tasks", { headers, msg: new Uint8Array([1]) });
 * const batches: StreamBatch[] = await backend.read([{ stream: "tasks", after: "0" }, { stream: "empty", after: "0" }]);
 * if (batches.length !== 1 || batches[0].stream !== "tasks") throw new Error("empty streams are left out");
 * await backend.close();
 * ```
 */
export interface StreamBatch {
  /** The stream read. */
  stream: string;
  /** Its entries, oldest first. */
  entries: StreamEntry[];
}
