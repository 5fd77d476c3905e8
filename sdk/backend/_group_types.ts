/**
 * Consumer groups: which group and consumer a call is about, its options
 * and its answers (entries with their delivery counts, the pending list,
 * the groups of a stream). Part of the backend interface; import these
 * names from `types.ts`.
 *
 * @module
 */
import type { EntryId, StreamEntry } from "./_entry_types.ts";

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
