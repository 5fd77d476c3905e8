/**
 * The stream backend interface: what ampd needs from a stream store. Two
 * implementations: `RedisBackend` (Redis Streams through node-redis v4) and
 * `MemoryBackend` (in-process). Both pass the contract suite in
 * `tests/sidecar/backend_contract.ts`, which is the specification of these
 * semantics.
 *
 * @module
 */
import { AmpbusError } from "../errors.ts";

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

/** Connection state of a backend. */
export type BackendState = "ready" | "reconnecting" | "closed";

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
  /** State and counters. */
  backendInfo(): BackendInfo;
  /** Calls `listener` whenever the state changes; returns a function that removes it. */
  onStateChange(listener: (state: BackendState) => void): () => void;
  /** Closes connections; blocked reads resolve with no entries. */
  close(): Promise<void>;
}

/** The backend cannot be reached (Redis down or reconnecting). Retry later. */
export class BackendUnavailableError extends AmpbusError {
  constructor(message: string, options?: ErrorOptions) {
    super("BACKEND_UNAVAILABLE", message, options);
    this.name = "BackendUnavailableError";
  }
}

/** An argument a backend cannot accept (a malformed entry id, a negative maxLen...). */
export class BackendArgumentError extends AmpbusError {
  constructor(message: string, options?: ErrorOptions) {
    super("BAD_ARGUMENT", message, options);
    this.name = "BackendArgumentError";
  }
}

/** Default dedupe window: 10 minutes. */
export const DEFAULT_DEDUPE_WINDOW_MS = 10 * 60 * 1000;
