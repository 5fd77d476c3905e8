/**
 * What the agent client needs from a bus: the sidecar over a socket
 * (`SocketPort`) or streams in this process (`LocalPort`) give the same.
 *
 * @module
 */
import type { AddResult, ConsumerRef, CreateGroupResult, GroupRef, PendingInfo, StreamInfo } from "../backend/types.ts";

export type { StreamInfo };

/**
 * An entry as delivered: its stream entry id and the encoded message.
 *
 * @example
 * ```ts
 * import { createMessage, encode, type RawEntry } from "@ampbus/ampbus";
 *
 * const msg = createMessage({ type: "task", sender: "coder", receiver: "tester" });
 * const entry: RawEntry = ["1706745600000-0", encode(msg)];
 * const [entryId, bytes] = entry;
 * if (!entryId.includes("-") || bytes.length === 0) throw new Error("not an entry");
 * ```
 */
export type RawEntry = [entryId: string, msg: Uint8Array];

/**
 * Entries of one stream, as a port's `read()` answers them.
 *
 * @example
 * ```ts
 * import { createLocalBus, type RawBatch } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * const batches: RawBatch[] = await bus.port.read({ tasks: "0" }, {});
 * if (batches.length !== 0) throw new Error("tasks is empty");
 * await bus.close();
 * ```
 */
export interface RawBatch {
  /** The stream read. */
  stream: string;
  /** Its entries, oldest first. */
  entries: RawEntry[];
  /**
   * Where the next read of the stream goes on after: the last entry returned,
   * or a later one the read skipped as expired. Absent from older sidecars
   * (then the last entry's id).
   */
  last?: string;
}

/**
 * Called with each pushed batch of a subscription (`BusPort.subscribe()`).
 *
 * @example
 * ```ts
 * import type { PushHandler, RawEntry } from "@ampbus/ampbus";
 *
 * const seen: RawEntry[] = [];
 * const onEntries: PushHandler = (entries) => seen.push(...entries);
 * onEntries([["1706745600000-0", new Uint8Array([1])]]);
 * if (seen.length !== 1) throw new Error("expected one entry");
 * ```
 */
export type PushHandler = (entries: RawEntry[]) => void;

/**
 * Server and backend facts (`info` without a stream): what ampd or the
 * in-process bus reports, such as `server` and `backend`.
 *
 * @example
 * ```ts
 * import { type BusInfo, createLocalBus } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * const info: BusInfo = await bus.info();
 * if (info.server !== "local") throw new Error("expected the in-process bus");
 * await bus.close();
 * ```
 */
export type BusInfo = Record<string, unknown>;

/**
 * A group entry as delivered: entry id, encoded message, delivery count.
 *
 * @example
 * ```ts
 * import { createLocalBus, createMessage, type RawGroupEntry } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * await bus.port.groupCreate({ stream: "tasks", group: "testers" }, "0");
 * await bus.streamAdd("tasks", createMessage({ type: "task", sender: "coder", receiver: "tester" }));
 * const [[entryId, , deliveries]]: RawGroupEntry[] = await bus.port.groupRead({ stream: "tasks", group: "testers", consumer: "tester-1" }, {});
 * if (deliveries !== 1) throw new Error(`${entryId} was delivered before`);
 * await bus.close();
 * ```
 */
export type RawGroupEntry = [entryId: string, msg: Uint8Array, deliveries: number];

/**
 * A pending entry of a group: the client's name for the backend's
 * `PendingInfo` (one shape, one definition).
 *
 * @example
 * ```ts
 * import { createLocalBus, createMessage, type PendingEntry } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * const testers = bus.group("tasks", "testers", { from: "0" });
 * await bus.streamAdd("tasks", createMessage({ type: "task", sender: "coder", receiver: "tester" }));
 * await testers.consumer("tester-1", { block: 10 }).fetch();
 * const [p]: PendingEntry[] = await testers.pending();
 * if (p.consumer !== "tester-1") throw new Error("tester-1 holds it");
 * await bus.close();
 * ```
 */
export type PendingEntry = PendingInfo;

/**
 * The operations of the sidecar protocol, as calls: what `AmpClient` runs
 * on. `SocketPort` speaks them to ampd, `ReconnectingPort` keeps a
 * `SocketPort` up, and `createLocalBus()` answers them in this process.
 *
 * @example
 * ```ts
 * import { type BusPort, createLocalBus } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus();
 * const port: BusPort = bus.port;
 * if (typeof (await port.ping()) !== "number") throw new Error("ping answers the server's clock");
 * await bus.close();
 * ```
 */
export interface BusPort {
  /** Creates consumer group `ref.group` on `ref.stream` after `from` (`"$"`, `"0"` or an entry id); idempotent. */
  groupCreate(ref: GroupRef, from: string): Promise<CreateGroupResult>;
  /** Delivers up to `count` entries of the group to `ref.consumer`, waiting up to `block` ms when there are none. */
  groupRead(ref: ConsumerRef, options: { count?: number; block?: number }): Promise<RawGroupEntry[]>;
  /** Acknowledges entries; resolves with how many were pending. */
  ack(ref: GroupRef, ids: string[]): Promise<number>;
  /** Gives entries `ids` that `ref.consumer` holds back for redelivery after `delay` ms; resolves with how many. */
  nack(ref: ConsumerRef, options: { ids: string[]; delay: number }): Promise<number>;
  /** Resets the idle time of entries `ref.consumer` still holds; resolves with how many. */
  extend(ref: ConsumerRef, ids: string[]): Promise<number>;
  /** Pending entries of the group, or of `options.consumer` only. */
  pending(ref: GroupRef, options?: { consumer?: string }): Promise<PendingEntry[]>;
  /** Moves entries idle at least `options.minIdle` ms (default the claim timeout) to `ref.consumer`. */
  claim(ref: ConsumerRef, options?: { minIdle?: number }): Promise<RawGroupEntry[]>;
  /** The groups of `stream` and its dead-letter stream. */
  groupInfo(stream: string): Promise<Record<string, unknown>>;
  /** Stores encoded message bytes, once per `opId` within the dedupe window; `options.maxLen` trims while adding. */
  add(stream: string, msg: Uint8Array, options?: { maxLen?: number }): Promise<AddResult>;
  /** Reads entries after each stream's position (`{stream: after}`), waiting up to `block` ms when there are none. */
  read(streams: Record<string, string>, options: { count?: number; block?: number }): Promise<RawBatch[]>;
  /**
   * Starts a push subscription after `options.from` with `options.credit`
   * entries of credit; `options.onEntries` receives batches until `unsubscribe`.
   */
  subscribe(stream: string, options: { from: string; credit: number; onEntries: PushHandler }): Promise<{ sub: number; from: string }>;
  /** Lets subscription `sub` push `n` more entries. */
  credit(sub: number, n: number): Promise<void>;
  /** Ends subscription `sub`. */
  unsubscribe(sub: number): Promise<void>;
  /** Trims `stream` to `options.maxLen` entries (about that many when `approximate`); resolves with how many were removed. */
  trim(stream: string, options: { maxLen: number; approximate: boolean }): Promise<number>;
  /** Length and first/last entry id of `stream`. */
  streamInfo(stream: string): Promise<StreamInfo>;
  /** Server and backend state and counters. */
  info(): Promise<BusInfo>;
  /** Round trip; resolves with the server's clock (ms since the epoch). */
  ping(): Promise<number>;
  /** Closes the port and what it owns (the connection to ampd, or the backend `createLocalBus()` made). */
  close(): Promise<void>;
  /** Resolves when the port can no longer be used. */
  closed(): Promise<Error | undefined>;
}
