/**
 * One client connection of ampd: frames in, requests dispatched (pipelined,
 * matched by `rid`), replies and subscription pushes out. Runtime-neutral:
 * the socket server (and later the WebSocket endpoint) plugs a `Wire` in.
 *
 * @module
 */
import type { MsgpackReader } from "../sdk/_reader.ts";
import { makeDecoder } from "../sdk/codec.ts";
import { AmpbusError } from "../sdk/errors.ts";
import { FrameDecoder, FrameError } from "../sdk/frame.ts";
import { MsgpackWriter } from "../sdk/_writer.ts";
import { FRAME_BASE_COST, fitCount } from "../sdk/backend/live_read.ts";
import type { StreamBackend, StreamEntry } from "../sdk/backend/types.ts";
import { type OpContext, OPS } from "./ops.ts";
import { PROTOCOL_VERSION, ProtocolError, type Request } from "./protocol.ts";
import type { ServerState } from "./server_state.ts";
import type { Subscription } from "./subscription.ts";

/** The byte pipe a session talks over. */
export interface Wire {
  /** Queues bytes for the peer. */
  write(bytes: Uint8Array): void;
  /** Bytes queued but not yet taken by the peer. */
  buffered(): number;
  /** Closes the connection after queued bytes are sent. */
  close(): void;
  /** Stops reading from the peer (back-pressure on a client that pipelines too much). */
  pause?(): void;
  resume?(): void;
}

/** Outgoing bytes above which subscriptions stop pushing until the peer drains: 4 MiB. */
export const OUTBOX_HIGH_WATER = 4 * 1024 * 1024;
/** Requests in flight above which the session stops reading: 8192. */
export const MAX_IN_FLIGHT = 8192;

const schedule: (f: () => void) => void = typeof setImmediate === "function"
  ? (f) => setImmediate(f)
  : (f) => setTimeout(f, 0);

/** A connection's protocol state. */
export class Session implements OpContext {
  readonly id: number;
  readonly backend: StreamBackend;
  readonly state: ServerState;
  client = "";
  helloDone = false;
  readonly subscriptions = new Map<number, Subscription>();
  readonly #abort = new AbortController();
  #wire: Wire;
  #frames: FrameDecoder;
  #decoder: MsgpackReader;
  #out = new MsgpackWriter(16 * 1024);
  #flushScheduled = false;
  #inFlight = 0;
  #paused = false;
  #closed = false;
  #drainWaiters: (() => void)[] = [];

  constructor(id: number, wire: Wire, state: ServerState) {
    this.id = id;
    this.#wire = wire;
    this.state = state;
    this.backend = state.backend;
    this.#frames = new FrameDecoder(state.config.maxFrame);
    this.#decoder = makeDecoder({
      maxBinLength: state.config.maxFrame,
      maxStrLength: state.config.maxFrame,
      maxArrayLength: 100_000,
      maxMapLength: 10_000,
    });
  }

  /** Aborted when the session ends: blocked reads of this session return at once. */
  get abortSignal(): AbortSignal {
    return this.#abort.signal;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes arrived from the peer. */
  onData(chunk: Uint8Array): void {
    if (this.#closed) return;
    let frames: Uint8Array[];
    try {
      frames = this.#frames.push(chunk);
    } catch (e) {
      // The stream is out of step: nothing after this can be framed. Say why, then close.
      const err = e instanceof FrameError ? e : new ProtocolError("BAD_FRAME", String(e));
      this.state.counters.badFrames++;
      this.state.log.warn(`client ${this.id} (${this.client || "before hello"}): ${err.message}; closing`);
      this.#replyError(null, new ProtocolError("BAD_FRAME", err.message));
      this.close();
      return;
    }
    for (let i = 0; i < frames.length && !this.#closed; i++) this.#onFrame(frames[i]);
  }

  #onFrame(bytes: Uint8Array): void {
    let req: unknown;
    try {
      req = this.#decoder.decode(bytes);
    } catch (e) {
      this.state.counters.badRequests++;
      this.#replyError(null, new ProtocolError("BAD_REQUEST", `frame is not valid MessagePack: ${(e as Error).message}`));
      return;
    }
    if (typeof req !== "object" || req === null || Array.isArray(req) || req instanceof Uint8Array) {
      this.state.counters.badRequests++;
      this.#replyError(null, new ProtocolError("BAD_REQUEST", "a request must be a MessagePack map with op and rid"));
      return;
    }
    const r = req as Request;
    const rid = r.rid;
    if (typeof rid !== "number" || !Number.isInteger(rid) || rid < 0 || rid > 0xffffffff) {
      this.state.counters.badRequests++;
      const got = rid === undefined ? "missing" : JSON.stringify(rid) ?? typeof rid;
      this.#replyError(null, new ProtocolError("BAD_REQUEST", `rid must be an integer from 0 to 4294967295 (was ${got})`, { field: "rid" }));
      return;
    }
    const op = r.op;
    const handler = typeof op === "string" && Object.hasOwn(OPS, op) ? OPS[op] : undefined;
    if (handler === undefined) {
      this.state.counters.badRequests++;
      const known = Object.keys(OPS).join(", ");
      this.#replyError(rid, new ProtocolError("UNKNOWN_OP", `unknown op ${JSON.stringify(op) ?? typeof op}; known ops: ${known}`, { field: "op" }));
      return;
    }
    if (!this.helloDone && op !== "hello") {
      this.#replyError(rid, new ProtocolError("HELLO_REQUIRED", `send hello before ${op}`));
      return;
    }
    if (this.state.shuttingDown && op !== "ping" && op !== "info") {
      this.#replyError(rid, new ProtocolError("SHUTTING_DOWN", "ampd is shutting down; reconnect later"));
      return;
    }
    this.state.counters.requests++;
    let result: unknown;
    try {
      result = handler(this, r);
    } catch (e) {
      this.#replyError(rid, e);
      return;
    }
    if (result instanceof Promise) {
      this.#inFlight++;
      this.state.inFlight++;
      if (this.#inFlight >= MAX_IN_FLIGHT && !this.#paused && this.#wire.pause) {
        this.#paused = true;
        this.#wire.pause();
      }
      result.then(
        (value) => this.#settle(rid, value),
        (e) => this.#settleError(rid, e),
      );
    } else {
      this.#reply(rid, result);
    }
  }

  #settle(rid: number, value: unknown): void {
    this.#done();
    this.#reply(rid, value);
  }

  #settleError(rid: number, e: unknown): void {
    this.#done();
    this.#replyError(rid, e);
  }

  #done(): void {
    this.#inFlight--;
    this.state.inFlight--;
    if (this.#paused && this.#inFlight < MAX_IN_FLIGHT / 2) {
      this.#paused = false;
      this.#wire.resume?.();
    }
    if (this.state.inFlight === 0) this.state.onIdle();
  }

  /** Requests of this session still being processed. */
  get inFlight(): number {
    return this.#inFlight;
  }

  #reply(rid: number, value: unknown): void {
    if (this.#closed) return;
    const w = this.#out;
    const start = w.beginFrame();
    if (value instanceof AddReply) {
      // add's reply, written by hand: it is the hot path
      w.mapHeader(4);
      w.str("rid");
      w.number(rid);
      w.str("ok");
      w.bool(true);
      w.str("entryId");
      w.str(value.entryId);
      w.str("duplicate");
      w.bool(value.duplicate);
    } else {
      const body = (value ?? {}) as Record<string, unknown>;
      const keys = Object.keys(body);
      w.mapHeader(keys.length + 2);
      w.str("rid");
      w.number(rid);
      w.str("ok");
      w.bool(true);
      for (const k of keys) {
        w.str(k);
        w.value(body[k], k, 1);
      }
    }
    w.endFrame(start);
    this.#scheduleFlush();
  }

  #replyError(rid: number | null, e: unknown): void {
    if (this.#closed) return;
    let code: string;
    let message: string;
    let details: Record<string, unknown> | undefined;
    if (e instanceof ProtocolError) {
      code = e.code;
      message = e.message;
      details = e.details;
    } else if (e instanceof AmpbusError) {
      code = e.code;
      message = e.message;
      const issues = (e as { issues?: unknown }).issues;
      if (issues !== undefined) details = { issues };
    } else {
      code = "INTERNAL";
      message = `internal error: ${(e as Error)?.message ?? String(e)}`;
      this.state.log.error(`client ${this.id}: ${(e as Error)?.stack ?? e}`);
    }
    this.state.counters.errors++;
    const error: Record<string, unknown> = { code, message };
    if (details !== undefined) error.details = details;
    const w = this.#out;
    const start = w.beginFrame();
    w.mapHeader(3);
    w.str("rid");
    if (rid === null) w.nil();
    else w.number(rid);
    w.str("ok");
    w.bool(false);
    w.str("error");
    w.value(error, "error", 1);
    w.endFrame(start);
    this.#scheduleFlush();
  }

  /** Pushes entries of a subscription: `{sub, entries: [[entryId, msg], ...]}`, in frames of at most `maxFrame` bytes. */
  push(sub: number, entries: StreamEntry[]): void {
    if (this.#closed) return;
    const budget = this.state.config.maxFrame - FRAME_BASE_COST;
    for (let i = 0; i < entries.length;) {
      const n = fitCount(entries, budget, i);
      this.#pushFrame(sub, entries, i, i + n);
      i += n;
    }
    this.state.counters.pushed += entries.length;
  }

  #pushFrame(sub: number, entries: StreamEntry[], from: number, to: number): void {
    const w = this.#out;
    const start = w.beginFrame();
    w.mapHeader(2);
    w.str("sub");
    w.number(sub);
    w.str("entries");
    w.arrayHeader(to - from);
    for (let i = from; i < to; i++) {
      w.arrayHeader(2);
      w.str(entries[i].entryId);
      w.bin(entries[i].msg);
    }
    w.endFrame(start);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#out.length >= 256 * 1024) return this.#flush();
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    schedule(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#out.length === 0 || this.#closed) return;
    const bytes = this.#out.finish();
    this.#out.reset();
    this.#wire.write(bytes);
  }

  /** True while the peer is slow to take what was sent (subscriptions wait). */
  outboxFull(): boolean {
    return this.#wire.buffered() + this.#out.length >= OUTBOX_HIGH_WATER;
  }

  /** Resolves when the peer has drained below the high-water mark. */
  waitDrain(): Promise<void> {
    if (!this.outboxFull() || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** The wire drained. */
  onDrain(): void {
    if (this.outboxFull()) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Ends the session: subscriptions stop, queued replies are sent, the wire closes. */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#end();
    this.#wire.close();
  }

  /** The peer went away. */
  onClose(): void {
    if (!this.#closed) this.#end();
  }

  // Stops everything that works for this session: blocked reads, subscriptions, drain waiters.
  #end(): void {
    this.#closed = true;
    this.#abort.abort();
    for (const s of this.subscriptions.values()) s.stop();
    this.subscriptions.clear();
    for (const w of this.#drainWaiters) w();
    this.#drainWaiters = [];
  }
}

/** add's reply; the session writes it by hand, as it is the hot path. */
export class AddReply {
  constructor(readonly entryId: string, readonly duplicate: boolean) {}
}

export { PROTOCOL_VERSION };
