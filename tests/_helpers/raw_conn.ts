/**
 * A raw connection to ampd for protocol tests: writes bytes exactly as given
 * and decodes every frame ampd sends back with @msgpack/msgpack (not the SDK's
 * decoder), so tests see the wire as another language's client would.
 *
 * @example
 * ```ts
 * const c = await RawConn.open(ampd.socket);
 * c.request({ op: "ping", rid: 1 });
 * const reply = await c.reply(1);
 * ```
 *
 * @module
 */
import { decode } from "@msgpack/msgpack";
import { connect, type Socket } from "node:net";
import { encodeValue } from "../../sdk/codec/codec.ts";
import { frame } from "../../sdk/transport/frame.ts";

/** A decoded frame from ampd. */
export type Frame = Record<string, unknown>;

/** An error reply's `error` map. */
export interface ErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Encodes a request map as one frame (length prefix + MessagePack). */
export function requestFrame(req: Record<string, unknown>): Uint8Array {
  return frame(encodeValue(req));
}

/** One Unix-socket connection, with every frame received kept in order. */
export class RawConn {
  readonly frames: Frame[] = [];
  #socket: Socket;
  #buf: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  #waiters = new Set<() => void>();
  #closed = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (d: Buffer) => this.#onData(d));
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.#closed = true;
        this.#notify();
        resolve();
      })
    );
  }

  /** Connects to the socket at `path`. */
  static open(path: string): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ path });
      s.once("connect", () => {
        s.off("error", reject);
        resolve(new RawConn(s));
      });
      s.once("error", reject);
    });
  }

  /** Connects and says hello (version 1); fails unless ampd answers ok. */
  static async hello(path: string, extra: Record<string, unknown> = {}): Promise<RawConn> {
    const c = await RawConn.open(path);
    c.request({ op: "hello", rid: 0, version: 1, client: "raw-test", ...extra });
    const r = await c.reply(0);
    if (r.ok !== true) throw new Error(`hello failed: ${JSON.stringify(r)}`);
    return c;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    let pos = 0;
    while (this.#buf.length - pos >= 4) {
      const len = this.#buf.readUInt32BE(pos);
      if (this.#buf.length - pos - 4 < len) break;
      this.frames.push(decode(this.#buf.subarray(pos + 4, pos + 4 + len)) as Frame);
      pos += 4 + len;
    }
    this.#buf = this.#buf.subarray(pos);
    this.#notify();
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** Writes raw bytes. */
  write(bytes: Uint8Array): void {
    this.#socket.write(bytes);
  }

  /** Writes one request frame. */
  request(req: Record<string, unknown>): void {
    this.write(requestFrame(req));
  }

  /** Waits for the first frame (received so far or later) matching `pred`. */
  waitFor(pred: (f: Frame) => boolean, what = "a frame", timeoutMs = 5000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const f = this.frames.find(pred);
        if (f !== undefined) {
          finish();
          resolve(f);
        } else if (this.#closed) {
          finish();
          reject(new Error(`connection closed while waiting for ${what}; got ${JSON.stringify(this.frames)}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Waits for the reply with this `rid`. */
  reply(rid: number | null, timeoutMs = 5000): Promise<Frame> {
    return this.waitFor((f) => "rid" in f && f.rid === rid, `reply rid=${rid}`, timeoutMs);
  }

  /** Sends a request and waits for its reply. */
  async call(req: Record<string, unknown> & { rid: number }, timeoutMs = 5000): Promise<Frame> {
    this.request(req);
    return await this.reply(req.rid, timeoutMs);
  }

  /** Waits until the peer has closed the connection (or fails after `timeoutMs`). */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes from this side. */
  close(): void {
    this.#socket.destroy();
  }
}

/** The `error` map of a failed reply; throws when the reply succeeded. */
export function errorOf(f: Frame): ErrorBody {
  if (f.ok !== false) throw new Error(`expected an error reply, got ${JSON.stringify(f)}`);
  return f.error as ErrorBody;
}
