/**
 * Consumer groups on the client: `bus.group(stream, name).consumer(id)` is
 * an async iterator of deliveries that each carry `ack()`, `nack()` and
 * `extend()`. Work is shared among a group's consumers; work a crashed
 * consumer took is redelivered to a live one after the claim timeout.
 *
 * @module
 */
import { IdBatcher } from "./_id_batch.ts";
import type { ClientCore, Delivery } from "./types.ts";
import type { PendingEntry, RawGroupEntry } from "./bus_port.ts";
import type { ConsumerRef, GroupRef } from "../backend/types.ts";

/**
 * A delivery from a consumer group. Ack it when done, or it is redelivered.
 *
 * @example
 * ```ts
 * import { createLocalBus, createMessage, type GroupDelivery } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * await bus.streamAdd("tasks", createMessage({ type: "task", sender: "coder", receiver: "tester" }));
 * const [d]: GroupDelivery[] = await bus.group("tasks", "testers", { from: "0" }).consumer("tester-1").fetch();
 * if (d.deliveries !== 1) throw new Error("a first delivery");
 * await d.ack();
 * await bus.close();
 * ```
 */
export interface GroupDelivery extends Delivery {
  /** The consumer group it was delivered through. */
  group: string;
  /** The consumer that holds it until it is acked. */
  consumer: string;
  /** How many times this entry has been delivered (1 the first time). */
  deliveries: number;
  /**
   * Marks the entry done. The acks of one group made in the same tick go
   * out as one `ack` request (so `Promise.all(ds.map((d) => d.ack()))`
   * costs one round trip); each promise settles with that request.
   */
  ack(): Promise<void>;
  /** Gives the entry back for redelivery after `delay` ms (default 0) instead of waiting for the claim timeout. Coalesced per tick like `ack()`. */
  nack(options?: { delay?: number }): Promise<void>;
  /** Keeps the entry yours while you still work on it (resets its idle time). Coalesced per tick like `ack()`. */
  extend(): Promise<void>;
}

/**
 * Options of `consumer()`.
 *
 * @example
 * ```ts
 * import { type ConsumerOptions, createLocalBus } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * const options: ConsumerOptions = { count: 8, block: 20 };
 * const work = await bus.group("tasks", "testers").consumer("tester-1", options).fetch(); // waits 20 ms
 * if (work.length !== 0) throw new Error("nothing was added");
 * await bus.close();
 * ```
 */
export interface ConsumerOptions {
  /** Most entries fetched at once. Defaults to 32. */
  count?: number;
  /** How long one fetch waits for work (ms); the iterator fetches again after. Defaults to 5000. */
  block?: number;
}

/**
 * A consumer group of one stream (`bus.group(stream, name)`): created on
 * first use; each entry goes to one of its consumers.
 *
 * @example
 * ```ts
 * import { createLocalBus, createMessage } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * const testers = bus.group("tasks", "testers", { from: "0" });
 * await bus.streamAdd("tasks", createMessage({ type: "task", sender: "coder", receiver: "tester" }));
 * for await (const d of testers.consumer("tester-1")) {
 *   await d.ack();
 *   break;
 * }
 * await bus.close();
 * ```
 */
export class Group {
  /** The stream the group reads. */
  readonly stream: string;
  /** The group's name. */
  readonly name: string;
  #client: ClientCore;
  #ref: GroupRef;
  #created: Promise<void> | undefined;
  #from: string;
  /** Acks, nacks and extends of this group's consumers, coalesced per tick. */
  readonly #batch = new IdBatcher();

  /** The group `options.name` of `options.stream`, created after `options.from` on first use. `AmpClient.group()` calls this. */
  constructor(client: ClientCore, options: { stream: string; name: string; from: string }) {
    this.#client = client;
    this.stream = options.stream;
    this.name = options.name;
    this.#ref = { stream: options.stream, group: options.name };
    this.#from = options.from;
  }

  /** Creates the group if it does not exist (idempotent). */
  ensure(): Promise<void> {
    this.#created ??= this.#client.port.groupCreate(this.#ref, this.#from).then(() => {});
    return this.#created;
  }

  /**
   * A consumer named `id` (use one name per process or replica). Iterating
   * fetches work; `break` stops fetching (unacked entries stay pending and
   * are redelivered later, to this or another consumer).
   */
  consumer(id: string, options: ConsumerOptions = {}): GroupConsumer {
    const c = new GroupConsumer(this.#client, { ...options, group: this, id });
    batchers.set(c, this.#batch);
    return c;
  }

  /** Pending entries of the group (or of one consumer). */
  pending(consumer?: string): Promise<PendingEntry[]> {
    return this.#client.port.pending(this.#ref, { consumer });
  }
}

/** Each consumer's group's batcher (set by `Group.consumer()`). */
const batchers = new WeakMap<GroupConsumer, IdBatcher>();

/**
 * Iterates a consumer's deliveries (`group.consumer(id)`): each step fetches
 * up to `count` entries, waiting up to `block` ms, and hands them out one by
 * one. `break` stops fetching; what was not acked stays pending.
 *
 * @example
 * ```ts
 * import { createLocalBus, createMessage } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * await bus.streamAdd("tasks", createMessage({ type: "task", sender: "coder", receiver: "tester" }));
 * const tester = bus.group("tasks", "testers", { from: "0" }).consumer("tester-1", { count: 1 });
 * const { value } = await tester.next();
 * await value?.nack({ delay: 1000 }); // give it back, redelivered in a second
 * await tester.return();
 * await bus.close();
 * ```
 */
export class GroupConsumer implements AsyncIterableIterator<GroupDelivery> {
  /** The consumer's name within its group. */
  readonly id: string;
  #client: ClientCore;
  #group: Group;
  #ref: ConsumerRef;
  #count: number;
  #block: number;
  #buffer: GroupDelivery[] = [];
  #done = false;
  #ownBatch = new IdBatcher();

  /** Consumer `options.id` of `options.group`; registers with `client` so that `close()` ends it. `Group.consumer()` calls this. */
  constructor(client: ClientCore, options: ConsumerOptions & { group: Group; id: string }) {
    const { group, id } = options;
    this.#client = client;
    this.#group = group;
    this.#ref = { stream: group.stream, group: group.name, consumer: id };
    this.id = id;
    this.#count = options.count ?? 32;
    this.#block = options.block ?? 5000;
    this.#untrack = client.track(this);
  }

  #untrack: () => void;

  #wrap(e: RawGroupEntry, out: GroupDelivery[]): void {
    const [entryId, bytes, deliveries] = e;
    const g = this.#group;
    const port = this.#client.port;
    const consumer = this.id;
    const ref = this.#ref;
    const group = { stream: ref.stream, group: ref.group };
    // A consumer made with `new GroupConsumer` (not `group.consumer()`) batches on its own.
    const batch = batchers.get(this) ?? this.#ownBatch;
    for (const d of this.#client.deliveries(g.stream, [[entryId, bytes]])) {
      out.push({
        ...d,
        group: g.name,
        consumer,
        deliveries,
        ack: () => batch.add("ack", entryId, (ids) => port.ack(group, ids)),
        nack: (o = {}) => {
          const delay = o.delay ?? 0;
          return batch.add(`nack\0${consumer}\0${delay}`, entryId, (ids) => port.nack(ref, { ids, delay }));
        },
        extend: () => batch.add(`extend\0${consumer}`, entryId, (ids) => port.extend(ref, ids)),
      });
    }
  }

  /** Fetches once: up to `count` entries, waiting up to `block` ms. Empty when there was no work. */
  async fetch(): Promise<GroupDelivery[]> {
    await this.#group.ensure();
    const raw = await this.#client.port.groupRead(this.#ref, { count: this.#count, block: this.#block });
    const out: GroupDelivery[] = [];
    for (const e of raw) this.#wrap(e, out);
    return out;
  }

  /** The next delivery, fetching (and waiting) when none is buffered; done after `return()`. */
  async next(): Promise<IteratorResult<GroupDelivery>> {
    while (this.#buffer.length === 0) {
      if (this.#done) return { value: undefined, done: true };
      const got = await this.fetch();
      if (this.#done) return { value: undefined, done: true };
      this.#buffer = got;
    }
    return { value: this.#buffer.shift()!, done: false };
  }

  /** Stops fetching and drops buffered deliveries; they stay pending and are redelivered later. */
  return(): Promise<IteratorResult<GroupDelivery>> {
    this.#untrack();
    this.#done = true;
    this.#buffer = [];
    return Promise.resolve({ value: undefined, done: true });
  }

  /** This consumer itself, so it can be used in `for await`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<GroupDelivery> {
    return this;
  }
}
