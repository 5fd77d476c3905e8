/**
 * The MessagePack value codec: the canonical writer of envelopes and values,
 * and the reader with limits, without validation. ampd's hot path and
 * start-up use this module alone; `codec.ts` adds `encode()` and `decode()`,
 * which validate.
 *
 * @module
 */
import type { AISPMessage, TaskSpec } from "../envelope/envelope.ts";
import { DecodeError } from "../errors.ts";
import { MsgpackWriter } from "./msgpack_writer.ts";
import { MsgpackReader, MsgpackReadError } from "./msgpack_reader.ts";

/**
 * Limits applied while decoding; each guards against a hostile or corrupt
 * input and is checked before anything of that size is allocated.
 *
 * @example
 * ```ts
 * import { createMessage, decode, DecodeError, type DecodeLimits, encode } from "@ampbus/ampbus";
 *
 * const limits: DecodeLimits = { maxBytes: 64 };
 * const bytes = encode(createMessage({ type: "event", sender: "a", receiver: "b", payload: "x".repeat(100) }));
 * try {
 *   decode(bytes, limits);
 *   throw new Error("a message over maxBytes must be refused");
 * } catch (e) {
 *   if (!(e instanceof DecodeError) || e.code !== "TOO_LARGE") throw e;
 * }
 * ```
 */
export interface DecodeLimits {
  /** Largest input accepted, in bytes. Defaults to 16 MiB. */
  maxBytes?: number;
  /** Longest string, in UTF-8 bytes. Defaults to 4 MiB. */
  maxStrLength?: number;
  /** Longest byte string. Defaults to 16 MiB. */
  maxBinLength?: number;
  /** Most items in one array. Defaults to 100 000. */
  maxArrayLength?: number;
  /** Most entries in one map. Defaults to 10 000. */
  maxMapLength?: number;
}

/**
 * Default decode limits: 16 MiB of input, 4 MiB strings, 16 MiB byte
 * strings, 100 000 array items, 10 000 map entries.
 *
 * @example
 * ```ts
 * import { DEFAULT_DECODE_LIMITS } from "@ampbus/ampbus";
 *
 * if (DEFAULT_DECODE_LIMITS.maxBytes !== 16 * 1024 * 1024) throw new Error("unexpected default");
 * ```
 */
export const DEFAULT_DECODE_LIMITS: Required<DecodeLimits> = {
  maxBytes: 16 * 1024 * 1024,
  maxStrLength: 4 * 1024 * 1024,
  maxBinLength: 16 * 1024 * 1024,
  maxArrayLength: 100_000,
  maxMapLength: 10_000,
};

// Key bytes of every envelope field, pre-encoded once (all are short ASCII: fixstr).
function key(name: string): Uint8Array {
  const b = new Uint8Array(name.length + 1);
  b[0] = 0xa0 | name.length;
  for (let i = 0; i < name.length; i++) b[i + 1] = name.charCodeAt(i);
  return b;
}
const K = {
  v: key("v"),
  id: key("id"),
  opId: key("opId"),
  type: key("type"),
  sender: key("sender"),
  receiver: key("receiver"),
  timestamp: key("timestamp"),
  spec: key("spec"),
  tier: key("tier"),
  payload: key("payload"),
  snapSha: key("snapSha"),
  conversationId: key("conversationId"),
  replyTo: key("replyTo"),
  expiresAt: key("expiresAt"),
  traceparent: key("traceparent"),
  compressed: key("compressed"),
  sig: key("sig"),
  preconditions: key("preconditions"),
  task: key("task"),
  postconditions: key("postconditions"),
  evidence: key("evidence"),
  prover: key("prover"),
  method: key("method"),
  confidence: key("confidence"),
  details: key("details"),
  alg: key("alg"),
  size: key("size"),
  data: key("data"),
  kid: key("kid"),
  value: key("value"),
};

/** Writes a spec map in canonical order. */
export function writeSpec(w: MsgpackWriter, s: TaskSpec): void {
  const ev = s.evidence;
  w.mapHeader(ev === undefined ? 3 : 4);
  w.raw(K.preconditions);
  w.strArray(s.preconditions);
  w.raw(K.task);
  w.str(s.task);
  w.raw(K.postconditions);
  w.strArray(s.postconditions);
  if (ev !== undefined) {
    w.raw(K.evidence);
    w.mapHeader(ev.details === undefined ? 3 : 4);
    w.raw(K.prover);
    w.str(ev.prover);
    w.raw(K.method);
    w.str(ev.method);
    w.raw(K.confidence);
    w.number(ev.confidence);
    if (ev.details !== undefined) {
      w.raw(K.details);
      w.str(ev.details);
    }
  }
}

/**
 * Writes an envelope in canonical form: fields in the order of the envelope
 * table, absent (undefined) fields left out. `withSig: false` leaves `sig` out,
 * which gives the bytes a signature covers. The message must be valid.
 */
export function writeMessage(w: MsgpackWriter, m: AISPMessage, withSig = true): void {
  const sig = withSig ? m.sig : undefined;
  let n = 7;
  if (m.spec !== undefined) n++;
  if (m.tier !== undefined) n++;
  if (m.payload !== undefined) n++;
  if (m.snapSha !== undefined) n++;
  if (m.conversationId !== undefined) n++;
  if (m.replyTo !== undefined) n++;
  if (m.expiresAt !== undefined) n++;
  if (m.traceparent !== undefined) n++;
  if (m.compressed !== undefined) n++;
  if (sig !== undefined) n++;
  w.mapHeader(n);
  w.raw(K.v);
  w.number(m.v);
  w.raw(K.id);
  w.str(m.id);
  w.raw(K.opId);
  w.str(m.opId);
  w.raw(K.type);
  w.str(m.type);
  w.raw(K.sender);
  w.str(m.sender);
  w.raw(K.receiver);
  w.str(m.receiver);
  w.raw(K.timestamp);
  w.number(m.timestamp);
  if (m.spec !== undefined) {
    w.raw(K.spec);
    writeSpec(w, m.spec);
  }
  if (m.tier !== undefined) {
    w.raw(K.tier);
    w.str(m.tier);
  }
  if (m.payload !== undefined) {
    w.raw(K.payload);
    w.value(m.payload, "payload", 1);
  }
  if (m.snapSha !== undefined) {
    w.raw(K.snapSha);
    w.str(m.snapSha);
  }
  if (m.conversationId !== undefined) {
    w.raw(K.conversationId);
    w.str(m.conversationId);
  }
  if (m.replyTo !== undefined) {
    w.raw(K.replyTo);
    w.str(m.replyTo);
  }
  if (m.expiresAt !== undefined) {
    w.raw(K.expiresAt);
    w.number(m.expiresAt);
  }
  if (m.traceparent !== undefined) {
    w.raw(K.traceparent);
    w.str(m.traceparent);
  }
  const c = m.compressed;
  if (c !== undefined) {
    w.raw(K.compressed);
    w.mapHeader(3);
    w.raw(K.alg);
    w.str(c.alg);
    w.raw(K.size);
    w.number(c.size);
    w.raw(K.data);
    w.bin(c.data);
  }
  if (sig !== undefined) {
    w.raw(K.sig);
    w.mapHeader(3);
    w.raw(K.alg);
    w.str(sig.alg);
    w.raw(K.kid);
    w.str(sig.kid);
    w.raw(K.value);
    w.bin(sig.value);
  }
}

const sharedWriter = new MsgpackWriter();
// True while sharedWriter holds a value being written. A payload getter that encodes during
// encode() (logging its message, say) must not reset that buffer under the outer call: the
// nested call gets a fresh writer, as msgpack-javascript's Encoder.encode does with a clone.
let sharedWriterBusy = false;

/** Runs `write(w, a, b)` on the shared writer, or on a fresh one when re-entered, and returns the bytes. */
function encodeWith<A, B>(write: (w: MsgpackWriter, a: A, b: B) => void, a: A, b: B): Uint8Array {
  if (sharedWriterBusy) {
    const w = new MsgpackWriter(256);
    write(w, a, b);
    return w.finish();
  }
  const w = sharedWriter;
  sharedWriterBusy = true;
  try {
    w.reset();
    write(w, a, b);
    return w.finish();
  } finally {
    sharedWriterBusy = false;
  }
}

function writeValue(w: MsgpackWriter, value: unknown): void {
  w.value(value);
}

/**
 * Encodes a message already known to be valid (skips validation): for a
 * message that `decode()` or `assertValid()` just returned. `withSig: false`
 * leaves `sig` out, which gives the bytes a signature covers. An invalid
 * message may encode to bytes that no decoder accepts.
 *
 * Like every encoding here, the bytes are a view that may share its
 * `ArrayBuffer` with other encodings (never overwritten): to transfer the
 * buffer to a worker, transfer `bytes.slice().buffer`.
 *
 * @example
 * ```ts
 * import { createMessage, encode, encodeValid } from "@ampbus/ampbus";
 *
 * const msg = createMessage({ type: "event", sender: "a", receiver: "b" });
 * if (encodeValid(msg).length !== encode(msg).length) throw new Error("same message, other bytes");
 * ```
 */
export function encodeValid(msg: AISPMessage, withSig = true): Uint8Array {
  return encodeWith(writeMessage, msg, withSig);
}

/**
 * The canonical encoding of any MessagePack value ampbus carries (payloads,
 * frames): plain objects, arrays, strings, numbers, booleans, null and
 * `Uint8Array`. Throws `EncodeError` for anything else. The bytes are a view that
 * may share its `ArrayBuffer` with other encodings (see `encodeValid()`).
 *
 * @example
 * ```ts
 * import { decodeValue, encodeValue } from "@ampbus/ampbus";
 *
 * const bytes = encodeValue([1, "x"]);
 * if (bytes.join() !== "146,1,161,120") throw new Error(`got ${bytes}`);
 * if (JSON.stringify(decodeValue(bytes)) !== '[1,"x"]') throw new Error("round trip failed");
 * ```
 */
export function encodeValue(value: unknown): Uint8Array {
  return encodeWith(writeValue, value, undefined);
}

/**
 * Builds a reusable decoder with the given limits (each defaults to
 * `DEFAULT_DECODE_LIMITS`; nesting is at most 100 deep): a MessagePack reader
 * that refuses extension types, non-string and duplicate map keys,
 * `__proto__`, integers outside ±(2^53 − 1) and strings that are not valid
 * UTF-8, checks every length before allocating, and names the byte offset of
 * a fault. Pass it to `decodeValue()`, which reports faults as `DecodeError`.
 *
 * @example
 * ```ts
 * import { DecodeError, decodeValue, encodeValue, makeDecoder } from "@ampbus/ampbus";
 *
 * const small = makeDecoder({ maxStrLength: 8 });
 * if (decodeValue(encodeValue("short"), small) !== "short") throw new Error("should decode");
 * try {
 *   decodeValue(encodeValue("far too long"), small);
 *   throw new Error("a string over maxStrLength must be refused");
 * } catch (e) {
 *   if (!(e instanceof DecodeError)) throw e;
 * }
 * ```
 */
export function makeDecoder(limits: DecodeLimits = {}): MsgpackReader {
  const l = { ...DEFAULT_DECODE_LIMITS, ...limits };
  return new MsgpackReader({
    maxStrLength: l.maxStrLength,
    maxBinLength: l.maxBinLength,
    maxArrayLength: l.maxArrayLength,
    maxMapLength: l.maxMapLength,
    maxDepth: 100,
  });
}

const sharedDecoder = makeDecoder();

/**
 * Decodes MessagePack bytes into a plain value with the default limits,
 * throwing `DecodeError` (code `BAD_BYTES`, with the byte `offset`) for
 * anything that is not exactly one well-formed MessagePack value, or that
 * holds an integer outside ±(2^53 − 1) or a string that is not valid UTF-8.
 *
 * @example
 * ```ts
 * import { decodeValue } from "@ampbus/ampbus";
 *
 * const value = decodeValue(new Uint8Array([0x92, 0x01, 0xa1, 0x78]));
 * if (JSON.stringify(value) !== '[1,"x"]') throw new Error(JSON.stringify(value));
 * ```
 */
export function decodeValue(bytes: Uint8Array, decoder: MsgpackReader = sharedDecoder): unknown {
  try {
    return decoder.decode(bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    const offset = e instanceof MsgpackReadError ? e.offset : undefined;
    throw new DecodeError("BAD_BYTES", `not a valid MessagePack value: ${why}`, { cause: e, offset });
  }
}

