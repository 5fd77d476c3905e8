/**
 * Framing of the sidecar protocol: each frame is a 4-byte big-endian length,
 * then that many bytes of one MessagePack map.
 *
 * @module
 */
import { FrameError } from "../errors.ts";

export { FrameError };

/**
 * Largest frame accepted by default: 16 MiB.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_FRAME, FrameDecoder } from "@ampbus/ampbus";
 *
 * if (new FrameDecoder().maxFrame !== DEFAULT_MAX_FRAME) throw new Error("unexpected default");
 * ```
 */
export const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;

/**
 * Splits a byte stream into frames. The declared length is checked against
 * the limit before any buffer of that size is allocated.
 *
 * @example
 * ```ts
 * import { encodeValue, frame, FrameDecoder } from "@ampbus/ampbus";
 *
 * const wire = frame(encodeValue({ op: "ping" }));
 * const frames = new FrameDecoder();
 * if (frames.push(wire.subarray(0, 3)).length !== 0) throw new Error("3 bytes hold no frame");
 * const [f] = frames.push(wire.subarray(3)); // the rest completes it
 * if (f.length !== wire.length - 4 || frames.pending !== 0) throw new Error("wrong frame");
 * ```
 */
export class FrameDecoder {
  /** Largest frame length accepted, in bytes; a longer declared length throws `FrameError`. */
  readonly maxFrame: number;
  #buf: Uint8Array = new Uint8Array(0);
  #len = 0;

  /** `maxFrame` defaults to 16 MiB. */
  constructor(maxFrame: number = DEFAULT_MAX_FRAME) {
    this.maxFrame = maxFrame;
  }

  /** Bytes held that do not yet make a whole frame. */
  get pending(): number {
    return this.#len;
  }

  /** Bytes of memory reserved for the frame being received (at least `pending`). */
  get held(): number {
    return this.#buf.length;
  }

  /**
   * Adds a chunk and returns the whole frames it completes (without their
   * length prefix). Returned frames may be views into `chunk`: use them
   * before the next `push()` or copy them. Throws `FrameError` on a bad
   * length; its `complete` holds the whole frames that came before it, which
   * a server still answers before it closes.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    let data = chunk;
    if (this.#len > 0) {
      // Slow path: a frame was split across chunks; join what is held with the new bytes.
      this.#append(chunk);
      data = this.#buf.subarray(0, this.#len);
      this.#buf = EMPTY; // frames returned below stay views into the old buffer
      this.#len = 0;
    }
    const out: Uint8Array[] = [];
    const n = data.length;
    let pos = 0;
    while (n - pos >= 4) {
      const size = ((data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]) >>> 0;
      const bad = this.#check(size);
      if (bad !== undefined) throw new FrameError(bad, out);
      if (n - pos - 4 < size) break;
      out.push(data.subarray(pos + 4, pos + 4 + size));
      pos += 4 + size;
    }
    if (pos < n) this.#append(data.subarray(pos));
    return out;
  }

  #check(size: number): string | undefined {
    if (size === 0) return "frame length is 0: a frame holds one MessagePack map";
    if (size > this.maxFrame) return `frame length ${size} is over the limit of ${this.maxFrame} bytes`;
    return undefined;
  }

  #append(bytes: Uint8Array): void {
    const need = this.#len + bytes.length;
    if (need > this.#buf.length) {
      let cap = Math.max(256, this.#buf.length * 2, need);
      if (this.#len >= 4) {
        // Never reserve more than the declared frame (already checked against maxFrame) needs.
        const b = this.#buf;
        const total = (((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0) + 4;
        cap = Math.max(need, Math.min(cap, total));
      }
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
    this.#buf.set(bytes, this.#len);
    this.#len = need;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Prefixes a MessagePack payload with its 4-byte big-endian length: one
 * frame of the sidecar protocol.
 *
 * @example
 * ```ts
 * import { frame } from "@ampbus/ampbus";
 *
 * const f = frame(new Uint8Array([0x80])); // an empty map
 * if (f.join() !== "0,0,0,1,128") throw new Error(`got ${f}`);
 * ```
 */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 4);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}
