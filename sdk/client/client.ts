/**
 * The agent client: publish, read and follow streams through the sidecar
 * (`connect()`) or in this process (`createLocalBus()`), with the same API.
 * Method names follow the AMP plan: `streamAdd`, `streamRead`, `streamIter`.
 *
 * @module
 */
import type { AISPMessage } from "../envelope/envelope.ts";
import type { AmpbusError } from "../errors.ts";
import { decode, encode } from "../codec/codec.ts";
import { sign, type SigningKey } from "../codec/sign.ts";
import type { BusInfo, BusPort, RawEntry, StreamInfo } from "./bus_port.ts";
import { Group } from "./group.ts";
import { AgentInbox, type ListenOptions } from "./listen.ts";
import { StreamIterator } from "./stream_iterator.ts";
import { type ReplyFields, Requester } from "./request.ts";
import {
  type AddResult,
  type ClientCore,
  type Delivery,
  type DeliveryIterator,
  inboxOf,
  type InvalidEntryHandler,
  type StartFrom,
  type StreamIterOptions,
  type StreamReadOptions,
} from "./types.ts";


/**
 * A connection to the bus: what `connect()` (through ampd) and
 * `createLocalBus()` (in this process) return, with the same API.
 *
 * @example
 * ```ts
 * import { createLocalBus, createMessage } from "@ampbus/ampbus";
 *
 * const bus = createLocalBus(); // or: await connect({ name: "coder" })
 * const inbox = bus.streamIter("inbox.tester");
 * await inbox.ready;
 * await bus.send(createMessage({ type: "task", sender: "coder", receiver: "tester" })); // to inbox.tester
 * for await (const d of inbox) {
 *   console.log(d.message.type, "from", d.message.sender);
 *   break;
 * }
 * await bus.close();
 * ```
 */
export class AmpClient implements ClientCore {
  #port: BusPort;
  #offsets = new Map<string, string>();
  #iters = new Set<{ return(): Promise<unknown> }>();
  #onInvalid?: InvalidEntryHandler;
  #requester = new Requester(this);
  #signer: SigningKey | undefined;
  /** Settles once the add before the newest one was handed to the port: adds go out in call order while signing. */
  #turn: Promise<void> = Promise.resolve();
  /** Entries skipped because they were not valid messages. */
  invalidEntries = 0;

  /**
   * A client over `port`; `onInvalid` hears of entries skipped as invalid;
   * with `signer`, every message added without a `sig` is signed with it
   * first. `connect()` and `createLocalBus()` call this.
   */
  constructor(port: BusPort, options: { onInvalid?: InvalidEntryHandler; signer?: SigningKey } = {}) {
    this.#port = port;
    this.#onInvalid = options.onInvalid;
    this.#signer = options.signer;
  }

  /** The port underneath (the sidecar protocol, or the in-process bus). */
  get port(): BusPort {
    return this.#port;
  }

  /** Decodes raw entries, skipping (and reporting) invalid ones. */
  deliveries(stream: string, entries: RawEntry[]): Delivery[] {
    const out: Delivery[] = [];
    for (const [entryId, bytes] of entries) {
      try {
        out.push({ stream, entryId, message: decode(bytes), bytes });
      } catch (e) {
        this.invalidEntries++;
        this.#onInvalid?.({ stream, entryId, error: e as AmpbusError });
      }
    }
    return out;
  }

  /**
   * Publishes a message to a stream. Validates and encodes it first (a
   * `ValidationError` lists every problem). Idempotent: a second add of the
   * same `opId` to the same stream within the dedupe window stores nothing
   * and answers `duplicate: true` with the first copy's entry id.
   */
  async streamAdd(stream: string, msg: AISPMessage, options: { maxLen?: number } = {}): Promise<AddResult> {
    const maxLen = options.maxLen;
    const r = this.#signer === undefined ? await this.#port.add(stream, encode(msg), { maxLen }) : await this.#signedAdd(stream, msg, maxLen);
    return { stream, entryId: r.entryId, duplicate: r.duplicate };
  }

  /** Signs (unless signed already) and adds, handing adds to the port in the order they were called, signed or not. */
  #signedAdd(stream: string, msg: AISPMessage, maxLen: number | undefined) {
    const signing = msg.sig === undefined ? sign(msg, this.#signer!) : Promise.resolve(msg);
    const before = this.#turn;
    let handed!: () => void;
    this.#turn = new Promise((resolve) => (handed = resolve));
    return (async () => {
      try {
        const signed = await signing;
        await before;
        return this.#port.add(stream, encode(signed), { maxLen });
      } finally {
        void before.then(handed); // never ahead of an earlier add, refused or not
      }
    })();
  }

  /** Publishes a message to its receiver's inbox (`inbox.<receiver>`), or to `broadcast`. */
  send(msg: AISPMessage): Promise<AddResult> {
    return this.streamAdd(inboxOf(msg.receiver), msg);
  }

  /**
   * Reads from one or more streams. Offsets are remembered: each call goes
   * on after the last entry the previous call returned for that stream.
   * Give a stream's start explicitly with the map form (`{tasks: "0"}`);
   * a stream named for the first time starts at `"0"`. Messages past their
   * `expiresAt` are never returned (the offset still moves past them), and a
   * reply holds at most what fits one frame, so it may return fewer than
   * `count` entries while more are waiting: read again.
   */
  async streamRead(streams: string | string[] | Record<string, StartFrom>, options: StreamReadOptions = {}): Promise<Delivery[]> {
    const cursors: Record<string, string> = {};
    if (typeof streams === "string") streams = [streams];
    if (Array.isArray(streams)) for (const s of streams) cursors[s] = this.#offsets.get(s) ?? "0";
    else Object.assign(cursors, streams);
    const batches = await this.#port.read(cursors, options);
    const out: Delivery[] = [];
    for (const b of batches) {
      // `last` moves past expired entries the bus skipped, so they are not read again.
      const last = b.last ?? (b.entries.length > 0 ? b.entries[b.entries.length - 1][0] : undefined);
      if (last !== undefined) this.#offsets.set(b.stream, last);
      out.push(...this.deliveries(b.stream, b.entries));
    }
    return out;
  }

  /** The remembered offset of a stream (`streamRead` goes on after it). */
  offset(stream: string): string | undefined {
    return this.#offsets.get(stream);
  }

  /**
   * Follows a stream: an async iterator of deliveries, pulled by credit so a
   * slow consumer never makes the sidecar buffer more than `window` entries.
   * `break` (or `return()`) ends the subscription cleanly.
   */
  streamIter(stream: string, options: StreamIterOptions = {}): DeliveryIterator {
    const it = new StreamIterator(this, { stream, from: options.from ?? "$", window: options.window ?? 256, onEnd: () => this.#iters.delete(it) });
    this.#iters.add(it);
    return it;
  }

  /**
   * A consumer group of `stream` (created on first use, from `from`,
   * default `"$"`): `bus.group("tasks", "testers").consumer("tester-1")`.
   */
  group(stream: string, name: string, options: { from?: StartFrom } = {}): Group {
    return new Group(this, { stream, name, from: options.from ?? "$" });
  }

  /**
   * Everything addressed to `agent`, as group deliveries to ack: its inbox,
   * shared among the agent's replicas, and broadcasts, once per agent.
   *
   * @example
   * ```ts
   * import { createLocalBus, createMessage } from "@ampbus/ampbus";
   *
   * const bus = createLocalBus();
   * await bus.send(createMessage({ type: "task", sender: "coder", receiver: "tester" }));
   * for await (const d of bus.listen("tester")) {
   *   console.log("working on", d.message.id);
   *   await d.ack();
   *   break; // an agent would keep listening
   * }
   * await bus.close();
   * ```
   */
  listen(agent: string, options: ListenOptions = {}): AgentInbox {
    return new AgentInbox(this, agent, options);
  }

  /**
   * Sends a request to its receiver's inbox and resolves with the reply
   * (the message whose `replyTo` is the request's id). Rejects with
   * `TimeoutError` after `timeout` ms (default 30 000).
   *
   * @example
   * ```ts
   * import { createLocalBus, createMessage } from "@ampbus/ampbus";
   *
   * const bus = createLocalBus();
   * void (async () => {
   *   for await (const d of bus.listen("tester")) await bus.reply(d.message, { payload: { passed: true } }).then(() => d.ack());
   * })();
   * const answer = await bus.request(createMessage({ type: "task", sender: "coder", receiver: "tester" }), { timeout: 10_000 });
   * console.log(answer.message.payload); // { passed: true }
   * await bus.close();
   * ```
   */
  request(msg: AISPMessage, options: { timeout?: number } = {}): Promise<Delivery> {
    return this.#requester.request(msg, options.timeout ?? 30_000);
  }

  /**
   * Answers `to`: sends a message with `replyTo` = its id, to its sender's
   * reply stream, in the same conversation. `fields` are the reply's own
   * (type defaults to `"result"`), or a whole message already answering `to`.
   */
  reply(to: AISPMessage, fields: ReplyFields | AISPMessage): Promise<AddResult> {
    return this.#requester.reply(to, fields);
  }

  /** Trims a stream to about `maxLen` entries; returns how many were removed. */
  trim(stream: string, maxLen: number, options: { approximate?: boolean } = {}): Promise<number> {
    return this.#port.trim(stream, { maxLen, approximate: options.approximate ?? false });
  }

  /** Length and first/last entry id of a stream. */
  streamInfo(stream: string): Promise<StreamInfo> {
    return this.#port.streamInfo(stream);
  }

  /** The sidecar's and backend's state and counters. */
  info(): Promise<BusInfo> {
    return this.#port.info();
  }

  /** Round trip; resolves with the server's clock. */
  ping(): Promise<number> {
    return this.#port.ping();
  }

  /**
   * Registers an iterator that `close()` must end (group consumers and
   * `listen()` register themselves); returns the function that unregisters it.
   * @internal
   */
  track(it: { return(): Promise<unknown> }): () => void {
    this.#iters.add(it);
    return () => this.#iters.delete(it);
  }

  /** Ends every iterator and closes the connection. */
  async close(): Promise<void> {
    await Promise.all([...this.#iters].map((it) => it.return()));
    await this.#port.close();
  }
}
