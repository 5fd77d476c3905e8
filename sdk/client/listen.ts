/**
 * `bus.listen(agent)`: everything addressed to one agent. Its inbox
 * `inbox.<agent>` is read through the group named after the agent, so the
 * agent's replicas share the work (each message to the agent goes to one
 * replica); `broadcast` is read through a group of the same name on the
 * broadcast stream, so every agent gets each broadcast exactly once, whatever
 * the number of its replicas.
 *
 * @module
 */
import { BROADCAST } from "../envelope/envelope.ts";
import { type ClientCore, inboxOf } from "./types.ts";
import type { Group, GroupConsumer, GroupDelivery } from "./group.ts";
import { uuidv7 } from "../envelope/id.ts";
import { AsyncQueue } from "../async_queue.ts";

/** The client `listen()` runs on: the core, and consumer groups. */
type ListeningClient = ClientCore & { group(stream: string, name: string, options?: { from?: string }): Group };

/**
 * Options of `listen()`.
 *
 * @example
 * ```ts
 * import { createLocalBus, type ListenOptions } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * const options: ListenOptions = { replica: "tester-1", count: 8, broadcast: false };
 * const inbox = bus.listen("tester", options);
 * if (inbox.replica !== "tester-1") throw new Error("expected the replica name given");
 * await bus.close();
 * ```
 */
export interface ListenOptions {
  /** This replica's consumer name. Defaults to `<agent>-<uuid>`; give a stable one to take over a crashed replica's work sooner. */
  replica?: string;
  /** Most entries fetched at once per stream. Defaults to 32. */
  count?: number;
  /** Also receive broadcasts. Defaults to true. */
  broadcast?: boolean;
}

/**
 * What `bus.listen(agent)` returns: the agent's inbox and broadcast
 * consumers merged into one iterator of group deliveries to ack.
 *
 * @example
 * ```ts
 * import { createLocalBus, createMessage } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * await bus.send(createMessage({ type: "note", sender: "planner", receiver: "broadcast" }));
 * const inbox = bus.listen("tester", { replica: "tester-1" });
 * await bus.send(createMessage({ type: "task", sender: "coder", receiver: "tester" }));
 * const { value } = await inbox.next();
 * if (value?.message.type !== "task") throw new Error("the broadcast came before tester listened");
 * await value.ack();
 * await inbox.return();
 * await bus.close();
 * ```
 */
export class AgentInbox implements AsyncIterableIterator<GroupDelivery> {
  /** The agent listened for. */
  readonly agent: string;
  /** This replica's consumer name in the agent's groups. */
  readonly replica: string;
  #consumers: GroupConsumer[];
  // Taking the last fetched entry lets the pumps fetch again.
  #queue: AsyncQueue<GroupDelivery> = new AsyncQueue((left): void => {
    if (left === 0) this.#wakePumps();
  });
  #done = false;
  #running = 0;
  // A pump with fetched entries still queued parks on this promise; taking the last one (or
  // return()) resolves it. Waking on the event instead of a timer keeps an idle listener at
  // zero wake-ups while the application works on a message.
  #taken: Promise<void> | undefined;
  #wakeTaken: (() => void) | undefined;

  /** Starts fetching for `agent` at once. `AmpClient.listen()` calls this. */
  constructor(client: ListeningClient, agent: string, options: ListenOptions = {}) {
    this.agent = agent;
    this.replica = options.replica ?? `${agent}-${uuidv7()}`;
    const count = options.count ?? 32;
    // Messages sent before the agent first listened are still its work: the inbox group starts at "0".
    this.#consumers = [client.group(inboxOf(agent), agent, { from: "0" }).consumer(this.replica, { count })];
    if (options.broadcast ?? true) {
      this.#consumers.push(client.group(BROADCAST, agent, { from: "$" }).consumer(this.replica, { count }));
    }
    this.#untrack = client.track(this);
    for (const c of this.#consumers) void this.#pump(c);
  }

  #untrack: () => void;

  async #pump(c: GroupConsumer): Promise<void> {
    this.#running++;
    try {
      while (!this.#done) {
        // Fetch again only when the application has taken what was fetched (bounded prefetch).
        if (this.#queue.length > 0) {
          await (this.#taken ??= new Promise<void>((r) => (this.#wakeTaken = r)));
          continue;
        }
        const got = await c.fetch();
        if (this.#done) return;
        for (const d of got) this.#queue.push(d);
      }
    } catch (e) {
      this.#queue.fail(e as Error);
    } finally {
      this.#running--;
    }
  }

  #wakePumps(): void {
    const wake = this.#wakeTaken;
    this.#taken = this.#wakeTaken = undefined;
    wake?.();
  }

  /** The next delivery from the inbox or from broadcast, whichever comes first. */
  next(): Promise<IteratorResult<GroupDelivery>> {
    return this.#queue.next();
  }

  /** Stops fetching. Entries fetched but not acked stay pending and are redelivered later. */
  return(): Promise<IteratorResult<GroupDelivery>> {
    this.#untrack();
    this.#done = true;
    this.#queue.clear();
    this.#wakePumps();
    this.#queue.end();
    for (const c of this.#consumers) void c.return();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** This inbox itself, so it can be used in `for await`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<GroupDelivery> {
    return this;
  }
}
