/**
 * The sidecar protocol over a transport: requests framed and pipelined,
 * replies matched by `rid`, pushes routed to their subscription.
 *
 * @module
 */
import type { MsgpackReader } from "../codec/msgpack_reader.ts";
import { makeDecoder } from "../codec/codec.ts";
import { BusError, ConnectionClosedError, TimeoutError } from "../errors.ts";
import type { AddResult, BackendKind, ConsumerRef, CreateGroupResult, GroupRef } from "../backend/types.ts";
import type { BusInfo, BusPort, PendingEntry, PushHandler, RawBatch, RawEntry, RawGroupEntry, StreamInfo } from "./bus_port.ts";
import { DEFAULT_MAX_FRAME, FrameDecoder } from "../transport/frame.ts";
import type { Transport } from "../transport/transport.ts";
import { MsgpackWriter } from "../codec/msgpack_writer.ts";
import type { SigningKey } from "../codec/sign.ts";
import { proveAuth } from "../trust/auth.ts";

/** The protocol version this client speaks. */
export const CLIENT_PROTOCOL_VERSION = 1;

interface Pending {
  resolve: (reply: Record<string, unknown>) => void;
  reject: (e: Error) => void;
  op: string;
  onReply: ((reply: Record<string, unknown>) => void) | undefined;
}

/**
 * Options of `SocketPort.request()`.
 *
 * @example
 * ```ts
 * import type { SocketPort, SocketRequestOptions } from "@ampbus/ampbus";
 *
 * // Needs a port open on a running ampd, so it is defined here, not called.
 * async function subscribeRaw(port: SocketPort, stream: string): Promise<unknown> {
 *   const options: SocketRequestOptions = { onReply: (reply) => console.log("subscribed as", reply.sub) };
 *   return await port.request("subscribe", { stream, from: "$", credit: 16 }, options);
 * }
 * ```
 */
export interface SocketRequestOptions {
  /**
   * Runs with an `ok` reply as soon as it is read, before the next frame of
   * the same read is dispatched (the promise's continuation runs only after
   * all of them). `subscribe` registers its push handler here: ampd may send
   * the first push right behind the reply. Defaults to none.
   */
  onReply?: (reply: Record<string, unknown>) => void;
}

// The default of request()'s options: add is the hot path, and allocates no options object.
const NO_OPTIONS: SocketRequestOptions = Object.freeze({});

/**
 * What the sidecar said in its `hello` reply (`SocketPort.hello`).
 *
 * @example
 * ```ts
 * import type { HelloReply, ReconnectingPort } from "@ampbus/ampbus";
 *
 * // Needs a port connected to ampd, so it is defined here, not called.
 * function describe(port: ReconnectingPort): string {
 *   const hello: HelloReply | undefined = port.hello;
 *   return hello === undefined ? "reconnecting" : `${hello.server} ${hello.serverVersion} on ${hello.backend}`;
 * }
 * ```
 */
export interface HelloReply {
  /** The protocol version the sidecar speaks. */
  version: number;
  /** The server's name (`ampd`). */
  server: string;
  /** The server's release. */
  serverVersion: string;
  /** Which stream backend the sidecar runs on. */
  backend: BackendKind;
  /** Largest frame the sidecar accepts, in bytes. */
  maxFrame: number;
  /** The agent this connection authenticated as (an ampd with a keyring), else undefined. */
  agent?: string;
}

/**
 * Options of `SocketPort.open()`.
 *
 * @example
 * ```ts
 * import type { SocketPortOptions } from "@ampbus/ampbus";
 *
 * const options: SocketPortOptions = { name: "tester", requestTimeout: 10_000, maxFrame: 1024 * 1024 };
 * ```
 */
export interface SocketPortOptions {
  /** Client name sent in `hello`. */
  name: string;
  /** Token sent in `hello`, when ampd requires one. Defaults to none. */
  token?: string;
  /**
   * The agent to authenticate as, on an ampd with a keyring; `key` proves it
   * (`auth`). Without them such an ampd refuses the connection with `AUTH_REQUIRED`.
   */
  agent?: string;
  /** The agent's key (Ed25519 private key or HMAC secret, with its kid in the keyring). */
  key?: SigningKey;
  /** How long to wait for each reply, in ms. Defaults to 30 000. */
  requestTimeout?: number;
  /** Largest frame accepted from the sidecar. Defaults to 16 MiB. */
  maxFrame?: number;
}

/**
 * The sidecar protocol over one transport: requests go out framed and
 * pipelined (those made in one tick share one write), replies are matched by
 * `rid`, pushes go to their subscription. It does not reconnect; `connect()`
 * wraps it in a `ReconnectingPort` unless `reconnect: false`.
 *
 * @example
 * ```ts
 * import { AmpClient, connectWebSocket, SocketPort } from "@ampbus/ampbus";
 *
 * // Needs `ampd --http` listening, so it is defined here, not called.
 * async function openClient(url = "ws://127.0.0.1:8080/ws/bus"): Promise<AmpClient> {
 *   const port = await SocketPort.open(await connectWebSocket(url), { name: "tester" });
 *   console.log("connected to", port.hello.server, port.hello.serverVersion);
 *   return new AmpClient(port);
 * }
 * ```
 */
export class SocketPort implements BusPort {
  #t: Transport;
  #pending = new Map<number, Pending>();
  #subs = new Map<number, PushHandler>();
  #rid = 0;
  #out = new MsgpackWriter(8 * 1024);
  #flushing = false;
  #sendChain: Promise<void> = Promise.resolve();
  #decoder: MsgpackReader;
  #frames: FrameDecoder;
  #timeout: number;
  #closedWith: Error | undefined;
  /** The last error ampd sent with `rid` nil: why it closes the connection, if it does. */
  #closeReason: BusError | undefined;
  #closed: Promise<Error | undefined>;
  /** The sidecar's `hello` reply, set by `open()`. */
  hello!: HelloReply;

  private constructor(t: Transport, o: SocketPortOptions) {
    this.#t = t;
    this.#timeout = o.requestTimeout ?? 30_000;
    const maxFrame = o.maxFrame ?? DEFAULT_MAX_FRAME;
    this.#frames = new FrameDecoder(maxFrame);
    this.#decoder = makeDecoder({ maxBinLength: maxFrame, maxStrLength: maxFrame, maxArrayLength: 1_000_000, maxMapLength: 100_000 });
    this.#closed = this.#readLoop();
  }

  /** Opens the protocol on a connected transport: sends `hello` and checks the answer. */
  static async open(t: Transport, o: SocketPortOptions): Promise<SocketPort> {
    const port = new SocketPort(t, o);
    const req: Record<string, unknown> = { version: CLIENT_PROTOCOL_VERSION, client: o.name };
    if (o.token !== undefined) req.token = o.token;
    if (o.agent !== undefined) req.agent = o.agent;
    try {
      const hello = (await port.request("hello", req)) as unknown as HelloReply & { nonce?: Uint8Array };
      if (hello.nonce instanceof Uint8Array) {
        if (o.agent === undefined || o.key === undefined) {
          throw new BusError("AUTH_REQUIRED", "this ampd has a keyring: connect as an agent of it, with its key (connect({ agent, key }), or --agent and --key FILE)");
        }
        const proof = await proveAuth(o.key, { agent: o.agent, nonce: hello.nonce });
        await port.request("auth", { kid: o.key.kid, proof });
        hello.agent = o.agent;
        delete hello.nonce;
      }
      port.hello = hello;
    } catch (e) {
      await t.close().catch(() => {});
      throw e;
    }
    return port;
  }

  async #readLoop(): Promise<Error | undefined> {
    let error: Error | undefined;
    try {
      for await (const chunk of this.#t) {
        for (const f of this.#frames.push(chunk)) this.#onFrame(f);
      }
      // ampd says why it closes (AUTH_REVOKED, HELLO_TIMEOUT...) in an error with rid nil before it does.
      error = (await this.#t.closed()) ?? this.#closeReason;
    } catch (e) {
      error = e as Error;
    }
    this.#closedWith = new ConnectionClosedError(`connection to ampd closed${error ? `: ${error.message}` : ""}`, { cause: error });
    for (const p of this.#pending.values()) p.reject(this.#closedWith);
    this.#pending.clear();
    return error;
  }

  #onFrame(bytes: Uint8Array): void {
    const m = this.#decoder.decode(bytes) as Record<string, unknown>;
    if (m.rid === undefined && typeof m.sub === "number") {
      // A push: {sub, entries}. Replies always carry rid.
      this.#subs.get(m.sub)?.(m.entries as RawEntry[]);
      return;
    }
    const rid = m.rid as number | null;
    if (rid === null || rid === undefined) {
      // An error the sidecar could not tie to a request (a frame it could not read): fail everything pending.
      const e = m.error as { code: string; message: string; details?: Record<string, unknown> } | undefined;
      const err = new BusError(e?.code ?? "BAD_REQUEST", e?.message ?? "sidecar refused a frame", { details: e?.details });
      if (err.code !== "BAD_REQUEST") this.#closeReason = err; // the one rid-nil error after which the connection goes on
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
      return;
    }
    const p = this.#pending.get(rid);
    if (p === undefined) return;
    this.#pending.delete(rid);
    if (m.ok === true) {
      if (p.onReply !== undefined) {
        try {
          p.onReply(m);
        } catch (e) {
          p.reject(e as Error);
          return;
        }
      }
      p.resolve(m);
    } else {
      const e = m.error as { code: string; message: string; details?: Record<string, unknown> };
      p.reject(new BusError(e.code, `${p.op}: ${e.message}`, { details: e.details }));
    }
  }

  /**
   * Sends one request and resolves with the reply map (or rejects with `BusError`).
   *
   * @example
   * ```ts
   * import type { SocketPort } from "@ampbus/ampbus";
   *
   * // Needs a port open on a running ampd, so it is defined here, not called.
   * async function serverTime(port: SocketPort): Promise<number> {
   *   const { time } = await port.request("ping", {});
   *   return time as number;
   * }
   * ```
   */
  request(op: string, args: Record<string, unknown>, options: SocketRequestOptions = NO_OPTIONS): Promise<Record<string, unknown>> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    const rid = this.#rid = (this.#rid + 1) >>> 0;
    const w = this.#out;
    const start = w.beginFrame();
    const keys = Object.keys(args);
    let n = 2;
    for (const k of keys) if (args[k] !== undefined) n++;
    w.mapHeader(n);
    w.str("op");
    w.str(op);
    w.str("rid");
    w.number(rid);
    for (const k of keys) {
      if (args[k] === undefined) continue;
      w.str(k);
      w.value(args[k], k, 1);
    }
    w.endFrame(start);
    this.#scheduleFlush();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#pending.delete(rid)) reject(new TimeoutError(`${op}: no reply from ampd within ${this.#timeout} ms`));
      }, this.#timeout);
      this.#pending.set(rid, {
        op,
        onReply: options.onReply,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  // Requests made in one tick go out in one write.
  #scheduleFlush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    queueMicrotask(() => {
      this.#flushing = false;
      if (this.#out.length === 0) return;
      const bytes = this.#out.finish();
      this.#out.reset();
      this.#sendChain = this.#sendChain.then(() => this.#t.send(bytes)).catch(() => {});
    });
  }

  /** `add`: stores encoded message bytes once per `opId`. */
  async add(stream: string, msg: Uint8Array, options: { maxLen?: number } = {}): Promise<AddResult> {
    const r = await this.request("add", { stream, msg, maxLen: options.maxLen });
    return { entryId: r.entryId as string, duplicate: r.duplicate as boolean };
  }

  /** `read`: entries after each stream's position. */
  async read(streams: Record<string, string>, o: { count?: number; block?: number }): Promise<RawBatch[]> {
    const r = await this.request("read", { streams, count: o.count, block: o.block });
    return r.streams as RawBatch[];
  }

  /** `subscribe`: pushes go to `onEntries` from the moment the reply is read. */
  async subscribe(stream: string, options: { from: string; credit: number; onEntries: PushHandler }): Promise<{ sub: number; from: string }> {
    const { from, credit, onEntries } = options;
    // Registered as the reply is read: a push in the same read from the transport follows at once.
    const r = await this.request("subscribe", { stream, from, credit }, { onReply: (reply) => this.#subs.set(reply.sub as number, onEntries) });
    return { sub: r.sub as number, from: r.from as string };
  }

  /** `credit`: lets subscription `sub` push `n` more entries. */
  async credit(sub: number, n: number): Promise<void> {
    await this.request("credit", { sub, n });
  }

  /** `unsubscribe`: stops routing pushes of `sub` at once, then tells ampd (unless the connection is gone). */
  async unsubscribe(sub: number): Promise<void> {
    this.#subs.delete(sub);
    if (this.#closedWith) return;
    await this.request("unsubscribe", { sub });
  }

  /** `group.create`: creates the group after `from`; idempotent. */
  async groupCreate(ref: GroupRef, from: string): Promise<CreateGroupResult> {
    const r = await this.request("group.create", { stream: ref.stream, group: ref.group, from });
    return { created: r.created as boolean };
  }

  /** `group.read`: work for `consumer`, as ampd's group reader sifts it. */
  async groupRead(ref: ConsumerRef, o: { count?: number; block?: number }): Promise<RawGroupEntry[]> {
    const { stream, group, consumer } = ref;
    const r = await this.request("group.read", { stream, group, consumer, count: o.count, block: o.block });
    return r.entries as RawGroupEntry[];
  }

  /** `ack`: resolves with how many were pending. */
  async ack(ref: GroupRef, ids: string[]): Promise<number> {
    return (await this.request("ack", { stream: ref.stream, group: ref.group, ids })).acked as number;
  }

  /** `nack`: redelivery after `delay` ms; resolves with how many. */
  async nack(ref: ConsumerRef, options: { ids: string[]; delay: number }): Promise<number> {
    const { stream, group, consumer } = ref;
    return (await this.request("nack", { stream, group, consumer, ids: options.ids, delay: options.delay })).nacked as number;
  }

  /** `extend`: keeps entries `consumer` holds from being claimed; resolves with how many. */
  async extend(ref: ConsumerRef, ids: string[]): Promise<number> {
    const { stream, group, consumer } = ref;
    return (await this.request("extend", { stream, group, consumer, ids })).extended as number;
  }

  /** `pending`: the group's pending entries, or one consumer's. */
  async pending(ref: GroupRef, options: { consumer?: string } = {}): Promise<PendingEntry[]> {
    const r = await this.request("pending", { stream: ref.stream, group: ref.group, consumer: options.consumer });
    return r.pending as PendingEntry[];
  }

  /** `claim`: entries idle at least `minIdle` ms, moved to `consumer`. */
  async claim(ref: ConsumerRef, options: { minIdle?: number } = {}): Promise<RawGroupEntry[]> {
    const { stream, group, consumer } = ref;
    return (await this.request("claim", { stream, group, consumer, minIdle: options.minIdle })).entries as RawGroupEntry[];
  }

  /** `group.info`: the reply without `rid` and `ok`. */
  async groupInfo(stream: string): Promise<Record<string, unknown>> {
    const { rid: _r, ok: _o, ...info } = await this.request("group.info", { stream });
    return info;
  }

  /** `trim`: resolves with how many entries were removed. */
  async trim(stream: string, options: { maxLen: number; approximate: boolean }): Promise<number> {
    return (await this.request("trim", { stream, maxLen: options.maxLen, approximate: options.approximate })).removed as number;
  }

  /** `info` with a stream: its length and first/last entry id. */
  async streamInfo(stream: string): Promise<StreamInfo> {
    const { rid: _r, ok: _o, ...info } = await this.request("info", { stream });
    return info as unknown as StreamInfo;
  }

  /** `info` without a stream: the sidecar's and backend's state and counters. */
  async info(): Promise<BusInfo> {
    const { rid: _r, ok: _o, ...info } = await this.request("info", {});
    return info;
  }

  /** `ping`: resolves with ampd's clock. */
  async ping(): Promise<number> {
    return (await this.request("ping", {})).time as number;
  }

  /** Sends what is queued, closes the transport and waits for the read loop to end. */
  async close(): Promise<void> {
    await this.#sendChain;
    await this.#t.close();
    await this.#closed;
  }

  /** Resolves when the connection has closed, with the error that closed it if any. */
  closed(): Promise<Error | undefined> {
    return this.#closed;
  }
}
