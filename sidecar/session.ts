/**
 * One client connection of ampd: frames in, requests dispatched (pipelined,
 * matched by `rid`), replies and subscription pushes out. Runtime-neutral:
 * the socket server and the `/ws/bus` WebSocket endpoint each plug a `Wire` in.
 * The checks before an op runs are in `_admit_request.ts`, the frames read
 * but not yet handled in `_frame_backlog.ts`, what goes out in `_outbox.ts`.
 *
 * @module
 */
import type { MsgpackReader } from "../sdk/codec/msgpack_reader.ts";
import { makeDecoder } from "../sdk/codec/value.ts";
import { FrameDecoder, FrameError } from "../sdk/transport/frame.ts";
import type { StreamBackend, StreamEntry } from "../sdk/backend/types.ts";
import { errorBody, type OpContext, PROTOCOL_VERSION, ProtocolError, show, type SubscriptionHandle } from "./protocol.ts";
import type { ServerState } from "./server_state.ts";
import type { AgentGrant } from "../sdk/trust/policy.ts";
import { authorizeOp } from "./trust.ts";
import { admitRequest, type Standing } from "./_admit_request.ts";
import { FrameBacklog } from "./_frame_backlog.ts";
import { errorReplyOf, Outbox, OUTBOX_HIGH_WATER, schedule } from "./_outbox.ts";
import type { Wire } from "./wire.ts";

/** Requests in flight above which the session stops reading: 8192. */
export const MAX_IN_FLIGHT = 8192;
/**
 * How long one connection may keep the event loop in one turn, handling its
 * frames (ms). Past it, the rest of what it sent waits in its backlog for the
 * next turn, so that other connections are served in between: one client
 * with a thousand adds in flight does not hold every other client's ping for
 * the time of all of them.
 */
export const SLICE_MS = 0.5;
/** How long a closing session waits for its requests in flight before it closes anyway (ms). */
const CLOSE_GRACE_MS = 5000;

/**
 * A connection's protocol state.
 *
 * Every request is answered in order of arrival of its frame, and what a
 * client can make ampd hold is bounded: requests are read only while fewer
 * than `MAX_IN_FLIGHT` are running and fewer than `OUTBOX_HIGH_WATER` bytes
 * of answers wait for the peer; the rest stays in the peer's socket. Frames
 * that were read but must wait are copied to a backlog, which counts, with
 * the partly received frame, against ampd's global `partialBudget`.
 */
export class Session implements OpContext {
  readonly id: number;
  readonly backend: StreamBackend;
  readonly state: ServerState;
  client = "";
  helloDone = false;
  grant: AgentGrant | undefined;
  pendingAuth: { agent: string; nonce: Uint8Array } | undefined;
  readonly subscriptions = new Map<number, SubscriptionHandle>();
  readonly #abort = new AbortController();
  #wire: Wire;
  #frames: FrameDecoder;
  #decoder: MsgpackReader;
  #outbox: Outbox;
  #standing: Standing;
  #inFlight = 0;
  #paused = false;
  #closed = false;
  /** Reading stopped for good: the session closes once its requests in flight are answered. */
  #closing = false;
  /** Whole frames read but not yet handled (back-pressure). */
  #backlog = new FrameBacklog();
  /** True while the backlog holds frames: it counts as one request in `state.inFlight`, so shutdown waits for it. */
  #backlogCounted = false;
  /** A bad length seen behind the backlog: answered once the frames before it are. */
  #badFrame: FrameError | undefined;
  #pumping = false;
  #pumpScheduled = false;
  /** When this connection's slice of the current turn ends (`performance.now()`). */
  #sliceEnd = 0;
  /** Bytes this session counts in `state.partialBytes`. */
  #held = 0;
  readonly #openedAt = Date.now();
  /** When the frame now being received started (0: none, or reading is paused by ampd). */
  #partialSince = 0;

  constructor(id: number, wire: Wire, state: ServerState) {
    this.id = id;
    this.#wire = wire;
    // The peer may have taken a flush at once (no drain event follows): go on reading.
    this.#outbox = new Outbox(wire, () => {
      if (this.#paused && !this.#closing) schedule(() => this.#pump());
    });
    this.state = state;
    this.#standing = { helloDone: () => this.helloDone, opened: () => this.#opened(), shuttingDown: () => state.shuttingDown };
    this.backend = state.backend;
    this.#frames = new FrameDecoder(state.config.maxFrame);
    this.#decoder = makeDecoder({
      maxBinLength: state.config.maxFrame,
      maxStrLength: state.config.maxFrame,
      maxArrayLength: 100_000,
      maxMapLength: 10_000,
    });
    state.watch(this);
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
    if (this.#closed || this.#closing || this.#badFrame !== undefined) return;
    // Checked before the bytes are taken in: the frame decoder may grow its buffer to twice what
    // it holds, or to what is pending plus this chunk, so that much must still fit the budget.
    const heldNow = this.#frames.held;
    const mayGrow = Math.max(2 * heldNow, this.#frames.pending + chunk.length) - heldNow;
    if (mayGrow > 0 && this.state.partialBytes + mayGrow > this.state.partialBudget) return this.#refuseOverBudget(mayGrow);
    let frames: Uint8Array[];
    let bad: FrameError | undefined;
    try {
      frames = this.#frames.push(chunk);
    } catch (e) {
      // The stream is out of step: nothing after this can be framed. The frames before it are still answered.
      bad = e instanceof FrameError ? e : new FrameError(String(e));
      frames = bad.complete;
    }
    if (this.#frames.pending === 0) this.#partialSince = 0;
    else if (frames.length > 0 || this.#partialSince === 0) this.#partialSince = this.#paused ? 0 : Date.now();
    let i = 0;
    this.#sliceEnd = performance.now() + SLICE_MS;
    if (!this.#backlog.waiting) {
      // The fast path: frames are handled straight from the socket's buffer.
      for (; i < frames.length && !this.#closing; i++) {
        if (this.#mustWait()) break;
        this.#onFrame(frames[i]);
      }
    }
    if (this.#closing) return;
    if (i < frames.length) {
      this.#backlog.keep(frames, i);
      this.#countBacklog(true);
    }
    if (bad !== undefined) this.#badFrame = bad;
    if (this.#backlog.waiting) {
      this.#pauseReading();
      if (this.#sliceOver()) this.#schedulePump(); // nothing else may come to take the backlog up
    }
    if (!this.#account()) return;
    if (!this.#backlog.waiting && bad !== undefined) this.#onBadFrame(bad);
  }

  /**
   * True while this client must wait: too many requests running, too many
   * answers not yet taken, or its slice of this turn used up.
   */
  #mustWait(): boolean {
    return this.#overLimits() || this.#sliceOver();
  }

  /** Too many requests running, or too many answers not yet taken: only a settle or a drain ends this. */
  #overLimits(): boolean {
    return this.#inFlight >= MAX_IN_FLIGHT || this.#outbox.full();
  }

  #sliceOver(): boolean {
    return performance.now() >= this.#sliceEnd;
  }

  /**
   * Counts a non-empty backlog as one request in flight (`state.waitIdle()`,
   * which shutdown waits on, then also waits for frames read but not yet
   * handled), and uncounts it once it is empty or the session ends.
   */
  #countBacklog(held: boolean): void {
    if (held === this.#backlogCounted) return;
    this.#backlogCounted = held;
    if (held) this.state.inFlight++;
    else if (--this.state.inFlight === 0) this.state.onIdle();
  }

  /** Takes the backlog up again in a later turn (one pending at a time), after other connections had theirs. */
  #schedulePump(): void {
    if (this.#pumpScheduled || this.#closed) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pauseReading(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#partialSince = 0; // ampd, not the peer, holds the frame up now
    this.#wire.pause?.();
  }

  /** Handles the backlog while the client may go on; resumes reading when it is empty. */
  #pump(): void {
    if (this.#pumping || this.#closed || this.#closing) return;
    this.#pumping = true;
    this.#sliceEnd = performance.now() + SLICE_MS;
    try {
      while (this.#backlog.waiting && !this.#closing) {
        if (this.#mustWait()) {
          // Requests or answers past their limits: a settle or a drain calls again. The slice: this turn ends here.
          if (this.#sliceOver()) this.#schedulePump();
          return void this.#account();
        }
        this.#onFrame(this.#backlog.take());
      }
      this.#countBacklog(false);
      this.#account();
      if (this.#closing) return;
      if (this.#badFrame !== undefined) return this.#onBadFrame(this.#badFrame);
      if (this.#paused && !this.#overLimits()) {
        this.#paused = false;
        if (this.#frames.pending > 0) this.#partialSince = Date.now();
        this.#wire.resume?.();
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Brings this session's share of `state.partialBytes` up to date; closes
   * the session when all connections together hold more than the budget.
   * Returns false when it closed.
   */
  #account(): boolean {
    const held = this.#frames.held + this.#backlog.bytes;
    const delta = held - this.#held;
    if (delta === 0) return true;
    this.#held = held;
    const st = this.state;
    st.partialBytes += delta;
    if (delta > 0 && st.partialBytes > st.partialBudget) {
      this.#refuseOverBudget(0);
      return false;
    }
    return true;
  }

  /** Closes this connection: taking `more` bytes in would pass ampd's budget for frames not yet handled. */
  #refuseOverBudget(more: number): void {
    const st = this.state;
    const would = st.partialBytes + more;
    st.counters.overBudget++;
    st.log.warn(`client ${this.id} (${this.#who()}): frames not yet handled would hold ${would} bytes across connections, over the budget of ${st.partialBudget}; closing`);
    this.#replyError(null, new ProtocolError("LIMIT_EXCEEDED", `ampd would hold ${would} bytes of partly received frames, over its budget of ${st.partialBudget}; retry later or send smaller frames`));
    this.close();
  }

  #onBadFrame(err: FrameError): void {
    this.#badFrame = undefined;
    this.state.counters.badFrames++;
    this.state.log.warn(`client ${this.id} (${this.#who()}): ${err.message}; closing`);
    this.#replyError(null, new ProtocolError("BAD_FRAME", err.message));
    this.#closeWhenAnswered();
  }

  #who(): string {
    const peer = this.#wire.peer;
    let name = this.client || "before hello";
    if (this.grant !== undefined) name += ` as ${this.grant.agent.name}`;
    return peer === undefined ? name : `${name}, ${peer}`;
  }

  /** Called four times a second by the server: closes a connection whose hello or frame is late. */
  sweep(now: number): void {
    if (this.#closed || this.#closing) return;
    let err: ProtocolError | undefined;
    if (!this.#opened() && now - this.#openedAt > this.state.helloTimeoutMs) {
      const what = this.helloDone ? "auth" : "hello";
      err = new ProtocolError("HELLO_TIMEOUT", `no ${what} within ${this.state.helloTimeoutMs} ms of connecting; closing`);
    } else if (this.#partialSince > 0 && now - this.#partialSince > this.state.frameTimeoutMs) {
      err = new ProtocolError(
        "FRAME_TIMEOUT",
        `a frame was started ${now - this.#partialSince} ms ago and is still not whole (${this.#frames.pending} bytes so far); a frame must arrive within ${this.state.frameTimeoutMs} ms; closing`,
      );
    }
    if (err === undefined) return;
    this.state.counters.timeouts++;
    this.state.log.info(`client ${this.id} (${this.#who()}): ${err.message}`);
    this.#replyError(null, err);
    this.#closeWhenAnswered();
  }

  /** True once the connection may run ops: after hello, and after auth on an ampd with a keyring. */
  #opened(): boolean {
    return this.helloDone && (this.grant !== undefined || !this.state.trust.authRequired);
  }

  /** Closes the connection: its agent lost its keys or permissions (a keyring reload). */
  revoke(reason: string): void {
    if (this.#closed || this.#closing) return;
    this.state.log.info(`client ${this.id} (${this.#who()}): ${reason}; closing`);
    this.#replyError(null, new ProtocolError("AUTH_REVOKED", reason));
    this.#closeWhenAnswered();
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
    const a = admitRequest(req, this.#standing);
    if ("error" in a) {
      if (a.bad) this.state.counters.badRequests++;
      this.#replyError(a.rid, a.error);
      return;
    }
    const { rid, op, request: r, handler } = a;
    this.state.counters.requests++;
    let result: unknown;
    try {
      if (this.grant !== undefined) authorizeOp(this, op, r);
      result = handler(this, r);
    } catch (e) {
      this.#replyError(rid, e);
      if ((op === "hello" || op === "auth") && e instanceof ProtocolError && e.code === "AUTH_FAILED") {
        // One guess per connection: nothing after a refused hello or auth is read.
        const who = typeof r.client === "string" ? show(r.client) : this.pendingAuth?.agent ?? this.client;
        const why = e.cause instanceof Error ? e.cause.message : e.message;
        this.state.noteAuthFailure(this.#wire.peer ?? "unix socket", who, why);
        this.#closeWhenAnswered();
      }
      return;
    }
    if (result instanceof Promise) {
      this.#inFlight++;
      this.state.inFlight++;
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
    this.#afterSettle();
  }

  #settleError(rid: number, e: unknown): void {
    this.#done();
    this.#replyError(rid, e);
    this.#afterSettle();
  }

  #done(): void {
    this.#inFlight--;
    this.state.inFlight--;
    if (this.state.inFlight === 0) this.state.onIdle();
  }

  #afterSettle(): void {
    if (this.#closing) {
      if (this.#inFlight === 0) this.close();
    } else if (this.#paused) this.#schedulePump(); // not in this settle's microtask chain: others get their turn
  }

  /**
   * Stops reading for good, lets the requests in flight finish (blocked
   * reads end at once, with what they have), then closes.
   */
  #closeWhenAnswered(): void {
    if (this.#closing || this.#closed) return;
    this.#closing = true;
    this.#partialSince = 0;
    this.#wire.pause?.();
    this.#abort.abort();
    if (this.#inFlight === 0) return this.close();
    const t = setTimeout(() => this.close(), CLOSE_GRACE_MS);
    (t as { unref?: () => void }).unref?.();
  }

  /** Requests of this session still being processed. */
  get inFlight(): number {
    return this.#inFlight;
  }

  #reply(rid: number, value: unknown): void {
    if (this.#closed) return;
    this.#outbox.reply(rid, value);
  }

  #replyError(rid: number | null, e: unknown): void {
    if (this.#closed) return;
    const { code, message, details, internal } = errorReplyOf(e);
    if (internal) this.state.log.error(`client ${this.id}: ${(e as Error)?.stack ?? e}`);
    const counters = this.state.counters;
    counters.errors++;
    if (code === "FORBIDDEN") counters.forbidden++;
    else if (code === "BAD_SIGNATURE") counters.badSignatures++;
    else if (code === "TIER_MISMATCH" || code === "TIER_TOO_LOW") counters.tierRefusals++;
    this.#outbox.error(rid, errorBody({ code, message, details }));
  }

  /** Pushes entries of a subscription: `{sub, entries: [[entryId, msg], ...]}`, in frames of at most `maxFrame` bytes. */
  push(sub: number, entries: StreamEntry[]): void {
    if (this.#closed) return;
    this.#outbox.push(sub, { entries, maxFrame: this.state.config.maxFrame });
    this.state.counters.pushed += entries.length;
  }

  /** Bytes of replies and pushes not yet taken by the peer. */
  outboxBytes(): number {
    return this.#closed ? 0 : this.#outbox.bytes();
  }

  /** True while the peer is slow to take what was sent (subscriptions wait). */
  outboxFull(): boolean {
    return this.#outbox.full();
  }

  /** Resolves when the peer has drained below the high-water mark. */
  waitDrain(): Promise<void> {
    return this.#outbox.waitDrain();
  }

  /** The wire drained. */
  onDrain(): void {
    if (this.#paused) this.#pump();
    this.#outbox.drained();
  }

  /** Ends the session: subscriptions stop, queued replies are sent, the wire closes. */
  close(): void {
    if (this.#closed) return;
    this.#outbox.flush();
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
    this.#outbox.close(); // nothing more goes out; drain waiters go on
    this.#countBacklog(false);
    this.state.unwatch(this);
    this.state.partialBytes -= this.#held;
    this.#held = 0;
    this.#backlog.clear();
    this.#abort.abort();
    for (const s of this.subscriptions.values()) s.stop();
    this.subscriptions.clear();
  }
}

export { OUTBOX_HIGH_WATER, PROTOCOL_VERSION };
export type { Wire };
