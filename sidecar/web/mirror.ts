/**
 * The live mirror: every message added to the bus, as one JSON text frame
 * `{stream, entryId, size, message}` per message, to each watcher whose
 * filter matches. The bus never waits for a watcher: each has a bounded
 * queue, sends stop while its socket holds more than `highWater` bytes, and
 * when the queue is full the oldest entries are dropped and counted; the
 * watcher is then sent `{"dropped": N}` before the entries that follow.
 * A message past its `expiresAt` is not sent, even when it expired while
 * queued (it is left out silently, as every read leaves it out).
 *
 * Dead letters ampd writes (`GroupReader`, through `ServerState.onAdded`)
 * are mirrored too; their frame also carries `original`, the JSON form of
 * the message that could not be delivered, and they pass a stream filter
 * that names the stream their original came from. A watcher is also sent
 * the last entries of its streams when it connects (backfill.ts), as frames
 * with `"backfill": true`.
 *
 * @module
 */
import { jsonForm } from "../../sdk/codec/json.ts";
import type { MsgpackReader } from "../../sdk/codec/msgpack_reader.ts";
import { decodeValue, makeDecoder } from "../../sdk/codec/value.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import type { AddedEntry } from "../server_state.ts";
import { FilterMatcher, type MirrorFilter } from "./mirror_filter.ts";

/** The part of a WebSocket the mirror uses (Bun's `ServerWebSocket` has it). */
export interface MirrorSocket {
  /** Returns -1 when queued under back-pressure, 0 when dropped, else the bytes sent. */
  sendText(text: string): number;
  /** Bytes queued in the socket, not yet sent. */
  getBufferedAmount(): number;
}

/** Options of `Mirror`. */
export interface MirrorOptions {
  /** Most entries queued per watcher; beyond, the oldest are dropped. Defaults to 1000. */
  maxQueue?: number;
  /** Most bytes (UTF-16 code units of JSON) queued per watcher. Defaults to 8 MiB. */
  maxQueueBytes?: number;
  /** Sends to a watcher pause while its socket buffers this many bytes. Defaults to 256 KiB. */
  highWater?: number;
  /** Largest message decoded for the mirror. Defaults to 16 MiB. */
  maxFrame?: number;
}

/** For a dead letter, the stream its original came from. */
function originOf(msg: AISPMessage): string | undefined {
  if (msg.type !== "dead-letter") return undefined;
  const s = (msg.payload as { stream?: unknown } | undefined)?.stream;
  return typeof s === "string" ? s : undefined;
}

const schedule: (f: () => void) => void = typeof setImmediate === "function" ? (f) => setImmediate(f) : (f) => setTimeout(f, 0);

/** One connected watcher: its filter and its queue of JSON frames. */
export class MirrorWatcher {
  readonly socket: MirrorSocket;
  #matcher: FilterMatcher;
  #ring: (string | undefined)[];
  // expiresAt of each queued frame (Infinity when the message does not expire).
  #expires: number[];
  #head = 0;
  #count = 0;
  #bytes = 0;
  #dropped = 0;
  #droppedTotal = 0;
  #sent = 0;
  readonly #maxQueueBytes: number;
  readonly #highWater: number;

  constructor(socket: MirrorSocket, filter: MirrorFilter, o: Required<MirrorOptions>) {
    this.socket = socket;
    this.#matcher = new FilterMatcher(filter);
    this.#ring = new Array(o.maxQueue);
    this.#expires = new Array(o.maxQueue).fill(Infinity);
    this.#maxQueueBytes = o.maxQueueBytes;
    this.#highWater = o.highWater;
  }

  /** The filter in force. */
  get filter(): MirrorFilter {
    return this.#matcher.filter;
  }

  set filter(f: MirrorFilter) {
    this.#matcher = new FilterMatcher(f);
  }

  /** Entries waiting to be sent. */
  get queued(): number {
    return this.#count;
  }

  /** Entries dropped so far because the watcher was too slow. */
  get droppedTotal(): number {
    return this.#droppedTotal;
  }

  /** Entries handed to the socket so far. */
  get sent(): number {
    return this.#sent;
  }

  matches(stream: string, msg: AISPMessage): boolean {
    return this.#matcher.matches({ stream, origin: originOf(msg), sender: msg.sender, receiver: msg.receiver, type: msg.type, tier: msg.tier });
  }

  /**
   * Queues a frame, dropping the oldest ones when the queue is full; it is not
   * sent once `expiresAt` (ms since the epoch) has passed. True when the queue is half full.
   */
  enqueue(text: string, expiresAt = Infinity): boolean {
    if (text.length > this.#maxQueueBytes) {
      this.#dropped++;
      this.#droppedTotal++;
      return false;
    }
    const cap = this.#ring.length;
    while (this.#count > 0 && (this.#count === cap || this.#bytes + text.length > this.#maxQueueBytes)) this.#dropOldest();
    this.#ring[(this.#head + this.#count) % cap] = text;
    this.#expires[(this.#head + this.#count) % cap] = expiresAt;
    this.#count++;
    this.#bytes += text.length;
    return this.#count * 2 >= cap || this.#bytes * 2 >= this.#maxQueueBytes;
  }

  #dropOldest(): void {
    this.#shift(this.#ring[this.#head]!);
    this.#dropped++;
    this.#droppedTotal++;
  }

  // Takes the oldest frame `t` off the queue.
  #shift(t: string): void {
    this.#ring[this.#head] = undefined;
    this.#expires[this.#head] = Infinity;
    this.#head = (this.#head + 1) % this.#ring.length;
    this.#count--;
    this.#bytes -= t.length;
  }

  /** Sends queued frames while the socket takes them (skipping expired ones); the rest waits for `drain`. */
  flush(): void {
    const s = this.socket;
    if (this.#dropped > 0) {
      if (s.getBufferedAmount() >= this.#highWater) return;
      // The dropped entries came before everything still queued: say so first.
      const st = s.sendText(`{"dropped":${this.#dropped}}`);
      if (st === 0) return;
      this.#dropped = 0;
    }
    const now = Date.now();
    while (this.#count > 0 && s.getBufferedAmount() < this.#highWater) {
      const t = this.#ring[this.#head]!;
      if (this.#expires[this.#head]! < now) {
        this.#shift(t);
        continue;
      }
      const st = s.sendText(t);
      if (st === 0) return; // the socket refused it (closing): keep it queued
      this.#shift(t);
      this.#sent++;
      if (st === -1) return; // queued under back-pressure: wait for drain
    }
  }
}

/**
 * Fans added messages out to watchers.
 *
 * @example
 * ```ts
 * const mirror = new Mirror();
 * state.onAdded = (added) => mirror.publish(added);
 * const w = mirror.attach(ws, { stream: ["inbox.*"] }); // ws: a ServerWebSocket
 * ```
 */
export class Mirror {
  readonly #watchers = new Set<MirrorWatcher>();
  readonly #dirty = new Set<MirrorWatcher>();
  readonly #options: Required<MirrorOptions>;
  readonly #decoder: MsgpackReader;
  #flushScheduled = false;
  /** Messages published to the mirror (with at least one watcher). */
  published = 0;
  /**
   * Called before each message is fanned out (when there are watchers):
   * `listenHttp()` closes here the watchers a keyring reload revoked, so no
   * message added after the reload reaches them.
   */
  beforePublish: (() => void) | undefined;

  constructor(options: MirrorOptions = {}) {
    const maxFrame = options.maxFrame ?? 16 * 1024 * 1024;
    this.#options = {
      maxQueue: options.maxQueue ?? 1000,
      maxQueueBytes: options.maxQueueBytes ?? 8 * 1024 * 1024,
      highWater: options.highWater ?? 256 * 1024,
      maxFrame,
    };
    this.#decoder = makeDecoder({ maxBinLength: maxFrame, maxStrLength: maxFrame, maxArrayLength: 100_000, maxMapLength: 10_000 });
  }

  /** Watchers connected. */
  get size(): number {
    return this.#watchers.size;
  }

  /** Adds a watcher. */
  attach(socket: MirrorSocket, filter: MirrorFilter = {}): MirrorWatcher {
    const w = new MirrorWatcher(socket, filter, this.#options);
    this.#watchers.add(w);
    return w;
  }

  /** Removes a watcher (its queue is dropped). */
  detach(w: MirrorWatcher): void {
    this.#watchers.delete(w);
    this.#dirty.delete(w);
  }

  /**
   * A message was stored. `added.bytes` are the stored bytes (not a view of a
   * reused buffer): the JSON form is decoded from them, once, and only when
   * a watcher's filter matches. Never throws, never blocks.
   */
  publish(added: AddedEntry): void {
    const { stream, msg } = added;
    if (this.#watchers.size === 0) return;
    this.beforePublish?.();
    const expiresAt = msg.expiresAt ?? Infinity;
    if (expiresAt < Date.now()) return;
    let text: string | undefined;
    for (const w of this.#watchers) {
      if (!w.matches(stream, msg)) continue;
      if (text === undefined) {
        try {
          text = this.frame(added);
        } catch {
          return; // cannot happen for a message add validated; never fail the add for the mirror
        }
        this.published++;
      }
      // A watcher that keeps up is sent to at once when half its queue fills, so that a
      // burst between two ticks is not dropped; sending never waits (the socket buffers or refuses).
      if (w.enqueue(text, expiresAt)) w.flush();
      else this.#dirty.add(w);
    }
    if (this.#dirty.size > 0 && !this.#flushScheduled) {
      this.#flushScheduled = true;
      schedule(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    for (const w of this.#dirty) w.flush();
    this.#dirty.clear();
  }

  /**
   * The JSON text frame of one entry: `{stream, entryId, size, message}`,
   * with `original` for a dead letter whose original message decodes, and
   * `backfill: true` for an entry sent from the stream's past.
   */
  frame(entry: { stream: string; entryId: string; bytes: Uint8Array }, o: { backfill?: boolean } = {}): string {
    const { stream, entryId, bytes } = entry;
    const decoded = decodeValue(bytes, this.#decoder) as Record<string, unknown>;
    const message = jsonForm(decoded);
    const out: Record<string, unknown> = { stream, entryId, size: bytes.length, message };
    if (decoded.type === "dead-letter") {
      const inner = (decoded.payload as { message?: unknown } | undefined)?.message;
      if (inner instanceof Uint8Array) {
        try {
          out.original = jsonForm(decodeValue(inner, this.#decoder) as Record<string, unknown>);
        } catch {
          // not a message: the dead letter is shown without it
        }
      }
    }
    if (o.backfill) out.backfill = true;
    return JSON.stringify(out);
  }
}

