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

// The vocabulary of the interface, one topic a file (import it from here); in the order the docs read it.
export type {
  EntryId,
  ReadFrom,
  EntryHeaders,
  NewEntry,
  StreamEntry,
  AddOptions,
  AddResult,
  ReadCursor,
  ReadOptions,
  StreamBatch,
} from "./_entry_types.ts";
export { DEFAULT_RETENTION } from "./_retention_types.ts";
export type { StreamInfo, RemovedCounts, RetentionPolicy, Retention, TrimOptions } from "./_retention_types.ts";
export type {
  GroupRef,
  ConsumerRef,
  GroupStart,
  CreateGroupOptions,
  CreateGroupResult,
  GroupEntry,
  ReadGroupOptions,
  NackOptions,
  ClaimOptions,
  PendingOptions,
  PendingInfo,
  ConsumerInfo,
  GroupInfo,
} from "./_group_types.ts";
// The names the interface below is written in.
import type { AddOptions, AddResult, EntryId, NewEntry, ReadCursor, ReadOptions, StreamBatch } from "./_entry_types.ts";
import type { RemovedCounts, Retention, StreamInfo, TrimOptions } from "./_retention_types.ts";
import type { ClaimOptions, ConsumerRef, CreateGroupOptions, CreateGroupResult, GroupEntry, GroupInfo, GroupRef, NackOptions, PendingInfo, PendingOptions, ReadGroupOptions } from "./_group_types.ts";

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
