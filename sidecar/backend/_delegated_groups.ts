/**
 * The consumer-group methods of `StreamBackend` for a backend that keeps
 * its groups in an object of their own (`RedisGroups`, `SqliteGroups`):
 * each method hands its call to that object through the backend's guard,
 * which refuses it while the backend is closed (or, for a change, cannot
 * write). The semantics of each method are `StreamBackend`'s.
 *
 * @module
 */
import type {
  ClaimOptions,
  ConsumerRef,
  CreateGroupOptions,
  CreateGroupResult,
  GroupEntry,
  GroupInfo,
  GroupRef,
  NackOptions,
  PendingInfo,
  PendingOptions,
  ReadGroupOptions,
  StreamBackend,
} from "../../sdk/backend/types.ts";

/** What a backend's groups object answers, one method per group method of `StreamBackend`. */
export interface BackendGroups {
  create: StreamBackend["createGroup"];
  read: StreamBackend["readGroup"];
  ack: StreamBackend["ack"];
  nack: StreamBackend["nack"];
  extend: StreamBackend["extend"];
  claim: StreamBackend["claim"];
  /** May answer at once: SQLite reads a pending list without a transaction. */
  pending(ref: GroupRef, options?: PendingOptions): Promise<PendingInfo[]> | PendingInfo[];
  /** May answer at once, as `pending`. */
  info(stream: string): Promise<GroupInfo[]> | GroupInfo[];
  deleteConsumer: StreamBackend["deleteConsumer"];
}

/** Whether a group call only reads (and so is served by a store that cannot write) or changes something. */
export type GroupAccess = "read" | "write";

/**
 * The group methods of `RedisBackend` and `SqliteBackend`, written once.
 *
 * @example
 * ```ts
 * class SomeBackend extends DelegatedGroups {
 *   protected groupCall<T>(call: (groups: BackendGroups) => Promise<T> | T, access: GroupAccess): Promise<T> {
 *     return this.#guard(() => call(this.#groups), access);
 *   }
 * }
 * ```
 */
export abstract class DelegatedGroups {
  /** Runs `call` on the backend's groups, unless the backend refuses calls of `access` now. */
  protected abstract groupCall<T>(call: (groups: BackendGroups) => Promise<T> | T, access: GroupAccess): Promise<T>;

  /** Creates `ref.group` on `ref.stream` from `options.from` (default `"$"`); idempotent. */
  createGroup(ref: GroupRef, options?: CreateGroupOptions): Promise<CreateGroupResult> {
    return this.groupCall((g) => g.create(ref, options), "write");
  }

  /** Delivers new entries of the group to `ref.consumer`, recreating a missing group from `"0"`. */
  readGroup(ref: ConsumerRef, options?: ReadGroupOptions): Promise<GroupEntry[]> {
    return this.groupCall((g) => g.read(ref, options), "write");
  }

  /** Removes entries from the group's pending list; returns how many were pending. */
  ack(ref: GroupRef, entryIds: readonly string[]): Promise<number> {
    return this.groupCall((g) => g.ack(ref, entryIds), "write");
  }

  /** Makes `options.entryIds` that `ref.consumer` holds claimable after `options.delayMs` (default 0). */
  nack(ref: ConsumerRef, options: NackOptions): Promise<number> {
    return this.groupCall((g) => g.nack(ref, options), "write");
  }

  /** Resets the idle time of entries `ref.consumer` still holds; returns how many. */
  extend(ref: ConsumerRef, entryIds: readonly string[]): Promise<number> {
    return this.groupCall((g) => g.extend(ref, entryIds), "write");
  }

  /** Moves entries idle at least `minIdleMs` (default the claim timeout) to `ref.consumer`. */
  claim(ref: ConsumerRef, options?: ClaimOptions): Promise<GroupEntry[]> {
    return this.groupCall((g) => g.claim(ref, options), "write");
  }

  /** Pending entries of the group, oldest id first, filtered by `options`. */
  pending(ref: GroupRef, options?: PendingOptions): Promise<PendingInfo[]> {
    return this.groupCall((g) => g.pending(ref, options), "read");
  }

  /** The groups of `stream`, by name, with their consumers. */
  groupInfo(stream: string): Promise<GroupInfo[]> {
    return this.groupCall((g) => g.info(stream), "read");
  }

  /** Removes `ref.consumer` from the group, dropping its pending entries; returns how many it held. */
  deleteConsumer(ref: ConsumerRef): Promise<number> {
    return this.groupCall((g) => g.deleteConsumer(ref), "write");
  }
}
