/**
 * JSON form of messages, for logs and debugging. Byte fields travel as
 * base64: `compressed.data` and `sig.value` as plain base64 strings (their
 * place in the envelope says they are bytes), and bytes inside `payload` as
 * `{"$bin": "<base64>"}`.
 *
 * @module
 */
import type { AISPMessage } from "./envelope.ts";
import { DecodeError, formatPath, ValidationError } from "./errors.ts";
import { fromBase64, toBase64 } from "./_base64.ts";
import { checkDecoded } from "./codec.ts";
import { assertValid, type ValidationPolicy } from "./schema.ts";

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
 * console.log(serialize(msg));
 * ```
 */
export function serialize(msg: AISPMessage, policy?: ValidationPolicy): string {
  assertValid(msg, policy);
  return JSON.stringify(jsonForm(msg));
}

/**
 * The JSON form of a message as a plain object (what `serialize()` stringifies),
 * without validating: bytes as base64, bytes in `payload` as `{"$bin": ...}`.
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

function bytesAt(obj: unknown, field: string, parent: string, issues: { path: string[]; message: string }[]) {
  if (typeof obj !== "object" || obj === null) return;
  const o = obj as Record<string, unknown>;
  if (typeof o[field] !== "string") return; // the schema reports a wrong type
  const b = fromBase64(o[field] as string);
  if (b === undefined) issues.push({ path: [parent, field], message: `${parent}.${field} must be base64 in JSON` });
  else o[field] = b;
}

/**
 * Parses JSON text produced by `serialize()` (or by hand) into a validated message.
 * Throws `DecodeError` for text that is not JSON, `ValidationError` for an invalid message.
 */
export function deserialize(text: string, policy?: ValidationPolicy): AISPMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DecodeError("BAD_BYTES", `not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const m = value as Record<string, unknown>;
    const issues: { path: string[]; message: string }[] = [];
    bytesAt(m.compressed, "data", "compressed", issues);
    bytesAt(m.sig, "value", "sig", issues);
    if (issues.length > 0) throw new ValidationError(issues);
    if (m.payload !== undefined) m.payload = payloadFromJson(m.payload, ["payload"]);
  }
  return checkDecoded(value, policy);
}
