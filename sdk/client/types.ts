/**
 * The client's shared vocabulary: what a delivery, a publish result and the
 * read options are, and `ClientCore`, the part of `AmpClient` that groups,
 * `listen()` and request/reply build on. They import this file, not the
 * client, so imports run one way: client → group, listen, request → types.
 *
 * @module
 */
import type { AISPMessage } from "../envelope/envelope.ts";
import { BROADCAST } from "../envelope/envelope.ts";
import type { AmpbusError } from "../errors.ts";
import type { AddResult as StoredAddResult } from "../backend/types.ts";
import type { BusPort, RawEntry } from "./bus_port.ts";

/**
 * A message as delivered from a stream: decoded, with the bytes it was
 * decoded from.
 *
 * @example
 * ```ts
 * import { createLocalBus, createMessage, type Delivery } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * await bus.streamAdd("tasks", createMessage({ type: "task", sender: "coder", receiver: "tester" }));
 * const [d]: Delivery[] = await bus.streamRead("tasks");
 * if (d.stream !== "tasks" || d.message.sender !== "coder") throw new Error("unexpected delivery");
 * await bus.close();
 * ```
 */
export interface Delivery {
  /** The stream it was read from. */
  stream: string;
  /** Stream entry id (`ms-seq`): where this delivery sits in its stream. */
  entryId: string;
  /** The message, validated and frozen. */
  message: AISPMessage;
  /** The message bytes as stored (canonical MessagePack). */
  bytes: Uint8Array;
}

/**
 * The outcome of publishing: the backend's outcome of `add()`, and the
 * stream it went to.
 *
 * @example
 * ```ts
 * import { type AddResult, createLocalBus, createMessage } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * const msg = createMessage({ type: "task", sender: "coder", receiver: "tester" });
 * const first: AddResult = await bus.send(msg);
 * const again = await bus.send(msg); // same opId: stored once
 * if (first.stream !== "inbox.tester" || !again.duplicate) throw new Error("expected a duplicate");
 * await bus.close();
 * ```
 */
export interface AddResult extends StoredAddResult {
  /** The stream the message was published to. */
  stream: string;
}

/**
 * Where a read or iteration starts: `"0"` (the beginning), `"$"` (new
 * entries only) or after an entry id.
 *
 * @example
 * ```ts
 * import { createLocalBus, type StartFrom } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * const from: StartFrom = "0";
 * const old = await bus.streamRead({ tasks: from });
 * if (old.length !== 0) throw new Error("tasks is empty");
 * await bus.close();
 * ```
 */
export type StartFrom = "0" | "$" | string;

/**
 * Options of `streamRead()`.
 *
 * @example
 * ```ts
 * import { createLocalBus, type StreamReadOptions } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * const options: StreamReadOptions = { count: 10, block: 20 };
 * const got = await bus.streamRead("tasks", options); // waits 20 ms for entries
 * if (got.length !== 0) throw new Error("nothing was added");
 * await bus.close();
 * ```
 */
export interface StreamReadOptions {
  /** Most entries per stream. Defaults to 100. */
  count?: number;
  /** Wait up to this many ms for entries when there are none. Defaults to not waiting. */
  block?: number;
}

/**
 * Options of `streamIter()`.
 *
 * @example
 * ```ts
 * import { createLocalBus, createMessage, type StreamIterOptions } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * await bus.streamAdd("tasks", createMessage({ type: "task", sender: "coder", receiver: "tester" }));
 * const options: StreamIterOptions = { from: "0", window: 16 }; // from the beginning, 16 entries ahead
 * const it = bus.streamIter("tasks", options);
 * const { value } = await it.next();
 * if (value?.message.type !== "task") throw new Error("expected the task");
 * await bus.close();
 * ```
 */
export interface StreamIterOptions {
  /** Defaults to `"$"`: only messages added after the iterator was created. */
  from?: StartFrom;
  /** Most entries the sidecar sends ahead of what you consumed (the credit window). Defaults to 256. */
  window?: number;
}

/**
 * Called for an entry whose bytes are not a valid message (it is skipped).
 *
 * @example
 * ```ts
 * import { createLocalBus, type InvalidEntryHandler } from "@ampbus/ampbus";
 *
 * const onInvalid: InvalidEntryHandler = ({ stream, entryId, error }) => {
 *   console.warn(`skipped ${stream} ${entryId}: ${error.code}`);
 * };
 * const bus = createLocalBus({ onInvalid });
 * await bus.close();
 * ```
 */
export type InvalidEntryHandler = (info: { stream: string; entryId: string; error: AmpbusError }) => void;

/**
 * The inbox stream of an agent: `inbox.<name>`; `"broadcast"` for everyone.
 * `send()` publishes there.
 *
 * @example
 * ```ts
 * import { inboxOf } from "@ampbus/ampbus";
 *
 * if (inboxOf("tester") !== "inbox.tester") throw new Error("expected inbox.tester");
 * if (inboxOf("broadcast") !== "broadcast") throw new Error("broadcast has no inbox prefix");
 * ```
 */
export function inboxOf(agent: string): string {
  return agent === BROADCAST ? BROADCAST : `inbox.${agent}`;
}

/**
 * What `streamIter()` returns: an async iterator of deliveries.
 *
 * @example
 * ```ts
 * import { createLocalBus, createMessage, type DeliveryIterator } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * const it: DeliveryIterator = bus.streamIter("tasks"); // from "$": new messages only
 * await it.ready; // from here on, nothing added is missed
 * await bus.streamAdd("tasks", createMessage({ type: "task", sender: "coder", receiver: "tester" }));
 * const { value } = await it.next();
 * if (value?.stream !== "tasks") throw new Error("expected the new task");
 * await bus.close();
 * ```
 */
export interface DeliveryIterator extends AsyncIterableIterator<Delivery> {
  /**
   * Resolves with the entry id the subscription starts after, once the bus
   * has it (`"$"` is resolved to the stream's last entry at that moment).
   * Messages added after `ready` resolves are sure to be delivered.
   */
  readonly ready: Promise<string>;
}

/**
 * What groups, `listen()` and request/reply use of a client (`AmpClient`
 * implements it): code that needs only these takes a `ClientCore`.
 *
 * @example
 * ```ts
 * import { type ClientCore, createLocalBus, createMessage } from "@ampbus/ampbus";
 *
 * async function announce(client: ClientCore, text: string): Promise<void> {
 *   await client.send(createMessage({ type: "note", sender: "planner", receiver: "broadcast", payload: { text } }));
 * }
 * const bus = createLocalBus();
 * await announce(bus, "build is green");
 * await bus.close();
 * ```
 */
export interface ClientCore {
  /** The port the client talks through. */
  readonly port: BusPort;
  /** Decodes raw entries into deliveries; an invalid one is reported and skipped. */
  deliveries(stream: string, entries: RawEntry[]): Delivery[];
  /** Publishes to a stream. */
  streamAdd(stream: string, msg: AISPMessage, options?: { maxLen?: number }): Promise<AddResult>;
  /** Publishes to the receiver's inbox. */
  send(msg: AISPMessage): Promise<AddResult>;
  /** Follows a stream. */
  streamIter(stream: string, options?: StreamIterOptions): DeliveryIterator;
  /** Registers an iterator that `close()` ends; returns the function that forgets it. */
  track(it: { return(): Promise<unknown> }): () => void;
}
