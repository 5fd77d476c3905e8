/**
 * What a session sends: replies, error replies and subscription pushes,
 * written as frames into one reused writer and handed to the wire in one
 * write per turn (or sooner, past 256 KiB), and the waiters for the peer to
 * drain. Also what a failure is answered with (`errorReplyOf`).
 *
 * @module
 */
import { AmpbusError } from "../sdk/errors.ts";
import { MsgpackWriter } from "../sdk/codec/msgpack_writer.ts";
import { FRAME_BASE_COST, fitCount } from "../sdk/backend/live_read.ts";
import type { StreamEntry } from "../sdk/backend/types.ts";
import { AddReply, ProtocolError } from "./protocol.ts";

/**
 * Outgoing bytes (replies and pushes not yet taken by the peer) above which
 * the session stops reading requests and subscriptions stop pushing, until
 * the peer drains: 4 MiB.
 */
export const OUTBOX_HIGH_WATER = 4 * 1024 * 1024;

/** Runs `f` in a later turn of the event loop. */
export const schedule: (f: () => void) => void = typeof setImmediate === "function"
  ? (f) => setImmediate(f)
  : (f) => setTimeout(f, 0);

/** The code, message and details a failure is answered with; `internal` for what is not an ampbus error (a bug, to log). */
export function errorReplyOf(e: unknown): { code: string; message: string; details?: Record<string, unknown>; internal: boolean } {
  if (e instanceof ProtocolError) return { code: e.code, message: e.message, details: e.details, internal: false };
  if (e instanceof AmpbusError) {
    let details: Record<string, unknown> | undefined;
    const issues = (e as { issues?: unknown }).issues;
    const more = (e as { details?: Record<string, unknown> }).details;
    if (more !== undefined) details = { ...more };
    if (issues !== undefined) details = { ...details, issues };
    return { code: e.code, message: e.message, details, internal: false };
  }
  return { code: "INTERNAL", message: `internal error: ${(e as Error)?.message ?? String(e)}`, internal: true };
}

/**
 * A session's outgoing frames. The session decides whether to send at all
 * (nothing once it is closed); the outbox writes and flushes.
 */
export class Outbox {
  #wire: { write(bytes: Uint8Array): void; buffered(): number };
  #out = new MsgpackWriter(16 * 1024);
  #flushScheduled = false;
  #closed = false;
  #drainWaiters: (() => void)[] = [];
  /** Called after bytes went to the wire: the peer may have taken them at once (no drain event follows). */
  #onFlushed: () => void;

  constructor(wire: { write(bytes: Uint8Array): void; buffered(): number }, onFlushed: () => void) {
    this.#wire = wire;
    this.#onFlushed = onFlushed;
  }

  /** `{rid, ok: true, ...value}`. */
  reply(rid: number, value: unknown): void {
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

  /** `{rid, ok: false, error}`; `rid` null for a failure that answers no request. */
  error(rid: number | null, error: Record<string, unknown>): void {
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

  /** Entries of a subscription: `{sub, entries: [[entryId, msg], ...]}`, in frames of at most `maxFrame` bytes. */
  push(sub: number, o: { entries: StreamEntry[]; maxFrame: number }): void {
    const { entries } = o;
    const budget = o.maxFrame - FRAME_BASE_COST;
    for (let i = 0; i < entries.length;) {
      const n = fitCount(entries, { budget, from: i });
      this.#pushFrame(sub, { entries, from: i, to: i + n });
      i += n;
    }
  }

  #pushFrame(sub: number, slice: { entries: StreamEntry[]; from: number; to: number }): void {
    const { entries, from, to } = slice;
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
    if (this.#out.length >= 256 * 1024) return this.flush();
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    schedule(() => this.flush());
  }

  /** Hands what is written to the wire. */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#out.length === 0 || this.#closed) return;
    const bytes = this.#out.finish();
    this.#out.reset();
    this.#wire.write(bytes);
    this.#onFlushed();
  }

  /** Bytes of replies and pushes not yet taken by the peer. */
  bytes(): number {
    return this.#wire.buffered() + this.#out.length;
  }

  /** True while the peer is slow to take what was sent. */
  full(): boolean {
    return this.#wire.buffered() + this.#out.length >= OUTBOX_HIGH_WATER;
  }

  /** Resolves when the peer has drained below the high-water mark, or the outbox closed. */
  waitDrain(): Promise<void> {
    if (!this.full() || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** The wire drained: the waiters go on once below the high-water mark. */
  drained(): void {
    if (this.full()) return;
    this.#releaseWaiters();
  }

  /** Sends nothing more; every waiter goes on. */
  close(): void {
    this.#closed = true;
    this.#releaseWaiters();
  }

  #releaseWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }
}
