/**
 * The stream backend interface: what ampd needs from a stream store. Two
 * implementations: `RedisBackend` (Redis Streams through node-redis v4) and
 * `MemoryBackend` (in-process). Both pass the contract suite in
 * `tests/sidecar/backend_contract.ts`, which is the specification of these
 * semantics.
 *
 * @module
 */
export {
  BackendArgumentError,
  BackendMisconfiguredError,
  BackendOutOfMemoryError,
  BackendStorageError,
  BackendTimeoutError,
  BackendUnavailableError,
} from "../errors.ts";

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

/**
 * What `info()` reports about one stream (and what the client's
 * `streamInfo()` answers).
 *
 * @example
 * ```ts
 * import { MemoryBackend, type StreamInfo } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const info: StreamInfo = await backend.info("tasks");
 * if (info.length !== 0 || info.lastEntryId !== null) throw new Error("tasks does not exist yet");
 * await backend.close();
 * ```
 */
export interface StreamInfo {
  /** The stream asked about. */
  stream: string;
  /** Number of entries; 0 for a stream that does not exist. */
  length: number;
  /** Id of the oldest entry; null when the stream is empty. */
  firstEntryId: EntryId | null;
  /** Id of the newest entry; null when the stream is empty. */
  lastEntryId: EntryId | null;
  /**
   * Entries removed from the stream so far, by what removed them (kept with
   * the stream on the durable backends; since start on memory). Every
   * ampbus backend reports it; absent from older ampd versions.
   */
  removed?: RemovedCounts;
  /**
   * Of the entries removed, how many were still pending in a consumer group
   * (only a `limits` retention or trim removes those; they leave the
   * group's pending list at its next claim).
   */
  droppedPending?: number;
  /** The stream's own retention, when one was set (`setRetention`); absent: the backend's default. */
  retention?: Retention;
}

/**
 * Entries removed from a stream, by cause: `trim` (a trim call, or an add's
 * `maxLen`), `retention` (the retention sweep) and `purge`.
 *
 * @example
 * ```ts
 * import type { RemovedCounts } from "@ampbus/ampbus";
 *
 * const none: RemovedCounts = { trim: 0, retention: 0, purge: 0 };
 * if (none.trim + none.retention + none.purge !== 0) throw new Error("expected nothing removed");
 * ```
 */
export interface RemovedCounts {
  /** Removed by `trim()` (the `trim` op, `ampd stream trim`). */
  trim: number;
  /** Removed by the retention sweep. */
  retention: number;
  /** Removed by `purge()`. */
  purge: number;
}

/**
 * How a stream's entries may be removed. `interest` (the default) never
 * removes an entry that a consumer group still needs: one pending in a
 * group, or not yet delivered to a group that exists (JetStream's
 * interest / work-queue retention). `limits` removes by the limits alone,
 * pending work included.
 *
 * @example
 * ```ts
 * import type { RetentionPolicy } from "@ampbus/ampbus";
 *
 * const policy: RetentionPolicy = "interest";
 * if (policy !== "interest") throw new Error("expected the default");
 * ```
 */
export type RetentionPolicy = "interest" | "limits";

/**
 * A stream's retention: its policy and limits. An absent limit is no limit.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETENTION, type Retention } from "@ampbus/ampbus";
 *
 * const audit: Retention = { policy: "limits", maxLen: 1_000_000 };
 * if (DEFAULT_RETENTION.policy !== "interest" || audit.maxAgeMs !== undefined) throw new Error("unexpected");
 * ```
 */
export interface Retention {
  /** `interest` keeps what a consumer group still needs; `limits` goes by the limits alone. */
  policy: RetentionPolicy;
  /** Most entries kept; the oldest go first. */
  maxLen?: number;
  /** Entries older than this (ms, by the time in their entry id) go. */
  maxAgeMs?: number;
}

/**
 * The retention of a stream without its own: entries older than 7 days go,
 * unless a consumer group still needs them (`interest`). ampd's `--retain`
 * and `--retention-policy` change it.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETENTION } from "@ampbus/ampbus";
 *
 * if (DEFAULT_RETENTION.maxAgeMs !== 7 * 24 * 3_600_000) throw new Error("expected 7 days");
 * ```
 */
export const DEFAULT_RETENTION: Readonly<Retention> = Object.freeze({ policy: "interest", maxAgeMs: 7 * 24 * 3_600_000 });

/**
 * Options of `trim()`.
 *
 * @example
 * ```ts
 * import { MemoryBackend, type TrimOptions } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * for (const opId of ["a", "b", "c"]) {
 *   await backend.add("tasks", { headers: { id: opId, opId, type: "task", sender: "coder", receiver: "tester" }, msg: new Uint8Array([1]) });
 * }
 * const options: TrimOptions = { maxLen: 1 };
 * if ((await backend.trim("tasks", options)) !== 2) throw new Error("expected two removed");
 * await backend.close();
 * ```
 */
export interface TrimOptions {
  /** Most entries to keep; the oldest go first. At least one of `maxLen` and `maxAgeMs` is needed. */
  maxLen?: number;
  /** Remove entries older than this many ms (by the time in their entry id). */
  maxAgeMs?: number;
  /** Let the backend keep a few more entries for speed (`MAXLEN ~` on Redis). Defaults to false. */
  approximate?: boolean;
  /**
   * `interest` keeps every entry a consumer group still needs (pending in a
   * group, or not yet delivered to one), even past the limits; `limits`
   * removes by the limits alone. Defaults to the stream's retention policy
   * (`interest` unless `setRetention` chose `limits`).
   */
  policy?: RetentionPolicy;
  /** What the removed entries are counted as in `StreamInfo.removed`. Defaults to `"trim"`. */
  cause?: "trim" | "retention";
}

/**
 * A consumer group of a stream: the first argument of every group call, so
 * that the stream and the group cannot be swapped by position.
 *
 * @example
 * ```ts
 * import { type GroupRef, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const testers: GroupRef = { stream: "tasks", group: "testers" };
 * const { created } = await backend.createGroup(testers);
 * if (!created || (await backend.pending(testers)).length !== 0) throw new Error("expected a new, empty group");
 * await backend.close();
 * ```
 */
export interface GroupRef {
  /** The stream the group reads. */
  stream: string;
  /** The group's name. */
  group: string;
}

/**
 * One consumer of a group: a `GroupRef` and the consumer's name.
 *
 * @example
 * ```ts
 * import { type ConsumerRef, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const tester1: ConsumerRef = { stream: "tasks", group: "testers", consumer: "tester-1" };
 * await backend.createGroup(tester1, { from: "0" }); // a ConsumerRef is a GroupRef too
 * await backend.add("tasks", { headers: { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" }, msg: new Uint8Array([1]) });
 * const [entry] = await backend.readGroup(tester1);
 * if ((await backend.ack(tester1, [entry.entryId])) !== 1) throw new Error("expected one ack");
 * await backend.close();
 * ```
 */
export interface ConsumerRef extends GroupRef {
  /** The consumer's name, unique within the group. */
  consumer: string;
}

/**
 * Where a new consumer group starts, exclusive: `"$"` (only entries added
 * after the group was created), `"0"` (every entry in the stream), or an
 * explicit entry id.
 *
 * @example
 * ```ts
 * import { type GroupStart, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const from: GroupStart = "0"; // the group also gets entries added before it existed
 * await backend.createGroup({ stream: "tasks", group: "testers" }, { from });
 * await backend.close();
 * ```
 */
export type GroupStart = "$" | "0" | EntryId;

/**
 * Options of `createGroup()`.
 *
 * @example
 * ```ts
 * import { type CreateGroupOptions, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const options: CreateGroupOptions = { from: "$" };
 * await backend.createGroup({ stream: "tasks", group: "testers" }, options);
 * await backend.close();
 * ```
 */
export interface CreateGroupOptions {
  /** Where the group starts, exclusive. Defaults to `"$"`. */
  from?: GroupStart;
}

/**
 * The outcome of `createGroup()`.
 *
 * @example
 * ```ts
 * import { type CreateGroupResult, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const first: CreateGroupResult = await backend.createGroup({ stream: "tasks", group: "testers" });
 * const again = await backend.createGroup({ stream: "tasks", group: "testers" });
 * if (!first.created || again.created) throw new Error("createGroup is idempotent");
 * await backend.close();
 * ```
 */
export interface CreateGroupResult {
  /** False when the group already existed (it is left as it was). */
  created: boolean;
}

/**
 * An entry delivered to a consumer of a group.
 *
 * @example
 * ```ts
 * import { type GroupEntry, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * await backend.createGroup({ stream: "tasks", group: "testers" }, { from: "0" });
 * await backend.add("tasks", { headers: { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" }, msg: new Uint8Array([1]) });
 * const [entry]: GroupEntry[] = await backend.readGroup({ stream: "tasks", group: "testers", consumer: "tester-1" });
 * if (entry.deliveries !== 1) throw new Error("a first read is delivery 1");
 * await backend.close();
 * ```
 */
export interface GroupEntry extends StreamEntry {
  /**
   * How many times the entry was delivered, this delivery included: 1 for
   * a first read, one more for every claim. A layer above moves entries
   * past its `maxDeliveries` to a dead-letter stream.
   */
  deliveries: number;
}

/**
 * Options of `readGroup()`.
 *
 * @example
 * ```ts
 * import { MemoryBackend, type ReadGroupOptions } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const options: ReadGroupOptions = { count: 10, block: 20 };
 * const got = await backend.readGroup({ stream: "tasks", group: "testers", consumer: "tester-1" }, options); // waits 20 ms
 * if (got.length !== 0) throw new Error("nothing was added");
 * await backend.close();
 * ```
 */
export interface ReadGroupOptions {
  /** Most entries to deliver. Defaults to 100. */
  count?: number;
  /** Block up to this many milliseconds when there is nothing new. Undefined (the default) returns at once; 0 is not allowed. */
  block?: number;
  /**
   * Aborting ends a blocked read early; it then resolves with no entries.
   * Entries handed over in the same instant are still returned, never left
   * pending for a read nobody waits for.
   */
  signal?: AbortSignal;
}

/**
 * What `nack()` gives back, and when.
 *
 * @example
 * ```ts
 * import { MemoryBackend, type NackOptions } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * await backend.createGroup({ stream: "tasks", group: "testers" }, { from: "0" });
 * await backend.add("tasks", { headers: { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" }, msg: new Uint8Array([1]) });
 * const [e] = await backend.readGroup({ stream: "tasks", group: "testers", consumer: "tester-1" });
 * const options: NackOptions = { entryIds: [e.entryId], delayMs: 0 }; // claimable at once
 * await backend.nack({ stream: "tasks", group: "testers", consumer: "tester-1" }, options);
 * const [again] = await backend.claim({ stream: "tasks", group: "testers", consumer: "tester-2" });
 * if (again.deliveries !== 2) throw new Error("expected a redelivery");
 * await backend.close();
 * ```
 */
export interface NackOptions {
  /** The entries to give back; those another consumer holds, or no longer pending, are skipped. */
  entryIds: readonly EntryId[];
  /** Milliseconds before the entries become claimable, at most the claim timeout. Defaults to 0. */
  delayMs?: number;
  /** The `minIdleMs` the claimer uses. Defaults to the backend's `claimTimeoutMs` (30 s unless configured). */
  claimTimeoutMs?: number;
}

/**
 * Options of `claim()`.
 *
 * @example
 * ```ts
 * import { type ClaimOptions, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * await backend.createGroup({ stream: "tasks", group: "testers" }, { from: "0" });
 * await backend.add("tasks", { headers: { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" }, msg: new Uint8Array([1]) });
 * await backend.readGroup({ stream: "tasks", group: "testers", consumer: "tester-1" }); // tester-1 takes it, then goes quiet
 * const options: ClaimOptions = { minIdleMs: 0, count: 10 };
 * const taken = await backend.claim({ stream: "tasks", group: "testers", consumer: "tester-2" }, options);
 * if (taken.length !== 1) throw new Error("expected the entry to move to tester-2");
 * await backend.close();
 * ```
 */
export interface ClaimOptions {
  /** Claim entries pending at least this long. Defaults to the backend's `claimTimeoutMs` (30 s unless configured). */
  minIdleMs?: number;
  /** Most entries to claim. Defaults to 100. */
  count?: number;
}

/**
 * Options of `pending()`.
 *
 * @example
 * ```ts
 * import { MemoryBackend, type PendingOptions } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * await backend.createGroup({ stream: "tasks", group: "testers" }, { from: "0" });
 * const options: PendingOptions = { consumer: "tester-1", minIdleMs: 0, count: 10 };
 * if ((await backend.pending({ stream: "tasks", group: "testers" }, options)).length !== 0) throw new Error("nothing delivered yet");
 * await backend.close();
 * ```
 */
export interface PendingOptions {
  /** Only the entries of this consumer. Defaults to all consumers. */
  consumer?: string;
  /** Only entries pending at least this long. Defaults to 0. */
  minIdleMs?: number;
  /** Most entries to list, oldest entry id first. Defaults to 100. */
  count?: number;
}

/**
 * One delivered, not yet acknowledged entry of a group (the client calls
 * the same shape `PendingEntry`).
 *
 * @example
 * ```ts
 * import { MemoryBackend, type PendingInfo } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * await backend.createGroup({ stream: "tasks", group: "testers" }, { from: "0" });
 * await backend.add("tasks", { headers: { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" }, msg: new Uint8Array([1]) });
 * await backend.readGroup({ stream: "tasks", group: "testers", consumer: "tester-1" });
 * const [p]: PendingInfo[] = await backend.pending({ stream: "tasks", group: "testers" });
 * if (p.consumer !== "tester-1" || p.deliveries !== 1) throw new Error("expected tester-1 to hold it");
 * await backend.close();
 * ```
 */
export interface PendingInfo {
  /** The pending entry. */
  entryId: EntryId;
  /** The consumer that holds it. */
  consumer: string;
  /** Milliseconds since it was last delivered, claimed, nacked or extended. */
  idleMs: number;
  /** How many times it was delivered (1 for a first read, one more per claim). */
  deliveries: number;
}

/**
 * One consumer of a group, as `groupInfo()` reports it.
 *
 * @example
 * ```ts
 * import { type ConsumerInfo, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * await backend.createGroup({ stream: "tasks", group: "testers" }, { from: "0" });
 * await backend.add("tasks", { headers: { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" }, msg: new Uint8Array([1]) });
 * await backend.readGroup({ stream: "tasks", group: "testers", consumer: "tester-1" });
 * const [group] = await backend.groupInfo("tasks");
 * const [c]: ConsumerInfo[] = group.consumers;
 * if (c.name !== "tester-1" || c.pending !== 1) throw new Error("expected tester-1 to hold one entry");
 * await backend.close();
 * ```
 */
export interface ConsumerInfo {
  /** The consumer's name. */
  name: string;
  /** Entries it holds unacknowledged. */
  pending: number;
  /**
   * Milliseconds since it last received entries (a read, a claim, a nack
   * or an extend). Redis 7.2+ also counts reads that found nothing.
   */
  idleMs: number;
}

/**
 * What `groupInfo()` reports about one group.
 *
 * @example
 * ```ts
 * import { type GroupInfo, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * await backend.createGroup({ stream: "tasks", group: "testers" });
 * const [g]: GroupInfo[] = await backend.groupInfo("tasks");
 * if (g.name !== "testers" || g.pending !== 0) throw new Error("unexpected group");
 * await backend.close();
 * ```
 */
export interface GroupInfo {
  /** The group's name. */
  name: string;
  /** By name. */
  consumers: ConsumerInfo[];
  /** Entries delivered and not yet acknowledged, over all consumers. */
  pending: number;
  /** Id of the last entry delivered to the group: reads deliver entries after it. */
  lastDeliveredId: EntryId;
  /**
   * Entries of the stream not yet delivered to the group: those after
   * `lastDeliveredId` (Redis 7's `XINFO GROUPS` lag, computed the same way
   * on every backend). Every ampbus backend reports it.
   */
  lag?: number;
}

/**
 * Connection state of a backend. `degraded`: connected, but calls fail with
 * the code in `BackendInfo.degraded` (Redis stopped answering in time, or
 * its eviction policy could delete stored messages).
 *
 * @example
 * ```ts
 * import { type BackendState, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const seen: BackendState[] = [];
 * backend.onStateChange((state) => seen.push(state));
 * await backend.close();
 * if (seen[0] !== "closed") throw new Error("expected closed");
 * ```
 */
export type BackendState = "ready" | "degraded" | "reconnecting" | "closed";

/**
 * What a backend reports about itself (`info` without a stream shows it).
 *
 * @example
 * ```ts
 * import { type BackendInfo, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const info: BackendInfo = backend.backendInfo();
 * if (info.kind !== "memory" || info.state !== "ready") throw new Error("unexpected info");
 * await backend.close();
 * ```
 */
export interface BackendInfo {
  /** Which implementation this is. */
  kind: BackendKind;
  /** Connection state. */
  state: BackendState;
  /** Adds answered as duplicates since start. */
  dedupeHits: number;
  /** Times the backend lost and regained its connection since start. */
  reconnects: number;
  /** Last connection error, if any. */
  lastError?: string;
  /**
   * While `state` is `degraded`: the error code calls get (`BACKEND_TIMEOUT`, `BACKEND_MISCONFIGURED`,
   * `BACKEND_UNAVAILABLE` for the streams of a Redis Cluster master that is down, or a `STORAGE_*`
   * code of the SQLite store).
   */
  degraded?: "BACKEND_TIMEOUT" | "BACKEND_MISCONFIGURED" | "BACKEND_UNAVAILABLE" | "STORAGE_FULL" | "STORAGE_READ_ONLY" | "STORAGE_ERROR";
  /** The SQLite store's file, on the `sqlite` backend. */
  path?: string;
  /** Entries removed from all streams since start, by cause (per stream: `StreamInfo.removed`). */
  removed?: RemovedCounts;
}

/**
 * The backends ampd can run on: `sqlite` (its durable default, a file),
 * `redis` (Redis Streams, shared between sidecars) and `memory` (in-process,
 * lost on exit; also what `createLocalBus()` uses).
 *
 * @example
 * ```ts
 * import type { BackendKind } from "@ampbus/ampbus";
 *
 * const kind: BackendKind = "sqlite";
 * if (!["sqlite", "redis", "memory"].includes(kind)) throw new Error("unknown kind");
 * ```
 */
export type BackendKind = "sqlite" | "redis" | "memory";

/**
 * A stream store. Every method fails fast with `BackendUnavailableError`
 * while the store is unreachable; none hangs.
 *
 * @example
 * ```ts
 * import { MemoryBackend, type StreamBackend } from "@ampbus/ampbus";
 *
 * async function lengthOf(backend: StreamBackend, stream: string): Promise<number> {
 *   return (await backend.info(stream)).length;
 * }
 * const backend: StreamBackend = new MemoryBackend();
 * if ((await lengthOf(backend, "tasks")) !== 0) throw new Error("expected empty");
 * await backend.close();
 * ```
 */
export interface StreamBackend {
  /** Which implementation this is. */
  readonly kind: BackendKind;
  /**
   * Appends an entry, unless `entry.headers.opId` was already stored in this
   * stream within the dedupe window: then stores nothing and answers the
   * first copy's entry id with `duplicate: true`. Atomic on Redis (a Lua
   * script), so two sidecars racing on one opId store it once.
   */
  add(stream: string, entry: NewEntry, options?: AddOptions): Promise<AddResult>;
  /** Reads entries after each cursor, from several streams at once. */
  read(cursors: readonly ReadCursor[], options?: ReadOptions): Promise<StreamBatch[]>;
  /**
   * Removes the oldest entries past `maxLen` or older than `maxAgeMs`;
   * returns how many were removed (counted per stream in
   * `StreamInfo.removed` under `options.cause`). Under the `interest`
   * policy (the default) it stops at the first entry a consumer group still
   * needs: one pending in a group, or not yet delivered to a group.
   */
  trim(stream: string, options: TrimOptions): Promise<number>;
  /** Length and first/last entry id of a stream. */
  info(stream: string): Promise<StreamInfo>;
  /** Names of the streams that exist, sorted; at most `limit` (default 10 000). */
  streams(options?: { limit?: number }): Promise<string[]>;
  /** State and counters. */
  backendInfo(): BackendInfo;

  // Consumer groups: Redis stream groups semantics. A group has a position
  // (`lastDeliveredId`) and a pending entries list (PEL): entry -> consumer,
  // delivery time, delivery count. Reads move the position and add to the
  // PEL; `ack` removes; `claim` moves stuck entries to another consumer.
  // Group and consumer names are non-empty strings. On a group or stream
  // that does not exist, every call but `createGroup` and `readGroup`
  // answers empty (0, [] ), not an error: after Redis lost its data there is
  // simply nothing pending.

  /**
   * Creates consumer group `ref.group` on `ref.stream`, starting after
   * `options.from` (default `"$"`), and the stream if it does not exist.
   * Idempotent: an existing group is left as it is and `created` is false.
   */
  createGroup(ref: GroupRef, options?: CreateGroupOptions): Promise<CreateGroupResult>;
  /**
   * Delivers up to `count` entries after the group's position to
   * `ref.consumer` (Redis `XREADGROUP ... >`): each goes into the PEL with
   * `deliveries: 1`, and the position moves past it. Each entry goes to
   * exactly one consumer of the group. When the group does not exist (never
   * created, or lost when Redis restarted without persistence) it is created
   * from `"0"` and the read retried, so entries added since are not lost.
   * With `block`, waits for new entries; timeout, abort or close resolve [].
   */
  readGroup(ref: ConsumerRef, options?: ReadGroupOptions): Promise<GroupEntry[]>;
  /** Acknowledges entries: removes them from the PEL. Returns how many were pending. */
  ack(ref: GroupRef, entryIds: readonly EntryId[]): Promise<number>;
  /**
   * Gives entries `options.entryIds` held by `ref.consumer` back for redelivery sooner than the
   * claim timeout: they stay pending, with their idle time set so that a
   * `claim()` with `minIdleMs = claimTimeoutMs` takes them after `delayMs`.
   * Entries another consumer holds, or no longer pending, are skipped.
   * Returns how many were nacked.
   */
  nack(ref: ConsumerRef, options: NackOptions): Promise<number>;
  /**
   * Keep-alive: resets the idle time of entries `ref.consumer` still holds, so
   * they are not claimed while it works on them. Does not count as a
   * delivery. Returns how many were extended.
   */
  extend(ref: ConsumerRef, entryIds: readonly EntryId[]): Promise<number>;
  /**
   * Moves entries pending at least `minIdleMs` to `ref.consumer` (Redis
   * `XAUTOCLAIM` from the start of the PEL), oldest id first, and returns
   * them with their delivery count incremented. Pending entries that were
   * trimmed from the stream meanwhile are dropped from the PEL, not returned.
   */
  claim(ref: ConsumerRef, options?: ClaimOptions): Promise<GroupEntry[]>;
  /** Pending entries of a group, oldest id first (Redis `XPENDING`, extended form). */
  pending(ref: GroupRef, options?: PendingOptions): Promise<PendingInfo[]>;
  /** The groups of a stream, by name, with their consumers. [] for a stream that does not exist. */
  groupInfo(stream: string): Promise<GroupInfo[]>;
  /**
   * Removes a consumer from a group. Its pending entries are dropped from
   * the PEL (they will not be redelivered): claim them first. Returns how
   * many it held.
   */
  deleteConsumer(ref: ConsumerRef): Promise<number>;

  // Administration: removing entries, and a stream's retention.

  /**
   * Removes every entry of `stream` and forgets its opIds (a later add of
   * one is stored again); its consumer groups stay, at their positions, and
   * pending entries leave their lists at the next claim. Counted as
   * `purge` in `StreamInfo.removed`. Returns how many entries went (0 for a
   * stream that does not exist).
   */
  purge(stream: string): Promise<number>;
  /**
   * Deletes `stream` with its entries, groups, opIds, retention and
   * counts, as if it had never been. Returns false when it did not exist.
   */
  deleteStream(stream: string): Promise<boolean>;
  /**
   * Sets the stream's own retention (kept with the stream on the durable
   * backends), or with `undefined` drops it so the default applies again.
   * The retention sweep of ampd trims each stream by it; `trim()` without
   * a `policy` uses its policy.
   */
  setRetention(stream: string, retention: Retention | undefined): Promise<void>;
  /** Calls `listener` whenever the state changes; returns a function that removes it. */
  onStateChange(listener: (state: BackendState) => void): () => void;
  /** Closes connections; blocked reads resolve with no entries. */
  close(): Promise<void>;
}

/**
 * Default claim timeout (the `minIdleMs` of `claim()`, what `nack()` counts
 * with, and how long group work may stay unacked before a live consumer takes
 * it over): 30 seconds.
 *
 * @example
 * ```ts
 * import { DEFAULT_CLAIM_TIMEOUT_MS } from "@ampbus/ampbus";
 *
 * if (DEFAULT_CLAIM_TIMEOUT_MS !== 30_000) throw new Error("expected 30 s");
 * ```
 */
export const DEFAULT_CLAIM_TIMEOUT_MS = 30_000;

/**
 * Default dedupe window: for 10 minutes after an add, a second add of the
 * same `opId` to the same stream stores nothing.
 *
 * @example
 * ```ts
 * import { DEFAULT_DEDUPE_WINDOW_MS } from "@ampbus/ampbus";
 *
 * if (DEFAULT_DEDUPE_WINDOW_MS !== 600_000) throw new Error("expected 10 minutes");
 * ```
 */
export const DEFAULT_DEDUPE_WINDOW_MS = 10 * 60 * 1000;
