/**
 * JSON form of messages, for logs and debugging. Byte fields travel as
 * base64: `compressed.data` and `sig.value` as plain base64 strings (their
 * place in the envelope says they are bytes), and bytes inside `payload` as
 * `{"$bin": "<base64>"}`.
 *
 * @module
 */
import type { AISPMessage } from "../envelope/envelope.ts";
import { DecodeError, formatPath, ValidationError } from "../errors.ts";
import { fromBase64, toBase64 } from "./base64.ts";
import { checkDecoded } from "./codec.ts";
import { assertValid, type ValidationPolicy } from "../envelope/schema.ts";

function payloadToJson(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bin: toBase64(v) };
  if (Array.isArray(v)) return v.map(payloadToJson);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[k] = payloadToJson((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

function payloadFromJson(v: unknown, path: (string | number)[]): unknown {
  if (Array.isArray(v)) return v.map((x, i) => payloadFromJson(x, [...path, i]));
  if (typeof v === "object" && v !== null) {
    const keys = Object.keys(v);
    const o = v as Record<string, unknown>;
    if (keys.length === 1 && keys[0] === "$bin" && typeof o.$bin === "string") {
      const b = fromBase64(o.$bin);
      if (b === undefined) {
        const at = [...path, "$bin"];
        throw new ValidationError([{ path: at, message: `${formatPath(at)} is not valid base64` }]);
      }
      return b;
    }
    for (const k of keys) {
      // JSON.parse makes "__proto__" an own key; MessagePack decoding refuses it, so JSON does too.
      if (k === "__proto__") {
        throw new DecodeError("BAD_BYTES", `${formatPath(path)} has the key __proto__, which ampbus refuses`);
      }
      o[k] = payloadFromJson(o[k], [...path, k]);
    }
  }
  return v;
}

/**
 * The message as JSON text (validated first).
 *
 * @example
 * ```ts
 * import { createMessage, serialize } from "@ampbus/ampbus";
 *
 * const msg = createMessage({ type: "event", sender: "a", receiver: "b", payload: new Uint8Array([1, 2]) });
 * const text = serialize(msg);
 * if (!text.includes('"payload":{"$bin":"AQI="}')) throw new Error(text);
 * ```
 */
export function serialize(msg: AISPMessage, policy?: ValidationPolicy): string {
  assertValid(msg, policy);
  return JSON.stringify(jsonForm(msg));
}

/**
 * The JSON form of a message as a plain object (what `serialize()` stringifies),
 * without validating: bytes as base64, bytes in `payload` as `{"$bin": ...}`.
 * Useful for logging a value that may not be a valid message.
 *
 * @example
 * ```ts
 * import { jsonForm } from "@ampbus/ampbus";
 *
 * const form = jsonForm({ type: "half-built", payload: { blob: new Uint8Array([255]) } });
 * if (JSON.stringify(form.payload) !== '{"blob":{"$bin":"/w=="}}') throw new Error(JSON.stringify(form));
 * ```
 */
export function jsonForm(m: AISPMessage | Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...m };
  if (m.payload !== undefined) out.payload = payloadToJson(m.payload);
  const c = m.compressed as { data?: unknown } | undefined;
  if (c?.data instanceof Uint8Array) out.compressed = { ...c, data: toBase64(c.data) };
  const s = m.sig as { value?: unknown } | undefined;
  if (s?.value instanceof Uint8Array) out.sig = { ...s, value: toBase64(s.value) };
  return out;
}

function bytesAt(obj: unknown, at: { field: string; parent: string; issues: { path: string[]; message: string }[] }) {
  const { field, parent, issues } = at;
  if (typeof obj !== "object" || obj === null) return;
  const o = obj as Record<string, unknown>;
  if (typeof o[field] !== "string") return; // the schema reports a wrong type
  const b = fromBase64(o[field] as string);
  if (b === undefined) issues.push({ path: [parent, field], message: `${parent}.${field} must be base64 in JSON` });
  else o[field] = b;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * Offset of the first integer literal in JSON text that a float 64 holds
 * neither exactly nor as its shortest form (what `JSON.stringify` writes
 * for that number), or -1. `JSON.parse` would round such a literal without a
 * word. Literals shorter than 16 digits are always exact, so text without a
 * run of 16 digits is not scanned.
 */
function roundedIntegerAt(text: string): number {
  if (!/\d{16}/.test(text)) return -1;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip it, escapes included.
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
      i++;
    } else if (c === 0x2d || isDigit(c)) {
      const start = i;
      i++;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      const digitsEnd = i;
      let integer = true;
      for (; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d !== 0x2e && d !== 0x65 && d !== 0x45 && d !== 0x2b && d !== 0x2d && !isDigit(d)) break;
        integer = false;
      }
      if (integer && digitsEnd - start >= 16) {
        const literal = text.slice(start, digitsEnd);
        const x = Number(literal);
        if (String(x) !== literal && BigInt(literal) !== BigInt(x)) return start;
      }
    } else i++;
  }
  return -1;
}

/**
 * Parses JSON text produced by `serialize()` (or by hand) into a validated message.
 * Throws `DecodeError` (`BAD_BYTES`) for text that is not JSON or holds an
 * integer a JavaScript number would round (such as 9007199254740993; `offset`
 * is its character), `ValidationError` for an invalid message.
 *
 * @example
 * ```ts
 * import { createMessage, deserialize, serialize } from "@ampbus/ampbus";
 *
 * const original = createMessage({ type: "event", sender: "a", receiver: "b", payload: new Uint8Array([1, 2]) });
 * const msg = deserialize(serialize(original));
 * if (!(msg.payload instanceof Uint8Array) || msg.payload[1] !== 2) throw new Error("bytes lost");
 * ```
 */
export function deserialize(text: string, policy?: ValidationPolicy): AISPMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DecodeError("BAD_BYTES", `not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const rounded = roundedIntegerAt(text);
  if (rounded !== -1) {
    const literal = /^-?\d+/.exec(text.slice(rounded))![0];
    throw new DecodeError(
      "BAD_BYTES",
      `the integer ${literal} at offset ${rounded} cannot be held exactly by a JavaScript number (it would become ${Number(literal)}); ampbus refuses it rather than round it`,
      { offset: rounded },
    );
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const m = value as Record<string, unknown>;
    const issues: { path: string[]; message: string }[] = [];
    bytesAt(m.compressed, { field: "data", parent: "compressed", issues });
    bytesAt(m.sig, { field: "value", parent: "sig", issues });
    if (issues.length > 0) throw new ValidationError(issues);
    if (m.payload !== undefined) m.payload = payloadFromJson(m.payload, ["payload"]);
  }
  return checkDecoded(value, policy);
}
