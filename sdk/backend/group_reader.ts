/**
 * Group delivery: what a consumer of a consumer group gets when it asks for
 * work. Shared by ampd and the in-process bus so both behave the same:
 *
 * 1. Entries another consumer left pending longer than the claim timeout are
 *    claimed for this consumer (it may have crashed mid-task). Each consumer
 *    looks for them at most every `claimIntervalMs`, and at once after a nack.
 * 2. A claimed entry delivered more than `maxDeliveries` times goes to the
 *    dead-letter stream (a `dead-letter` message naming the reason, group,
 *    consumer and delivery count, with the original bytes) and is acked in
 *    the source, so it stops bouncing; nothing else is lost.
 * 3. Entries whose message is past `expiresAt` are acked and counted, not delivered.
 * 4. Then new entries (`>`), waiting up to `block` ms when there are none.
 *
 * With `maxBytes` (ampd passes its `maxFrame`), a delivery is cut so its reply
 * fits one frame. The entries cut off are already pending for the consumer:
 * they are held and handed to the same consumer's next read first (their idle
 * time reset, as for a delivery), not left to wait for the claim timeout.
 *
 * @module
 */
import { encodeValid } from "../codec/value.ts";
import { isExpired, storedHeaders } from "./headers.ts";
import { FRAME_BASE_COST, fitCount } from "./live_read.ts";
import { type ConsumerRef, DEFAULT_CLAIM_TIMEOUT_MS, type GroupEntry, type GroupRef, type StreamBackend } from "./types.ts";

export { DEFAULT_CLAIM_TIMEOUT_MS };

/**
 * Policy of a group's deliveries (`createLocalBus({ delivery })`, ampd's
 * configuration).
 *
 * @example
 * ```ts
 * import { createLocalBus, type DeliveryPolicy } from "@ampbus/ampbus";
 *
 * const delivery: DeliveryPolicy = { claimTimeoutMs: 5_000, maxDeliveries: 3, deadLetterStream: (s) => `dead.${s}` };
 * const bus = createLocalBus({ delivery });
 * await bus.close();
 * ```
 */
export interface DeliveryPolicy {
  /** Pending longer than this (ms) is taken as abandoned and claimed by a live consumer. Defaults to 30 000. */
  claimTimeoutMs?: number;
  /** Deliveries after which an entry goes to the dead-letter stream. Defaults to 5. */
  maxDeliveries?: number;
  /** Dead-letter stream of `stream`. Defaults to `<stream>.dlq`. */
  deadLetterStream?: (stream: string) => string;
}

/**
 * Default `maxDeliveries` of a `DeliveryPolicy`: an entry delivered more than
 * 5 times without an ack goes to the dead-letter stream.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_DELIVERIES } from "@ampbus/ampbus";
 *
 * if (DEFAULT_MAX_DELIVERIES !== 5) throw new Error("expected 5");
 * ```
 */
export const DEFAULT_MAX_DELIVERIES = 5;

/**
 * Default `deadLetterStream` of a `DeliveryPolicy`: `<stream>.dlq`.
 *
 * @example
 * ```ts
 * import { deadLetterStreamOf } from "@ampbus/ampbus";
 *
 * if (deadLetterStreamOf("tasks") !== "tasks.dlq") throw new Error("expected tasks.dlq");
 * ```
 */
export const deadLetterStreamOf = (stream: string): string => `${stream}.dlq`;

/**
 * Counters a group reader keeps since it was made (ampd reports them in `info`).
 *
 * @example
 * ```ts
 * import { type DeliveryCounters, GroupReader, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const counters: DeliveryCounters = new GroupReader(backend).counters;
 * if (counters.claimed + counters.deadLettered + counters.expiredDropped !== 0) throw new Error("expected zeros");
 * await backend.close();
 * ```
 */
export interface DeliveryCounters {
  /** Entries claimed from consumers that held them longer than the claim timeout. */
  claimed: number;
  /** Entries moved to a dead-letter stream. */
  deadLettered: number;
  /** Entries acked and not delivered because their message was past `expiresAt`. */
  expiredDropped: number;
}

/**
 * One request for work, for `GroupReader.read()` and `claimFor()`.
 *
 * @example
 * ```ts
 * import { GroupReader, type GroupReadRequest, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * await backend.createGroup({ stream: "tasks", group: "testers" });
 * const request: GroupReadRequest = { stream: "tasks", group: "testers", consumer: "tester-1", count: 10 };
 * if ((await new GroupReader(backend).read(request)).length !== 0) throw new Error("nothing was added");
 * await backend.close();
 * ```
 */
export interface GroupReadRequest extends ConsumerRef {
  /** Most entries to deliver. Defaults to 100. */
  count?: number;
  /** Wait up to this many ms for new entries when there are none. Undefined (the default) returns at once. */
  block?: number;
  /** Aborting ends a blocked read early; it then resolves with no entries. */
  signal?: AbortSignal;
  /** The delivery must fit a frame of this many bytes (ampd's `maxFrame`). Defaults to no limit. */
  maxBytes?: number;
}

// Entries cut off a delivery by the byte limit, held for the consumer's next read.
interface Held {
  entries: GroupEntry[];
  at: number;
}

/**
 * Reads work for consumers of groups on one backend, applying a delivery
 * policy: stale entries are claimed first, over-delivered ones go to the
 * dead-letter stream, expired ones are dropped (see the module doc).
 *
 * @example
 * ```ts
 * import { GroupReader, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const reader = new GroupReader(backend, { maxDeliveries: 3 });
 * await backend.createGroup({ stream: "tasks", group: "testers" }, { from: "0" });
 * await backend.add("tasks", { headers: { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" }, msg: new Uint8Array([1]) });
 * const [work] = await reader.read({ stream: "tasks", group: "testers", consumer: "tester-1" });
 * await backend.ack({ stream: "tasks", group: "testers" }, [work.entryId]);
 * await backend.close();
 * ```
 */
export class GroupReader {
  /** The backend read from. */
  readonly backend: StreamBackend;
  /** Pending longer than this (ms) is claimed by a live consumer. From the policy; defaults to 30 000. */
  readonly claimTimeoutMs: number;
  /** Deliveries after which an entry goes to the dead-letter stream. From the policy; defaults to 5. */
  readonly maxDeliveries: number;
  /** What the reader did since it was made. */
  readonly counters: DeliveryCounters = { claimed: 0, deadLettered: 0, expiredDropped: 0 };
  /**
   * How often one consumer's reads look for stale entries (ms): a quarter of
   * the claim timeout, at most 1 s. Claiming scans the group's pending
   * entries, so doing it before every read would cost more as work piles up.
   */
  readonly claimIntervalMs: number;
  #dlq: (stream: string) => string;
  // When each consumer last looked for stale entries; oldest first.
  #lastClaim = new Map<string, number>();
  // Held entries per consumer; oldest first.
  #held = new Map<string, Held>();

  /** A reader over `backend`; `policy` fields left out take their defaults. */
  constructor(backend: StreamBackend, policy: DeliveryPolicy = {}) {
    this.backend = backend;
    this.claimTimeoutMs = policy.claimTimeoutMs ?? DEFAULT_CLAIM_TIMEOUT_MS;
    this.maxDeliveries = policy.maxDeliveries ?? DEFAULT_MAX_DELIVERIES;
    this.#dlq = policy.deadLetterStream ?? deadLetterStreamOf;
    this.claimIntervalMs = Math.min(1000, Math.floor(this.claimTimeoutMs / 4));
  }

  /** A nack made entries of the group claimable: let the group's next reads claim at once. */
  noteNack(ref: GroupRef): void {
    const prefix = `${ref.stream}\u0000${ref.group}\u0000`;
    for (const k of this.#lastClaim.keys()) if (k.startsWith(prefix)) this.#lastClaim.delete(k);
  }

  #claimDue(key: string, now: number): boolean {
    const last = this.#lastClaim.get(key);
    if (last !== undefined && now - last < this.claimIntervalMs) return false;
    this.#lastClaim.delete(key); // re-insert at the end: the map stays in age order
    this.#lastClaim.set(key, now);
    if (this.#lastClaim.size > 10_000) {
      // Consumers come and go (replicas with fresh names): forget the longest idle.
      for (const k of this.#lastClaim.keys()) {
        this.#lastClaim.delete(k);
        if (this.#lastClaim.size <= 5_000) break;
      }
    }
    return true;
  }

  /** Dead-letter stream of `stream`. */
  deadLetterStream(stream: string): string {
    return this.#dlq(stream);
  }

  /** Claims entries idle longer than `minIdleMs` for `r.consumer`, sifted like `read()`. */
  async claimFor(r: GroupReadRequest, minIdleMs: number): Promise<GroupEntry[]> {
    const key = consumerKey(r);
    const held = await this.#takeHeld(r, key);
    return this.#fit(r, key, held ?? (await this.#claim(r, minIdleMs)));
  }

  async #claim(r: GroupReadRequest, minIdleMs: number): Promise<GroupEntry[]> {
    const claimed = await this.backend.claim(r, { minIdleMs, count: r.count ?? 100 });
    this.counters.claimed += claimed.length;
    const out: GroupEntry[] = [];
    if (claimed.length > 0) await this.#sift(r, claimed, out);
    return out;
  }

  /** Entries for `consumer`: entries held from its last delivery, then reclaimed stale ones, then new ones. */
  async read(r: GroupReadRequest): Promise<GroupEntry[]> {
    const key = consumerKey(r);
    const held = await this.#takeHeld(r, key);
    if (held !== undefined) return this.#fit(r, key, held);
    return this.#fit(r, key, await this.#fetch(r, key));
  }

  async #fetch(r: GroupReadRequest, key: string): Promise<GroupEntry[]> {
    const count = r.count ?? 100;
    if (this.#claimDue(key, Date.now())) {
      const out = await this.#claim(r, this.claimTimeoutMs);
      if (out.length > 0) {
        if (out.length >= count) this.#lastClaim.delete(key); // more may be stale: look again next read
        return out;
      }
    }
    const out: GroupEntry[] = [];
    // Nothing stale: new entries, waiting for them if asked to. Expired ones are
    // dropped; if a whole batch expired, read again (within the same wait).
    const deadline = r.block === undefined ? 0 : Date.now() + r.block;
    for (;;) {
      const left = r.block === undefined ? undefined : Math.max(1, deadline - Date.now());
      const fresh = await this.backend.readGroup(r, { count, block: left, signal: r.signal });
      if (fresh.length === 0) return out;
      await this.#sift(r, fresh, out);
      if (out.length > 0 || r.block === undefined || Date.now() >= deadline || r.signal?.aborted) return out;
    }
  }

  // Cuts a delivery to the byte limit; the rest is held for the consumer's next read.
  #fit(r: GroupReadRequest, key: string, entries: GroupEntry[]): GroupEntry[] {
    if (r.maxBytes === undefined || entries.length === 0) return entries;
    const n = fitCount(entries, { budget: r.maxBytes - FRAME_BASE_COST });
    if (n === entries.length) return entries;
    this.#held.set(key, { entries: entries.slice(n), at: Date.now() });
    return entries.slice(0, n);
  }

  // The entries held for this consumer, if they are still its own: held for less
  // than the claim timeout, nobody could have claimed them. Their idle time is
  // reset, as a delivery would; those that expired meanwhile are dropped.
  async #takeHeld(r: GroupReadRequest, key: string): Promise<GroupEntry[] | undefined> {
    const now = Date.now();
    // Consumers that stopped reading leave their held entries behind: forget them
    // once claimable (the claim path delivers them to whoever reads).
    for (const [k, h] of this.#held) {
      if (now - h.at < this.claimTimeoutMs) break;
      this.#held.delete(k);
    }
    const h = this.#held.get(key);
    if (h === undefined) return undefined;
    this.#held.delete(key);
    try {
      await this.backend.extend(r, h.entries.map((e) => e.entryId));
    } catch (e) {
      this.#held.set(key, h); // the backend is away: keep them for the retry
      throw e;
    }
    const out: GroupEntry[] = [];
    await this.#sift(r, h.entries, out);
    return out.length > 0 ? out : undefined;
  }

  // Moves over-delivered entries to the dead-letter stream, drops expired ones, keeps the rest.
  async #sift(r: GroupReadRequest, entries: GroupEntry[], out: GroupEntry[]): Promise<void> {
    const now = Date.now();
    const done: string[] = [];
    for (const e of entries) {
      if (e.deliveries > this.maxDeliveries) {
        await this.#deadLetter(r, e, `delivered ${e.deliveries} times (more than maxDeliveries ${this.maxDeliveries}) without an ack`);
        done.push(e.entryId);
      } else if (isExpired(e.headers, now)) {
        this.counters.expiredDropped++;
        done.push(e.entryId);
      } else out.push(e);
    }
    if (done.length > 0) await this.backend.ack(r, done);
  }

  async #deadLetter(r: GroupReadRequest, e: GroupEntry, reason: string): Promise<void> {
    const h = e.headers;
    // The dead letter is an ordinary ampbus message, so every client and tool can read it.
    // Its opId is fixed per source entry: moving it twice stores it once.
    // The builder (and the schema it validates with) loads with the first dead letter, not at start-up.
    const { createMessage } = await import("../envelope/builder.ts");
    const letter = createMessage({
      type: "dead-letter",
      sender: "ampd",
      receiver: h.receiver,
      opId: `dlq:${r.stream}:${e.entryId}`,
      conversationId: h.id.length <= 128 ? h.id : undefined,
      payload: {
        reason,
        stream: r.stream,
        entryId: e.entryId,
        group: r.group,
        consumer: r.consumer,
        deliveries: e.deliveries,
        messageId: h.id,
        opId: h.opId,
        type: h.type,
        sender: h.sender,
        message: e.msg,
      },
    });
    const bytes = encodeValid(letter);
    await this.backend.add(this.#dlq(r.stream), {
      headers: storedHeaders(letter),
      msg: bytes,
    });
    this.counters.deadLettered++;
  }
}

function consumerKey(r: GroupReadRequest): string {
  return `${r.stream}\u0000${r.group}\u0000${r.consumer}`;
}

/** Explicit claim (the `claim` op): stale entries for `consumer`, with the same dead-letter and expiry rules. */
export async function claimStale(
  reader: GroupReader,
  r: GroupReadRequest & { minIdleMs?: number },
): Promise<GroupEntry[]> {
  return await reader.claimFor(r, r.minIdleMs ?? reader.claimTimeoutMs);
}
