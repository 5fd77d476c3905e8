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
import type { SigningKey } from "../codec/sign.ts";
import { TrustGate } from "../trust/gate.ts";
import { type TrustOptions, TrustPolicy } from "../trust/policy.ts";

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
  #gate: TrustGate;
  /** Settles when the add before the newest one reached the backend: verified adds are stored in call order. */
  #turn: Promise<void> = Promise.resolve();

  /**
   * A port over `backend`; `options.ownsBackend`: `close()` closes the backend
   * too; `options.gate`: the trust policy and who this client is.
   */
  constructor(backend: StreamBackend, options: { ownsBackend: boolean; policy?: DeliveryPolicy; gate?: TrustGate }) {
    this.#backend = backend;
    this.#groups = new GroupReader(backend, options.policy);
    this.#ownsBackend = options.ownsBackend;
    this.#gate = options.gate ?? new TrustGate(new TrustPolicy());
    this.#closedPromise = new Promise((r) => (this.#resolveClosed = r));
  }

  #check(): void {
    if (this.#closed) throw new ConnectionClosedError("the local bus is closed");
  }

  /** The checks ampd makes of an op that names streams (permission, and authentication first). */
  async #allow(op: string, streams: readonly string[], access: "subscribe" | "admin" = "subscribe"): Promise<void> {
    this.#check();
    await this.#gate.authorize(op, { access, streams });
  }

  add(stream: string, msg: Uint8Array, options: { maxLen?: number } = {}): Promise<AddResult> {
    const { maxLen } = options;
    this.#check();
    const decoded = decode(msg);
    const headers = storedHeaders(decoded); // the same checks ampd makes
    const admitted = this.#gate.admitAdd(stream, decoded);
    const before = this.#turn;
    let handed!: () => void;
    this.#turn = new Promise((resolve) => (handed = resolve));
    return (async () => {
      try {
        await admitted;
        await before;
      } catch (e) {
        void before.then(handed); // a refused add still lets the next one go only after the earlier ones
        throw e;
      }
      const stored = this.#backend.add(stream, { headers, msg }, maxLen === undefined ? undefined : { maxLen });
      handed();
      return await stored;
    })();
  }

  async read(streams: Record<string, string>, o: { count?: number; block?: number }): Promise<RawBatch[]> {
    await this.#allow("read", Object.keys(streams));
    const cursors = Object.entries(streams).map(([stream, after]) => ({ stream, after }));
    const batches = await readLive(this.#backend, cursors, { count: o.count, block: o.block, signal: this.#abort.signal });
    return batches.map((b) => ({ stream: b.stream, entries: b.entries.map((e) => [e.entryId, e.msg]), last: b.last }));
  }

  async subscribe(stream: string, options: { from: string; credit: number; onEntries: PushHandler }): Promise<{ sub: number; from: string }> {
    const { credit, onEntries } = options;
    let from = options.from;
    await this.#allow("subscribe", [stream]);
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
    await this.#allow("group.create", [ref.stream]);
    return await this.#backend.createGroup(ref, { from });
  }

  async groupRead(ref: ConsumerRef, o: { count?: number; block?: number }): Promise<RawGroupEntry[]> {
    await this.#allow("group.read", [ref.stream]);
    const { stream, group, consumer } = ref;
    const entries = await this.#groups.read({ stream, group, consumer, count: o.count, block: o.block, signal: this.#abort.signal });
    return entries.map((e) => [e.entryId, e.msg, e.deliveries]);
  }

  async ack(ref: GroupRef, ids: string[]): Promise<number> {
    await this.#allow("ack", [ref.stream]);
    return await this.#backend.ack(ref, ids);
  }

  async nack(ref: ConsumerRef, options: { ids: string[]; delay: number }): Promise<number> {
    await this.#allow("nack", [ref.stream]);
    const n = await this.#backend.nack(ref, { entryIds: options.ids, delayMs: options.delay, claimTimeoutMs: this.#groups.claimTimeoutMs });
    this.#groups.noteNack(ref);
    return n;
  }

  async extend(ref: ConsumerRef, ids: string[]): Promise<number> {
    await this.#allow("extend", [ref.stream]);
    return await this.#backend.extend(ref, ids);
  }

  async pending(ref: GroupRef, options: { consumer?: string } = {}): Promise<PendingEntry[]> {
    await this.#allow("pending", [ref.stream]);
    return await this.#backend.pending(ref, { consumer: options.consumer });
  }

  async claim(ref: ConsumerRef, options: { minIdle?: number } = {}): Promise<RawGroupEntry[]> {
    const { stream, group, consumer } = ref;
    await this.#allow("claim", [stream]);
    const entries = await this.#groups.claimFor({ stream, group, consumer }, options.minIdle ?? this.#groups.claimTimeoutMs);
    return entries.map((e) => [e.entryId, e.msg, e.deliveries]);
  }

  async groupInfo(stream: string): Promise<Record<string, unknown>> {
    await this.#allow("group.info", [stream]);
    return { groups: await this.#backend.groupInfo(stream), deadLetterStream: this.#groups.deadLetterStream(stream) };
  }

  async trim(stream: string, options: { maxLen: number; approximate: boolean }): Promise<number> {
    await this.#allow("trim", [stream], "admin");
    return await this.#backend.trim(stream, { maxLen: options.maxLen, approximate: options.approximate });
  }

  async streamInfo(stream: string): Promise<StreamInfo> {
    await this.#allow("info", [stream]);
    return await this.#backend.info(stream);
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
  /**
   * The trust policy, as `ampd --keyring` (and its flags) would enforce it:
   * a `TrustPolicy`, or its options (`{ keyring, requireSig, minTier, requireSnapSha }`).
   * Defaults to none: no identities, every spec still graded.
   */
  trust?: TrustPolicy | TrustOptions;
  /** With a keyring: the agent this client is. */
  agent?: string;
  /** With a keyring: the agent's key; it proves the identity and signs every message added without a `sig`. */
  key?: SigningKey;
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
  const trust = options.trust instanceof TrustPolicy ? options.trust : new TrustPolicy(options.trust);
  const gate = new TrustGate(trust, { agent: options.agent, key: options.key });
  const port = new LocalPort(backend, { ownsBackend: options.backend === undefined, policy: options.delivery, gate });
  return new AmpClient(port, { onInvalid: options.onInvalid, signer: options.key });
}
