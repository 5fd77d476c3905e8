/**
 * The MessagePack codec of the envelope: a specialised canonical encoder and a
 * decoder with limits that validates what it returns. The value codec under
 * it (no validation) is `value.ts`.
 *
 * @module
 */
import { ENVELOPE_VERSION, type AISPMessage } from "../envelope/envelope.ts";
import { DecodeError, ValidationError } from "../errors.ts";
import type { MsgpackReader } from "./msgpack_reader.ts";
import { assertValid, validate, type ValidationPolicy } from "../envelope/schema.ts";
import { DEFAULT_DECODE_LIMITS, type DecodeLimits, decodeValue, encodeValid, makeDecoder } from "./value.ts";

export {
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  decodeValue,
  encodeValid,
  encodeValue,
  makeDecoder,
  writeMessage,
  writeSpec,
} from "./value.ts";

/**
 * Encodes a message to its canonical MessagePack bytes after validating it.
 * Throws `ValidationError` listing every problem if it is invalid. The
 * bytes are a view that may share its `ArrayBuffer` with other encodings
 * (never overwritten): to transfer the buffer, transfer `bytes.slice().buffer`.
 *
 * @example
 * ```ts
 * import { createMessage, decode, encode } from "@ampbus/ampbus";
 *
 * const msg = createMessage({ type: "event", sender: "a", receiver: "b", payload: { n: 1 } });
 * const bytes = encode(msg);
 * if (decode(bytes).id !== msg.id) throw new Error("round trip changed the id");
 * ```
 */
export function encode(msg: AISPMessage, policy?: ValidationPolicy): Uint8Array {
  assertValid(msg, policy);
  return encodeValid(msg);
}

/**
 * Options of `decode()`: the decode limits and the validation policy.
 *
 * @example
 * ```ts
 * import { createMessage, decode, type DecodeOptions, encode, ValidationError } from "@ampbus/ampbus";
 *
 * const options: DecodeOptions = { maxBytes: 1024 * 1024, policy: { requireSig: true } };
 * try {
 *   decode(encode(createMessage({ type: "event", sender: "a", receiver: "b" })), options);
 *   throw new Error("an unsigned message must be refused under requireSig");
 * } catch (e) {
 *   if (!(e instanceof ValidationError)) throw e;
 * }
 * ```
 */
export interface DecodeOptions extends DecodeLimits {
  /** What the message must carry beyond the schema. Defaults to no extra requirement. */
  policy?: ValidationPolicy;
}

const decoders = new Map<string, MsgpackReader>();

/**
 * Decodes and validates a message. Throws `DecodeError` (`BAD_BYTES` with the
 * byte `offset`, `TOO_LARGE`, `UNKNOWN_VERSION`) or `ValidationError`
 * (`INVALID_MESSAGE`, with every issue); never returns an invalid message,
 * nor one whose numbers or text differ from what the bytes say.
 *
 * Byte fields of the result (`compressed.data`, `sig.value`, bytes in the
 * payload) are views into `bytes`, not copies: do not overwrite `bytes`
 * while the message is in use.
 *
 * @example
 * ```ts
 * import { createMessage, decode, encode } from "@ampbus/ampbus";
 *
 * const sent = createMessage({ type: "event", sender: "a", receiver: "b", payload: { ok: true } });
 * const msg = decode(encode(sent));
 * if (msg.sender !== "a" || (msg.payload as { ok: boolean }).ok !== true) throw new Error("round trip failed");
 * ```
 */
export function decode(bytes: Uint8Array, options?: DecodeOptions): AISPMessage {
  const maxBytes = options?.maxBytes ?? DEFAULT_DECODE_LIMITS.maxBytes;
  if (!(bytes instanceof Uint8Array)) {
    throw new DecodeError("BAD_BYTES", `decode expects a Uint8Array (was ${typeof bytes})`);
  }
  if (bytes.length > maxBytes) {
    throw new DecodeError("TOO_LARGE", `message is ${bytes.length} bytes, over the limit of ${maxBytes}`);
  }
  let decoder: MsgpackReader | undefined; // undefined: decodeValue's shared decoder
  if (options && (options.maxStrLength || options.maxBinLength || options.maxArrayLength || options.maxMapLength)) {
    const k = `${options.maxStrLength}/${options.maxBinLength}/${options.maxArrayLength}/${options.maxMapLength}`;
    decoder = decoders.get(k) ?? decoders.set(k, makeDecoder(options)).get(k)!;
  }
  const value = decodeValue(bytes, decoder);
  return checkDecoded(value, options?.policy);
}

/**
 * Version check, then full validation, of a value decoded from the wire
 * (by `decodeValue()`, say, from a frame that carries a message): throws
 * `DecodeError` (`UNKNOWN_VERSION`) or `ValidationError`, else returns the
 * value as a message.
 *
 * @example
 * ```ts
 * import { checkDecoded, DecodeError } from "@ampbus/ampbus";
 *
 * try {
 *   checkDecoded({ v: 2, id: "m1" });
 *   throw new Error("version 2 must be refused");
 * } catch (e) {
 *   if (!(e instanceof DecodeError) || e.code !== "UNKNOWN_VERSION") throw e;
 * }
 * ```
 */
export function checkDecoded(value: unknown, policy?: ValidationPolicy): AISPMessage {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const v = (value as { v?: unknown }).v;
    if (v !== ENVELOPE_VERSION) {
      throw new DecodeError(
        "UNKNOWN_VERSION",
        `unknown envelope version ${JSON.stringify(v) ?? "(missing)"}: this decoder reads version ${ENVELOPE_VERSION}`,
      );
    }
  }
  const r = validate(value, policy);
  if (!r.ok) throw new ValidationError(r.issues);
  return r.value;
}
