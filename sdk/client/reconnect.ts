/**
 * A `BusPort` that survives outages: when the connection to ampd drops (ampd
 * restarted) or ampd answers `BACKEND_UNAVAILABLE` (Redis restarting), it
 * reconnects with backoff, says hello again, re-creates subscriptions after
 * the last entry each delivered, and retries the requests that were in
 * flight (safe for publishes: the bus stores an `opId` once). A
 * `BACKEND_TIMEOUT` (Redis stalled) is retried too, for the requests that
 * are safe to repeat: a publish, a read, an ack; not a group read or a
 * claim, which would hand the same entries out again. Callers see no error
 * for an outage shorter than the deadline; after it, a typed error.
 *
 * @module
 */
import { Backoff } from "../backoff.ts";
import { BusError, ConnectionClosedError } from "../errors.ts";
import type { AddResult, ConsumerRef, CreateGroupResult, GroupRef } from "../backend/types.ts";
import type { BusInfo, BusPort, PendingEntry, PushHandler, RawBatch, RawEntry, RawGroupEntry, StreamInfo } from "./bus_port.ts";
import type { HelloReply, SocketPort } from "./socket_port.ts";

/**
 * Options of reconnection (`connect({ reconnect })`, `ReconnectingPort.open()`).
 *
 * @example
 * ```ts
 * import type { ConnectOptions, ReconnectOptions } from "@ampbus/ampbus";
 *
 * const reconnect: ReconnectOptions = { deadlineMs: 120_000, initialDelayMs: 50 }; // ride out a 2-minute outage
 * const options: ConnectOptions = { name: "tester", reconnect };
 * ```
 */
export interface ReconnectOptions {
  /** How long an outage may last before calls fail, in ms. Defaults to 30 000. */
  deadlineMs?: number;
  /** First wait between attempts, in ms; doubles up to 1 s, with jitter (`Backoff`). Defaults to 25. */
  initialDelayMs?: number;
}

const RETRYABLE_CODES = new Set(["BACKEND_UNAVAILABLE", "SHUTTING_DOWN", "CONNECTION_CLOSED"]);

/**
 * A request that timed out on a stalled Redis may still run when it wakes:
 * retried only where running it twice is harmless.
 */
const RETRYABLE_IF_REPEATABLE = new Set(["BACKEND_TIMEOUT"]);

function retryable(e: unknown, repeatable = false): boolean {
  const code = (e as { code?: string })?.code;
  if (e instanceof BusError || e instanceof ConnectionClosedError) {
    return RETRYABLE_CODES.has(e.code) || (repeatable && RETRYABLE_IF_REPEATABLE.has(e.code));
  }
  // The transport could not connect: the socket is missing or refused while ampd restarts.
  return code === "ENOENT" || code === "ECONNREFUSED" || code === "ECONNRESET" || code === "EPIPE" ||
    (e instanceof Error && /NotFound|ConnectionRefused|ConnectionReset|BrokenPipe/.test(e.name));
}

interface Sub {
  stream: string;
  /** Where the subscription started: the `from` asked for, then the id the subscribe reply resolved it to. */
  from: string;
  /**
   * The last entry delivered. Kept apart from `from`: a push may be handled
   * before the code after `await subscribe()` runs, and must not be undone.
   */
  last: string | undefined;
  /** Credit granted and not yet used. */
  credit: number;
  handler: PushHandler;
  remote: number | undefined;
  port: SocketPort | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A reconnecting port over SocketPorts that `open()` makes: what `connect()`
 * uses unless `reconnect: false`. Through an outage shorter than the
 * deadline, calls wait and are retried (see the module doc for which).
 *
 * @example
 * ```ts
 * import { AmpClient, connectWebSocket, ReconnectingPort, SocketPort } from "@ampbus/ampbus";
 *
 * // Needs a running ampd, so it is defined here, not called.
 * async function resilientClient(url: string): Promise<AmpClient> {
 *   const open = async () => await SocketPort.open(await connectWebSocket(url), { name: "tester" });
 *   const port = await ReconnectingPort.open(open, { deadlineMs: 60_000 });
 *   return new AmpClient(port);
 * }
 * ```
 */
export class ReconnectingPort implements BusPort {
  #open: () => Promise<SocketPort>;
  #deadlineMs: number;
  #initialDelayMs: number;
  #port: SocketPort | undefined;
  #connecting: Promise<SocketPort> | undefined;
  #subs = new Map<number, Sub>();
  #nextSub = 1;
  #closed = false;
  #closedPromise: Promise<Error | undefined>;
  #resolveClosed!: (e: Error | undefined) => void;
  /** Connections made after the first. */
  reconnects = 0;

  private constructor(open: () => Promise<SocketPort>, first: SocketPort, o: ReconnectOptions) {
    this.#open = open;
    this.#deadlineMs = o.deadlineMs ?? 30_000;
    this.#initialDelayMs = o.initialDelayMs ?? 25;
    this.#closedPromise = new Promise((r) => (this.#resolveClosed = r));
    this.#adopt(first);
  }

  /** Connects once (failing at once if ampd is not there), then keeps the connection up. */
  static async open(open: () => Promise<SocketPort>, o: ReconnectOptions = {}): Promise<ReconnectingPort> {
    return new ReconnectingPort(open, await open(), o);
  }

  /** The live connection's hello reply. */
  get hello(): HelloReply | undefined {
    return this.#port?.hello;
  }

  #adopt(p: SocketPort): void {
    this.#port = p;
    void p.closed().then(() => {
      if (this.#port === p) this.#port = undefined;
      // Subscriptions need the connection back without waiting for a call.
      if (!this.#closed && this.#subs.size > 0) void this.#current().catch((e) => this.#giveUp(e));
    });
  }

  #giveUp(e: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#resolveClosed(e);
  }

  /** The live connection, reconnecting (and re-subscribing) when there is none. */
  #current(): Promise<SocketPort> {
    if (this.#port) return Promise.resolve(this.#port);
    this.#connecting ??= this.#reconnect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #reconnect(): Promise<SocketPort> {
    const start = Date.now();
    const backoff = new Backoff({ initialMs: this.#initialDelayMs });
    for (;;) {
      if (this.#closed) throw new ConnectionClosedError("the client is closed");
      try {
        const p = await this.#open();
        this.reconnects++;
        for (const [, s] of this.#subs) await this.#subscribeOn(p, s);
        this.#adopt(p);
        return p;
      } catch (e) {
        if (!retryable(e) || Date.now() - start >= this.#deadlineMs) {
          throw new ConnectionClosedError(`ampd unreachable for ${Date.now() - start} ms: ${(e as Error).message}`, { cause: e });
        }
        await sleep(backoff.next());
      }
    }
  }

  /** Subscribes `s` on `p`, after the last entry it delivered (or from where it started). */
  async #subscribeOn(p: SocketPort, s: Sub): Promise<{ sub: number; from: string }> {
    const r = await p.subscribe(s.stream, { from: s.last ?? s.from, credit: s.credit, onEntries: (entries) => this.#onPush(s, entries) });
    s.remote = r.sub;
    s.port = p;
    if (s.last === undefined) s.from = r.from;
    return r;
  }

  #onPush(s: Sub, entries: RawEntry[]): void {
    if (entries.length === 0) return;
    s.last = entries[entries.length - 1][0];
    s.credit -= entries.length;
    s.handler(entries);
  }

  /**
   * Runs `f` on the live connection, retrying through outages until the
   * deadline; `repeatable` requests are also retried after a backend timeout.
   */
  async #call<T>(f: (p: SocketPort) => Promise<T>, repeatable = false): Promise<T> {
    const start = Date.now();
    const backoff = new Backoff({ initialMs: this.#initialDelayMs });
    for (;;) {
      if (this.#closed) throw new ConnectionClosedError("the client is closed");
      try {
        return await f(await this.#current());
      } catch (e) {
        if (!retryable(e, repeatable)) throw e;
        if (Date.now() - start >= this.#deadlineMs) {
          if (e instanceof BusError) throw e;
          throw new ConnectionClosedError(`ampd unreachable for ${Date.now() - start} ms: ${(e as Error).message}`, { cause: e });
        }
        await sleep(backoff.next());
      }
    }
  }

  /**
   * Any op by name (what `SocketPort.request` sends), retried through
   * outages; after a backend timeout too when `options.repeatable` (a read
   * such as `streams`).
   */
  request(op: string, args: Record<string, unknown>, options: { repeatable?: boolean } = {}): Promise<Record<string, unknown>> {
    return this.#call((p) => p.request(op, args), options.repeatable ?? false);
  }
  /** `add`, retried through outages and backend timeouts (the bus stores an `opId` once). */
  add(stream: string, msg: Uint8Array, options?: { maxLen?: number }): Promise<AddResult> {
    return this.#call((p) => p.add(stream, msg, options), true);
  }
  /** `read`, retried through outages and backend timeouts. */
  read(streams: Record<string, string>, o: { count?: number; block?: number }): Promise<RawBatch[]> {
    return this.#call((p) => p.read(streams, o), true);
  }
  /** `subscribe`; after a reconnect the subscription is re-made after the last entry it delivered, with the credit left. */
  async subscribe(stream: string, options: { from: string; credit: number; onEntries: PushHandler }): Promise<{ sub: number; from: string }> {
    const { from, credit, onEntries } = options;
    const s: Sub = { stream, from, last: undefined, credit, handler: onEntries, remote: undefined, port: undefined };
    const id = this.#nextSub++;
    const r = await this.#call((p) => this.#subscribeOn(p, s));
    this.#subs.set(id, s);
    return { sub: id, from: r.from };
  }
  /** `credit`: adds to the subscription's credit, which a re-subscribe carries over. */
  credit(sub: number, n: number): Promise<void> {
    const s = this.#subs.get(sub);
    if (s === undefined) return Promise.reject(new BusError("UNKNOWN_SUBSCRIPTION", `no subscription ${sub}`));
    s.credit += n;
    // On a new connection the re-subscribe already carries the credit: send only to the one that has the sub.
    return this.#call(async (p) => {
      if (s.port === p && s.remote !== undefined) await p.credit(s.remote, n);
    });
  }
  /** `unsubscribe`: forgets the subscription, and ends it on the live connection if it is there. */
  async unsubscribe(sub: number): Promise<void> {
    const s = this.#subs.get(sub);
    this.#subs.delete(sub);
    if (s?.remote !== undefined && s.port !== undefined && s.port === this.#port) {
      await s.port.unsubscribe(s.remote).catch(() => {});
    }
  }
  /** `group.create`, retried through outages and backend timeouts (it is idempotent). */
  groupCreate(ref: GroupRef, from: string): Promise<CreateGroupResult> {
    return this.#call((p) => p.groupCreate(ref, from), true);
  }
  /** `group.read`, retried through outages but not after a backend timeout (the entries may have been handed out). */
  groupRead(ref: ConsumerRef, o: { count?: number; block?: number }): Promise<RawGroupEntry[]> {
    return this.#call((p) => p.groupRead(ref, o));
  }
  /** `ack`, retried through outages and backend timeouts. */
  ack(ref: GroupRef, ids: string[]): Promise<number> {
    return this.#call((p) => p.ack(ref, ids), true);
  }
  /** `nack`, retried through outages but not after a backend timeout. */
  nack(ref: ConsumerRef, options: { ids: string[]; delay: number }): Promise<number> {
    return this.#call((p) => p.nack(ref, options));
  }
  /** `extend`, retried through outages and backend timeouts. */
  extend(ref: ConsumerRef, ids: string[]): Promise<number> {
    return this.#call((p) => p.extend(ref, ids), true);
  }
  /** `pending`, retried through outages and backend timeouts. */
  pending(ref: GroupRef, options?: { consumer?: string }): Promise<PendingEntry[]> {
    return this.#call((p) => p.pending(ref, options), true);
  }
  /** `claim`, retried through outages but not after a backend timeout (the entries may have moved). */
  claim(ref: ConsumerRef, options?: { minIdle?: number }): Promise<RawGroupEntry[]> {
    return this.#call((p) => p.claim(ref, options));
  }
  /** `group.info`, retried through outages and backend timeouts. */
  groupInfo(stream: string): Promise<Record<string, unknown>> {
    return this.#call((p) => p.groupInfo(stream), true);
  }
  /** `trim`, retried through outages and backend timeouts. */
  trim(stream: string, options: { maxLen: number; approximate: boolean }): Promise<number> {
    return this.#call((p) => p.trim(stream, options), true);
  }
  /** `info` with a stream, retried through outages and backend timeouts. */
  streamInfo(stream: string): Promise<StreamInfo> {
    return this.#call((p) => p.streamInfo(stream), true);
  }
  /** `info` without a stream, retried through outages and backend timeouts. */
  info(): Promise<BusInfo> {
    return this.#call((p) => p.info(), true);
  }
  /** `ping`, retried through outages and backend timeouts. */
  ping(): Promise<number> {
    return this.#call((p) => p.ping(), true);
  }
  /** Stops reconnecting, forgets subscriptions and closes the live connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subs.clear();
    await this.#port?.close();
    this.#resolveClosed(undefined);
  }
  /** Resolves on `close()` (with undefined), or with the error when reconnecting for its subscriptions failed past the deadline. */
  closed(): Promise<Error | undefined> {
    return this.#closedPromise;
  }
}
