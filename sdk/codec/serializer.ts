/**
 * `AISPMessageSerializer`: the AISP plan's serializer API over the codec,
 * JSON and compression modules. A facade: every method is made of theirs.
 *
 * `compress(message)` and `decompress(payload)` are the seed's: the whole
 * message in, a `CompressedPayload` out, and back, so that
 * `decompress(compress(m))` is `m`. (The envelope's own transparent
 * compression, which packs only `spec` and `payload` into the message's
 * `compressed` field, is `encodeCompressed()` / `compressMessage()`.)
 *
 * @module
 */
import type { AISPMessage, CompressedPayload } from "../envelope/envelope.ts";
import { decode, type DecodeOptions, encode, encodeValid } from "./codec.ts";
import { assertValid } from "../envelope/schema.ts";
import { deserialize, serialize } from "./json.ts";
import { compressBytes, type CompressOptions, DEFAULT_MAX_DECOMPRESSED, decompressBytes, type DecompressOptions } from "./compress.ts";
import { CompressionError } from "../errors.ts";
import { compressMessage, decompressMessage } from "./compress_message.ts";
import type { ValidationPolicy } from "../envelope/schema.ts";

/**
 * Encodes and decodes messages: MessagePack for the wire, JSON for logs.
 *
 * `encode`, `decode`, `serialize` and `deserialize` forward to the
 * functions of the same name, `encodeCompressed` and `decodeExpanded` to
 * `compressMessage` and `decompressMessage` with the codec; use whichever
 * reads better. `compress` and `decompress` are the seed's: the whole
 * message in one `CompressedPayload`.
 *
 * @example
 * ```ts
 * import { AISPMessageSerializer, createMessage } from "@ampbus/ampbus";
 *
 * const msg = createMessage({ type: "event", sender: "a", receiver: "b", payload: "log line\n".repeat(300) });
 * const small = await AISPMessageSerializer.encodeCompressed(msg); // compresses past 1 KiB
 * if (small.length >= AISPMessageSerializer.encode(msg).length) throw new Error("not smaller");
 * const full = await AISPMessageSerializer.decodeExpanded(small);
 * if (full.payload !== msg.payload) throw new Error("round trip failed");
 * ```
 */
export class AISPMessageSerializer {
  private constructor() {}

  /** Validates, then returns the canonical MessagePack bytes. */
  static encode(msg: AISPMessage, policy?: ValidationPolicy): Uint8Array {
    return encode(msg, policy);
  }

  /** Decodes and validates; throws `DecodeError` or `ValidationError`. Compressed content stays compressed. */
  static decode(bytes: Uint8Array, options?: DecodeOptions): AISPMessage {
    return decode(bytes, options);
  }

  /**
   * `encode()` with transparent compression: `spec` and `payload` go into
   * `compressed` when they exceed `threshold` (default 1 KiB) and compressing
   * makes the message smaller; never bigger than `encode()`.
   */
  static async encodeCompressed(msg: AISPMessage, options?: CompressOptions & { policy?: ValidationPolicy }): Promise<Uint8Array> {
    assertValid(msg, options?.policy);
    return encodeValid(await compressMessage(msg, options));
  }

  /** `decode()`, then restores `spec` and `payload` from `compressed` if present. */
  static async decodeExpanded(bytes: Uint8Array, options?: DecodeOptions & DecompressOptions): Promise<AISPMessage> {
    return await decompressMessage(decode(bytes, options), options);
  }

  /** JSON text of the message (bytes as base64), for logs and debugging. */
  static serialize(msg: AISPMessage, policy?: ValidationPolicy): string {
    return serialize(msg, policy);
  }

  /** Parses and validates JSON text from `serialize()`. */
  static deserialize(text: string, policy?: ValidationPolicy): AISPMessage {
    return deserialize(text, policy);
  }

  /**
   * The seed's `compress(message)`: validates the whole message, and returns
   * its canonical MessagePack bytes compressed (`alg` defaults to
   * `deflate-raw`), with `size` the length of those bytes. Asynchronous,
   * where the seed's is not, because `CompressionStream` is.
   *
   * @example
   * ```ts
   * import { AISPMessageSerializer, createMessage } from "@ampbus/ampbus";
   *
   * const m = createMessage({ type: "log", sender: "a", receiver: "b", payload: "line\n".repeat(500) });
   * const packed = await AISPMessageSerializer.compress(m);
   * if (packed.data.length >= packed.size) throw new Error("not smaller");
   * const back = await AISPMessageSerializer.decompress(packed);
   * const same = Object.keys(m).length === Object.keys(back).length &&
   *   Object.entries(m).every(([k, v]) => JSON.stringify(v) === JSON.stringify(back[k as keyof typeof back]));
   * if (!same) throw new Error("decompress(compress(m)) is not m");
   * ```
   */
  static async compress(message: AISPMessage, options?: CompressOptions & { policy?: ValidationPolicy }): Promise<CompressedPayload> {
    const bytes = encode(message, options?.policy);
    const alg = options?.alg ?? "deflate-raw";
    return { alg, size: bytes.length, data: await compressBytes(bytes, { ...options, alg }) };
  }

  /**
   * The seed's `decompress(payload)`: the message `compress()` packed,
   * decoded and validated. Refuses output over `maxSize` (default 16 MiB) or
   * other than the `size` it declares (`CompressionError`); a payload that is
   * not a whole message (such as a message's own `compressed` field, which
   * holds only `spec` and `payload`) is a `DecodeError` (`UNKNOWN_VERSION`: it has no `v`).
   */
  static async decompress(payload: CompressedPayload, options?: DecompressOptions & DecodeOptions): Promise<AISPMessage> {
    const limit = options?.maxSize ?? DEFAULT_MAX_DECOMPRESSED;
    if (!(payload.size <= limit)) {
      throw new CompressionError("DECOMPRESSION_LIMIT", `compressed.size ${payload.size} is over the limit of ${limit} bytes; refused`);
    }
    const raw = await decompressBytes(payload.data, { alg: payload.alg, maxSize: payload.size });
    if (raw.length !== payload.size) {
      throw new CompressionError("CORRUPT_COMPRESSED", `compressed data inflates to ${raw.length} bytes, but its size says ${payload.size}`);
    }
    return decode(raw, options);
  }
}
