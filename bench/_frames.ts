/**
 * The sidecar protocol spoken raw, for measuring ampd without the SDK in the
 * way: requests built once into one buffer of frames (a 4-byte big-endian
 * length, then one MessagePack map; docs/protocol.md), and `FrameConn`, a
 * client that writes such buffers and only counts the reply frames.
 *
 * @module
 */
import { connect as netConnect, type Socket } from "node:net";
import { MsgpackWriter } from "../sdk/codec/msgpack_writer.ts";
import { CLIENT_PROTOCOL_VERSION } from "../sdk/client/socket_port.ts";

/** Requests as one buffer of frames; frame i is `buf[off[i], off[i + 1])`. */
export interface Frames {
  buf: Uint8Array;
  off: Uint32Array;
  count: number;
}

/**
 * One `add` request per message, to `stream`, with request ids 1, 2, 3, ...
 *
 * @example
 * ```ts
 * const frames = addFrames("bench.frames", msgs.bytes);
 * await conn.publish(frames, 1000);
 * ```
 */
export function addFrames(stream: string, msgs: readonly Uint8Array[]): Frames {
  const w = new MsgpackWriter(msgs.length * (msgs[0].length + 64));
  const off = new Uint32Array(msgs.length + 1);
  for (let i = 0; i < msgs.length; i++) {
    off[i] = w.length;
    const start = w.beginFrame();
    w.mapHeader(4);
    w.str("op");
    w.str("add");
    w.str("rid");
    w.number((1 + i) >>> 0);
    w.str("stream");
    w.str(stream);
    w.str("msg");
    w.bin(msgs[i]);
    w.endFrame(start);
  }
  off[msgs.length] = w.length;
  return { buf: w.finish(), off, count: msgs.length };
}

/** The `hello` request (rid 0) that opens a session, at the SDK's protocol version. */
export function helloFrame(name: string): Uint8Array {
  const w = new MsgpackWriter(64);
  const start = w.beginFrame();
  w.mapHeader(4);
  w.str("op");
  w.str("hello");
  w.str("rid");
  w.number(0);
  w.str("version");
  w.number(CLIENT_PROTOCOL_VERSION);
  w.str("client");
  w.str(name);
  w.endFrame(start);
  return w.finish();
}

/**
 * Counts whole frames in a byte stream by their length prefixes alone (a
 * reply is never decoded): what the bench clients use to count replies.
 *
 * @example
 * ```ts
 * const counter = new FrameCounter();
 * sock.on("data", (chunk: Buffer) => (replies += counter.push(chunk)));
 * ```
 */
export class FrameCounter {
  #hdr = 0;
  #hdrN = 0;
  #skip = 0;

  /** Takes the next bytes; returns how many frames they completed. */
  push(chunk: Uint8Array): number {
    let i = 0;
    let done = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#skip > 0) {
        const k = Math.min(this.#skip, n - i);
        this.#skip -= k;
        i += k;
        if (this.#skip === 0) done++;
        continue;
      }
      this.#hdr = this.#hdr * 256 + chunk[i++];
      if (++this.#hdrN === 4) {
        this.#skip = this.#hdr;
        this.#hdr = 0;
        this.#hdrN = 0;
      }
    }
    return done;
  }
}

/**
 * A minimal protocol client: writes pre-built frames, counts reply frames
 * (it reads only their length prefixes, never decodes them).
 *
 * @example
 * ```ts
 * const conn = await FrameConn.open(ampd.socket);
 * await conn.publish(addFrames("s", msgs.bytes), 1000);
 * conn.close();
 * ```
 */
export class FrameConn {
  #sock: Socket;
  #counter = new FrameCounter();
  /** Called with the number of frames completed in one chunk. */
  onFrames: (n: number) => void = () => {};

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.on("data", (chunk: Buffer) => this.#onData(chunk));
  }

  /** Connects and says hello; resolves once the hello reply is in. */
  static open(path: string, name = "bench-frames"): Promise<FrameConn> {
    return new Promise((resolve, reject) => {
      const sock = netConnect(path);
      sock.once("error", reject);
      sock.once("connect", () => {
        const c = new FrameConn(sock);
        c.onFrames = () => {
          c.onFrames = () => {};
          sock.off("error", reject);
          resolve(c);
        };
        sock.write(helloFrame(name));
      });
    });
  }

  #onData(chunk: Buffer): void {
    const done = this.#counter.push(chunk);
    if (done > 0) this.onFrames(done);
  }

  write(bytes: Uint8Array): void {
    this.#sock.write(bytes);
  }

  /**
   * Sends `f` with at most `inflight` requests unanswered; resolves with the
   * number of replies once every sent request is answered. With `until` (a
   * `performance.now()` time) it sends nothing after it, so it may stop short
   * of `f.count`.
   */
  publish(f: Frames, inflight: number, until = Infinity): Promise<number> {
    return new Promise((resolve) => {
      let sent = 0;
      let done = 0;
      let last = f.count;
      const pump = () => {
        if (last === f.count && until !== Infinity && performance.now() >= until) last = sent;
        const upto = Math.min(last, done + inflight);
        if (upto > sent) {
          this.write(f.buf.subarray(f.off[sent], f.off[upto]));
          sent = upto;
        }
      };
      this.onFrames = (k) => {
        done += k;
        pump();
        if (done >= last) resolve(done);
      };
      pump();
    });
  }

  close(): void {
    this.#sock.destroy();
  }
}
