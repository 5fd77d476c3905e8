/**
 * Compression of whole messages: `spec` and `payload` moved into
 * `compressed` when it pays, and back (validated again).
 *
 * @module
 */
import type { AISPMessage } from "../envelope/envelope.ts";
import { assertValid } from "../envelope/schema.ts";
import { compressBytes, type CompressOptions, compressionPays, decompress, DEFAULT_COMPRESS_THRESHOLD, type DecompressOptions, specAndPayload } from "./compress.ts";
import { encodeValue } from "./value.ts";

/**
 * Returns the message with `spec` and `payload` moved into `compressed` when
 * they encode to more than `threshold` bytes and compression makes the
 * message smaller (`compressionPays`); otherwise returns the message
 * unchanged. `threshold` defaults to 1 KiB. A signature stays valid: it
 * covers the uncompressed message.
 *
 * @example
 * ```ts
 * import { compressMessage, createMessage } from "@ampbus/ampbus";
 *
 * const msg = createMessage({ type: "event", sender: "a", receiver: "b", payload: "log line\n".repeat(300) });
 * const small = await compressMessage(msg);
 * if (small.payload !== undefined || small.compressed === undefined) throw new Error("not compressed");
 * ```
 */
export async function compressMessage(msg: AISPMessage, options: CompressOptions = {}): Promise<AISPMessage> {
  if (msg.compressed !== undefined || (msg.spec === undefined && msg.payload === undefined)) return msg;
  const raw = encodeValue(specAndPayload(msg));
  if (raw.length <= (options.threshold ?? DEFAULT_COMPRESS_THRESHOLD)) return msg;
  const alg = options.alg ?? "deflate-raw";
  const data = await compressBytes(raw, options);
  if (!compressionPays(raw.length, data.length)) return msg;
  const { spec: _s, payload: _p, ...rest } = msg;
  return { ...rest, compressed: { alg, size: raw.length, data } };
}

/**
 * Returns the message with `spec` and `payload` restored from `compressed`,
 * or unchanged when not compressed. What comes out is validated like any
 * message (`ValidationError`); `maxSize` defaults to 16 MiB.
 *
 * @example
 * ```ts
 * import { compressMessage, createMessage, decompressMessage } from "@ampbus/ampbus";
 *
 * const msg = createMessage({ type: "event", sender: "a", receiver: "b", payload: "log line\n".repeat(300) });
 * const back = await decompressMessage(await compressMessage(msg));
 * if (back.payload !== msg.payload || back.compressed !== undefined) throw new Error("round trip failed");
 * ```
 */
export async function decompressMessage(msg: AISPMessage, options: DecompressOptions = {}): Promise<AISPMessage> {
  if (msg.compressed === undefined) return msg;
  const body = await decompress(msg.compressed, options);
  const { compressed: _c, ...rest } = msg;
  const out: AISPMessage = { ...rest };
  if (body.spec !== undefined) out.spec = body.spec;
  if (body.payload !== undefined) out.payload = body.payload;
  return assertValid(out); // what was inside `compressed` is held to the same schema
}
