/**
 * `createLocalBus()`: the agent client API over streams in this process
 * (a `MemoryBackend`, or any `StreamBackend` you pass), for tests and
 * single-process apps. Same semantics as through ampd: adds are validated
 * and idempotent by `opId` (a message already past `expiresAt` is refused
 * with `EXPIRED`), subscriptions are paced by credit, and no read delivers
 * an expired message.
 *
 * @module
 */
import { AmpClient } from "./client.ts";
import { type InvalidEntryHandler } from "./types.ts";
import type { BusInfo, BusPort, PendingEntry, PushHandler, RawBatch, RawGroupEntry, StreamInfo } from "./bus_port.ts";
import { type DeliveryPolicy, GroupReader } from "../backend/group_reader.ts";
import { BusError, ConnectionClosedError } from "../errors.ts";
import { decode } from "../codec/codec.ts";
import { storedHeaders } from "../backend/headers.ts";
import { readLive } from "../backend/live_read.ts";
import { MemoryBackend } from "../backend/memory.ts";
import type { AddResult, ConsumerRef, CreateGroupResult, GroupRef, StreamBackend } from "../backend/types.ts";
import { PacedReader } from "../backend/paced_reader.ts";

/** `BusPort` over a `StreamBackend` in this process. */
export class LocalPort implements BusPort {
  #backend: StreamBackend;
  #ownsBackend: boolean;
  #subs = new Map<number, PacedReader>();
  #nextSub = 1;
  #closed = false;
  #closedPromise: Promise<Error | undefined>;
  #resolveClosed!: (e: Error | undefined) => void;
  #abort = new AbortController();

  #groups: GroupReader;

  /** A port over `backend`; `options.ownsBackend`: `close()` closes the backend too. */
  constructor(backend: StreamBackend, options: { ownsBackend: boolean; policy?: DeliveryPolicy }) {
    this.#backend = backend;
    this.#groups = new GroupReader(backend, options.policy);
    this.#ownsBackend = options.ownsBackend;
    this.#closedPromise = new Promise((r) => (this.#resolveClosed = r));
  }

  #check(): void {
    if (this.#closed) throw new ConnectionClosedError("the local bus is closed");
  }

  async add(stream: string, msg: Uint8Array, options: { maxLen?: number } = {}): Promise<AddResult> {
    const { maxLen } = options;
    this.#check();
    const headers = storedHeaders(decode(msg)); // the same checks ampd makes
    return await this.#backend.add(stream, { headers, msg }, maxLen === undefined ? undefined : { maxLen });
  }

  async read(streams: Record<string, string>, o: { count?: number; block?: number }): Promise<RawBatch[]> {
    this.#check();
    const cursors = Object.entries(streams).map(([stream, after]) => ({ stream, after }));
    const batches = await readLive(this.#backend, cursors, { count: o.count, block: o.block, signal: this.#abort.signal });
    return batches.map((b) => ({ stream: b.stream, entries: b.entries.map((e) => [e.entryId, e.msg]), last: b.last }));
  }

  async subscribe(stream: string, options: { from: string; credit: number; onEntries: PushHandler }): Promise<{ sub: number; from: string }> {
    const { credit, onEntries } = options;
    let from = options.from;
    this.#check();
    if (from === "$") from = (await this.#backend.info(stream)).lastEntryId ?? "0";
    const sub = this.#nextSub++;
    const s = new PacedReader(this.#backend, {
      stream,
      cursor: from,
      credit,
      sink: { push: (entries) => onEntries(entries.map((e) => [e.entryId, e.msg])) },
    });
    this.#subs.set(sub, s);
    setTimeout(() => void s.run().catch(() => {}), 0);
    return { sub, from };
  }

  credit(sub: number, n: number): Promise<void> {
    const s = this.#subs.get(sub);
    if (s === undefined) return Promise.reject(new BusError("UNKNOWN_SUBSCRIPTION", `no subscription ${sub}`));
    s.addCredit(n);
    return Promise.resolve();
  }

  unsubscribe(sub: number): Promise<void> {
    this.#subs.get(sub)?.stop();
    this.#subs.delete(sub);
    return Promise.resolve();
  }

  async groupCreate(ref: GroupRef, from: string): Promise<CreateGroupResult> {
    this.#check();
    return await this.#backend.createGroup(ref, { from });
  }

  async groupRead(ref: ConsumerRef, o: { count?: number; block?: number }): Promise<RawGroupEntry[]> {
    this.#check();
    const { stream, group, consumer } = ref;
    const entries = await this.#groups.read({ stream, group, consumer, count: o.count, block: o.block, signal: this.#abort.signal });
    return entries.map((e) => [e.entryId, e.msg, e.deliveries]);
  }

  ack(ref: GroupRef, ids: string[]): Promise<number> {
    return this.#backend.ack(ref, ids);
  }

  async nack(ref: ConsumerRef, options: { ids: string[]; delay: number }): Promise<number> {
    const n = await this.#backend.nack(ref, { entryIds: options.ids, delayMs: options.delay, claimTimeoutMs: this.#groups.claimTimeoutMs });
    this.#groups.noteNack(ref);
    return n;
  }

  extend(ref: ConsumerRef, ids: string[]): Promise<number> {
    return this.#backend.extend(ref, ids);
  }

  pending(ref: GroupRef, options: { consumer?: string } = {}): Promise<PendingEntry[]> {
    return this.#backend.pending(ref, { consumer: options.consumer });
  }

  async claim(ref: ConsumerRef, options: { minIdle?: number } = {}): Promise<RawGroupEntry[]> {
    const { stream, group, consumer } = ref;
    const entries = await this.#groups.claimFor({ stream, group, consumer }, options.minIdle ?? this.#groups.claimTimeoutMs);
    return entries.map((e) => [e.entryId, e.msg, e.deliveries]);
  }

  async groupInfo(stream: string): Promise<Record<string, unknown>> {
    return { groups: await this.#backend.groupInfo(stream), deadLetterStream: this.#groups.deadLetterStream(stream) };
  }

  trim(stream: string, options: { maxLen: number; approximate: boolean }): Promise<number> {
    return this.#backend.trim(stream, { maxLen: options.maxLen, approximate: options.approximate });
  }

  streamInfo(stream: string): Promise<StreamInfo> {
    return this.#backend.info(stream);
  }

  info(): Promise<BusInfo> {
    return Promise.resolve({ server: "local", backend: { ...this.#backend.backendInfo() }, subscriptions: this.#subs.size });
  }

  ping(): Promise<number> {
    return Promise.resolve(Date.now());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    for (const s of this.#subs.values()) s.stop();
    this.#subs.clear();
    if (this.#ownsBackend) await this.#backend.close();
    this.#resolveClosed(undefined);
  }

  closed(): Promise<Error | undefined> {
    return this.#closedPromise;
  }
}

/**
 * Options of `createLocalBus()`.
 *
 * @example
 * ```ts
 * import { createLocalBus, type LocalBusOptions, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const options: LocalBusOptions = { backend, delivery: { maxDeliveries: 3 } };
 * const coder = createLocalBus(options);
 * const tester = createLocalBus(options); // same streams as coder
 * await coder.close();
 * await tester.close();
 * await backend.close(); // a backend passed in is not closed with the bus
 * ```
 */
export interface LocalBusOptions {
  /** The streams to use. Defaults to a new `MemoryBackend`, closed with the bus. Share one backend to connect several clients. */
  backend?: StreamBackend;
  /** Dedupe window of the default backend, in ms. Defaults to 10 minutes. */
  dedupeWindowMs?: number;
  /** Claim timeout, max deliveries and dead-letter naming of consumer groups. */
  delivery?: DeliveryPolicy;
  /** Called for each stream entry that is not a valid message (it is skipped). Defaults to none. */
  onInvalid?: InvalidEntryHandler;
}

/**
 * An agent client over in-process streams: the same API as `connect()`,
 * without a sidecar.
 *
 * @example
 * ```ts
 * import { createLocalBus, createMessage, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const coder = createLocalBus({ backend });
 * const tester = createLocalBus({ backend });
 * const inbox = tester.streamIter("inbox.tester");
 * await inbox.ready;
 * await coder.send(createMessage({ type: "task", sender: "coder", receiver: "tester" }));
 * const { value } = await inbox.next();
 * if (value?.message.sender !== "coder") throw new Error("expected coder's task");
 * await Promise.all([coder.close(), tester.close()]);
 * await backend.close();
 * ```
 */
export function createLocalBus(options: LocalBusOptions = {}): AmpClient {
  const backend = options.backend ?? new MemoryBackend({ dedupeWindowMs: options.dedupeWindowMs });
  return new AmpClient(new LocalPort(backend, { ownsBackend: options.backend === undefined, policy: options.delivery }), { onInvalid: options.onInvalid });
}
