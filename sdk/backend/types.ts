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
  BackendTimeoutError,
  BackendUnavailableError,
} from "../errors.ts";

/** A stream entry id in Redis's `ms-seq` form, such as `1706745600000-0`. */
export type EntryId = string;

/**
 * Where a read starts, exclusive: `"0"` (from the beginning), `"$"` (only
 * entries added after the call), or an explicit entry id.
 */
export type ReadFrom = "0" | "$" | EntryId;

/** Plain-text routing headers stored beside the message bytes (readable with `redis-cli XRANGE`). */
export interface EntryHeaders {
  /** Message id. */
  id: string;
  opId: string;
  type: string;
  sender: string;
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

/** What `add()` stores. */
export interface NewEntry {
  headers: EntryHeaders;
  /** The message as the SDK encoded it (canonical MessagePack). Stored and delivered unchanged. */
  msg: Uint8Array;
}

/** An entry read back from a stream. */
export interface StreamEntry extends NewEntry {
  /** The stream entry id (not the message id). */
  entryId: EntryId;
}

/** Options of `add()`. */
export interface AddOptions {
  /** Trim the stream to about this many entries while adding (`MAXLEN ~` on Redis). */
  maxLen?: number;
}

/** The outcome of `add()`. */
export interface AddResult {
  /** Entry id of the stored copy (of the first copy when `duplicate`). */
  entryId: EntryId;
  /** True when `headers.opId` was already stored in this stream within the dedupe window: nothing was stored. */
  duplicate: boolean;
}

/** One stream and the position to read after. */
export interface ReadCursor {
  stream: string;
  after: ReadFrom;
}

/** Options of `read()`. */
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

/** Entries read from one stream. Streams with no entries are left out of a read's result. */
export interface StreamBatch {
  stream: string;
  entries: StreamEntry[];
}

/** What `info()` reports about one stream. */
export interface StreamInfo {
  stream: string;
  /** Number of entries; 0 for a stream that does not exist. */
  length: number;
  firstEntryId: EntryId | null;
  lastEntryId: EntryId | null;
}

/** Options of `trim()`. */
export interface TrimOptions {
  maxLen: number;
  /** Let the backend keep a few more entries for speed (`MAXLEN ~` on Redis). Defaults to false. */
  approximate?: boolean;
}

/**
 * Where a new consumer group starts, exclusive: `"$"` (only entries added
 * after the group was created), `"0"` (every entry in the stream), or an
 * explicit entry id.
 */
export type GroupStart = "$" | "0" | EntryId;

/** Options of `createGroup()`. */
export interface CreateGroupOptions {
  /** Defaults to `"$"`. */
  from?: GroupStart;
}

/** The outcome of `createGroup()`. */
export interface CreateGroupResult {
  /** False when the group already existed (it is left as it was). */
  created: boolean;
}

/** An entry delivered to a consumer of a group. */
export interface GroupEntry extends StreamEntry {
  /**
   * How many times the entry was delivered, this delivery included: 1 for
   * a first read, one more for every claim. A layer above moves entries
   * past its `maxDeliveries` to a dead-letter stream.
   */
  deliveries: number;
}

/** Options of `readGroup()`. */
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

/** Options of `nack()`. */
export interface NackOptions {
  /** Milliseconds before the entries become claimable, at most the claim timeout. Defaults to 0. */
  delayMs?: number;
  /** The `minIdleMs` the claimer uses. Defaults to the backend's `claimTimeoutMs` (30 s unless configured). */
  claimTimeoutMs?: number;
}

/** Options of `claim()`. */
export interface ClaimOptions {
  /** Claim entries pending at least this long. Defaults to the backend's `claimTimeoutMs` (30 s unless configured). */
  minIdleMs?: number;
  /** Most entries to claim. Defaults to 100. */
  count?: number;
}

/** Options of `pending()`. */
export interface PendingOptions {
  /** Only the entries of this consumer. Defaults to all consumers. */
  consumer?: string;
  /** Only entries pending at least this long. Defaults to 0. */
  minIdleMs?: number;
  /** Most entries to list, oldest entry id first. Defaults to 100. */
  count?: number;
}

/** One delivered, not yet acknowledged entry of a group. */
export interface PendingInfo {
  entryId: EntryId;
  /** The consumer that holds it. */
  consumer: string;
  /** Milliseconds since it was last delivered, claimed, nacked or extended. */
  idleMs: number;
  deliveries: number;
}

/** One consumer of a group. */
export interface ConsumerInfo {
  name: string;
  /** Entries it holds unacknowledged. */
  pending: number;
  /**
   * Milliseconds since it last received entries (a read, a claim, a nack
   * or an extend). Redis 7.2+ also counts reads that found nothing.
   */
  idleMs: number;
}

/** What `groupInfo()` reports about one group. */
export interface GroupInfo {
  name: string;
  /** By name. */
  consumers: ConsumerInfo[];
  /** Entries delivered and not yet acknowledged, over all consumers. */
  pending: number;
  /** Id of the last entry delivered to the group: reads deliver entries after it. */
  lastDeliveredId: EntryId;
}

/**
 * Connection state of a backend. `degraded`: connected, but calls fail with
 * the code in `BackendInfo.degraded` (Redis stopped answering in time, or
 * its eviction policy could delete stored messages).
 */
export type BackendState = "ready" | "degraded" | "reconnecting" | "closed";

/** What a backend reports about itself. */
export interface BackendInfo {
  kind: "redis" | "memory";
  state: BackendState;
  /** Adds answered as duplicates since start. */
  dedupeHits: number;
  /** Times the backend lost and regained its connection since start. */
  reconnects: number;
  /** Last connection error, if any. */
  lastError?: string;
  /** While `state` is `degraded`: the error code calls get, `BACKEND_TIMEOUT` or `BACKEND_MISCONFIGURED`. */
  degraded?: "BACKEND_TIMEOUT" | "BACKEND_MISCONFIGURED";
}

/**
 * A stream store. Every method fails fast with `BackendUnavailableError`
 * while the store is unreachable; none hangs.
 */
export interface StreamBackend {
  readonly kind: "redis" | "memory";
  /**
   * Appends an entry, unless `entry.headers.opId` was already stored in this
   * stream within the dedupe window: then stores nothing and answers the
   * first copy's entry id with `duplicate: true`. Atomic on Redis (a Lua
   * script), so two sidecars racing on one opId store it once.
   */
  add(stream: string, entry: NewEntry, options?: AddOptions): Promise<AddResult>;
  /** Reads entries after each cursor, from several streams at once. */
  read(cursors: readonly ReadCursor[], options?: ReadOptions): Promise<StreamBatch[]>;
  /** Trims a stream to `maxLen` entries; returns how many were removed. */
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
   * Creates consumer group `group` on `stream`, starting after
   * `options.from` (default `"$"`), and the stream if it does not exist.
   * Idempotent: an existing group is left as it is and `created` is false.
   */
  createGroup(stream: string, group: string, options?: CreateGroupOptions): Promise<CreateGroupResult>;
  /**
   * Delivers up to `count` entries after the group's position to
   * `consumer` (Redis `XREADGROUP ... >`): each goes into the PEL with
   * `deliveries: 1`, and the position moves past it. Each entry goes to
   * exactly one consumer of the group. When the group does not exist (never
   * created, or lost when Redis restarted without persistence) it is created
   * from `"0"` and the read retried, so entries added since are not lost.
   * With `block`, waits for new entries; timeout, abort or close resolve [].
   */
  readGroup(stream: string, group: string, consumer: string, options?: ReadGroupOptions): Promise<GroupEntry[]>;
  /** Acknowledges entries: removes them from the PEL. Returns how many were pending. */
  ack(stream: string, group: string, entryIds: readonly EntryId[]): Promise<number>;
  /**
   * Gives entries held by `consumer` back for redelivery sooner than the
   * claim timeout: they stay pending, with their idle time set so that a
   * `claim()` with `minIdleMs = claimTimeoutMs` takes them after `delayMs`.
   * Entries another consumer holds, or no longer pending, are skipped.
   * Returns how many were nacked.
   */
  nack(stream: string, group: string, consumer: string, entryIds: readonly EntryId[], options?: NackOptions): Promise<number>;
  /**
   * Keep-alive: resets the idle time of entries `consumer` still holds, so
   * they are not claimed while it works on them. Does not count as a
   * delivery. Returns how many were extended.
   */
  extend(stream: string, group: string, consumer: string, entryIds: readonly EntryId[]): Promise<number>;
  /**
   * Moves entries pending at least `minIdleMs` to `consumer` (Redis
   * `XAUTOCLAIM` from the start of the PEL), oldest id first, and returns
   * them with their delivery count incremented. Pending entries that were
   * trimmed from the stream meanwhile are dropped from the PEL, not returned.
   */
  claim(stream: string, group: string, consumer: string, options?: ClaimOptions): Promise<GroupEntry[]>;
  /** Pending entries of a group, oldest id first (Redis `XPENDING`, extended form). */
  pending(stream: string, group: string, options?: PendingOptions): Promise<PendingInfo[]>;
  /** The groups of a stream, by name, with their consumers. [] for a stream that does not exist. */
  groupInfo(stream: string): Promise<GroupInfo[]>;
  /**
   * Removes a consumer from a group. Its pending entries are dropped from
   * the PEL (they will not be redelivered): claim them first. Returns how
   * many it held.
   */
  deleteConsumer(stream: string, group: string, consumer: string): Promise<number>;
  /** Calls `listener` whenever the state changes; returns a function that removes it. */
  onStateChange(listener: (state: BackendState) => void): () => void;
  /** Closes connections; blocked reads resolve with no entries. */
  close(): Promise<void>;
}

/** Default claim timeout (the `minIdleMs` of `claim()` and what `nack()` counts with): 30 seconds. */
export const DEFAULT_CLAIM_TIMEOUT_MS = 30_000;

/** Default dedupe window: 10 minutes. */
export const DEFAULT_DEDUPE_WINDOW_MS = 10 * 60 * 1000;
