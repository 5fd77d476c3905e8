/**
 * What a stream holds and what leaves it: `info()`'s answer, the removed
 * counts, retention and trims. Part of the backend interface; import these
 * names from `types.ts`.
 *
 * @module
 */
import type { EntryId } from "./_entry_types.ts";

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
