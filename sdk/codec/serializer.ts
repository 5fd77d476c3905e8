/**
 * `AISPMessageSerializer`: the AISP plan's serializer API over the codec,
 * JSON and compression modules. A facade: every method forwards to them.
 *
 * @module
 */
import type { AISPMessage, CompressedPayload } from "../envelope/envelope.ts";
import { decode, type DecodeOptions, encode, encodeValid } from "./codec.ts";
import { assertValid } from "../envelope/schema.ts";
import { deserialize, serialize } from "./json.ts";
import {
  compress,
  type CompressOptions,
  decompress,
  type DecompressOptions,
  type SpecAndPayload,
} from "./compress.ts";
import { compressMessage, decompressMessage } from "./compress_message.ts";
import type { ValidationPolicy } from "../envelope/schema.ts";

/**
 * Encodes and decodes messages: MessagePack for the wire, JSON for logs.
 *
 * Every method forwards to the function of the same name (`encode`,
 * `decode`, `compressMessage`, `serialize`...); use whichever reads better.
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

  /** Compresses the message's `spec` and `payload` together. */
  static compress(msg: SpecAndPayload, options?: CompressOptions): Promise<CompressedPayload> {
    return compress(msg, options);
  }

  /** Restores `{spec, payload}`, refusing output over `maxSize` (default 16 MiB). */
  static decompress(packed: CompressedPayload, options?: DecompressOptions): Promise<SpecAndPayload> {
    return decompress(packed, options);
  }
}
