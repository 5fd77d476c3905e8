/**
 * The fast form of the envelope check: plain JavaScript that answers "is this
 * a valid message?" without arktype, for `validate()`'s valid path and for
 * processes that never load arktype (ampd: its import costs ~200 ms and
 * ~34 MB at start-up). It says only yes or no; on no, `validate()` asks the
 * arktype schema (`schema.ts`) for the issues.
 *
 * It follows the arktype schema's rules, including its reading of objects,
 * so that the two agree on every value, hostile ones included; the
 * differential test (`tests/sdk/quick_check.test.ts`, over 100 000 random and
 * mutated messages from `tests/_helpers/envelope_gen.ts`) holds them to it:
 * - a field is present when `key in obj` (own or inherited); a present
 *   optional field must have a valid value (`undefined` is not one, except
 *   for `payload`, which is any value);
 * - unknown fields are the own enumerable string keys outside the schema,
 *   and every own symbol key (enumerable or not);
 * - nested objects are any non-null object or function; lists are
 *   `Array.isArray`; byte fields are `instanceof Uint8Array`;
 * - numbers exclude NaN; lengths count UTF-16 code units, as `.length` does.
 *
 * Internal: mod.ts does not export `isValidMessage`.
 *
 * @module
 */
import { specSyntaxIssues } from "../aisp/spec_syntax.ts";
import type { TaskSpec } from "./envelope.ts";

/**
 * What a deployment requires of every message beyond the schema. Every
 * function that validates (`validate`, `assertValid`, `encode`, `decode`,
 * `build`...) takes one. (Defined here so that this file, which must not
 * import `schema.ts`, and `schema.ts` share one definition.)
 *
 * @example
 * ```ts
 * import { createMessage, validate, type ValidationPolicy } from "@ampbus/ampbus";
 *
 * const strict: ValidationPolicy = { requireSnapSha: true };
 * const msg = createMessage({ type: "event", sender: "a", receiver: "b" });
 * const r = validate(msg, strict);
 * if (r.ok || r.issues[0].path[0] !== "snapSha") throw new Error("snapSha should be required");
 * ```
 */
export interface ValidationPolicy {
  /** Require `snapSha`. Defaults to false. */
  requireSnapSha?: boolean;
  /** Require `sig`. Defaults to false. (Presence only: `verify()` checks the signature.) */
  requireSig?: boolean;
  /**
   * Require every statement of the spec to parse as AISP (`AISPParser`); each
   * parse error is an issue at its statement's path, such as
   * `spec.preconditions[1]`, with its line and column. Defaults to false.
   */
  checkSpecSyntax?: boolean;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const getOwnPropertySymbols = Object.getOwnPropertySymbols;
const hasOwn = Object.hasOwn;

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return (typeof v === "object" && v !== null) || typeof v === "function";
}

/** A string of `min` to `max` UTF-16 code units. */
function isStr(v: unknown, min: number, max: number): boolean {
  return typeof v === "string" && v.length >= min && v.length <= max;
}

/** An integer in [0, 2^53 − 1] (NaN fails every comparison). */
function isEpoch(v: unknown): boolean {
  return typeof v === "number" && v >= 0 && v <= MAX_SAFE && Number.isInteger(v);
}

// Character class tests on a code unit (lowercase hex only).
function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
}

/** /^[0-9a-f]{7,64}$/ */
function isSnapSha(v: unknown): boolean {
  if (typeof v !== "string") return false;
  const n = v.length;
  if (n < 7 || n > 64) return false;
  for (let i = 0; i < n; i++) if (!isHex(v.charCodeAt(i))) return false;
  return true;
}

/** /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/: dashes at 2, 35 and 52 of 55. */
function isTraceparent(v: unknown): boolean {
  if (typeof v !== "string" || v.length !== 55) return false;
  for (let i = 0; i < 55; i++) {
    const c = v.charCodeAt(i);
    if (i === 2 || i === 35 || i === 52 ? c !== 0x2d : !isHex(c)) return false;
  }
  return true;
}

function isStrArray(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== "string") return false;
  return true;
}

/**
 * True when `o` has no own key outside those `known` accepts: no own
 * enumerable string key it does not know, and no own symbol key at all
 * (arktype looks at `Object.keys` and `Object.getOwnPropertySymbols`).
 * `for...in` also walks inherited keys, which do not count.
 */
function onlyKnownKeys(o: Obj, known: (k: string) => boolean): boolean {
  for (const k in o) if (!known(k) && hasOwn(o, k)) return false;
  return getOwnPropertySymbols(o).length === 0;
}

function isEnvelopeKey(k: string): boolean {
  switch (k) {
    case "v":
    case "id":
    case "opId":
    case "type":
    case "sender":
    case "receiver":
    case "timestamp":
    case "spec":
    case "tier":
    case "payload":
    case "snapSha":
    case "conversationId":
    case "replyTo":
    case "expiresAt":
    case "traceparent":
    case "compressed":
    case "sig":
      return true;
  }
  return false;
}

const isSpecKey = (k: string) => k === "preconditions" || k === "task" || k === "postconditions" || k === "evidence";
const isEvidenceKey = (k: string) => k === "prover" || k === "method" || k === "confidence" || k === "details";
const isCompressedKey = (k: string) => k === "alg" || k === "size" || k === "data";
const isSigKey = (k: string) => k === "alg" || k === "kid" || k === "value";

function isEvidence(e: unknown): boolean {
  if (!isObject(e)) return false;
  if (!("prover" in e && isStr(e.prover, 1, 128))) return false;
  if (!("method" in e)) return false;
  const m = e.method;
  if (m !== "static-analysis" && m !== "test-execution" && m !== "formal-verification") return false;
  if (!("confidence" in e)) return false;
  const c = e.confidence;
  if (typeof c !== "number" || !(c >= 0 && c <= 1)) return false;
  if ("details" in e && !isStr(e.details, 0, 65536)) return false;
  return onlyKnownKeys(e, isEvidenceKey);
}

function isSpec(s: unknown): boolean {
  if (!isObject(s)) return false;
  if (!("preconditions" in s && isStrArray(s.preconditions))) return false;
  if (!("task" in s && isStr(s.task, 1, Infinity))) return false;
  if (!("postconditions" in s && isStrArray(s.postconditions))) return false;
  if ("evidence" in s && !isEvidence(s.evidence)) return false;
  return onlyKnownKeys(s, isSpecKey);
}

function isCompressed(c: unknown): boolean {
  if (!isObject(c)) return false;
  if (!("alg" in c)) return false;
  const alg = c.alg;
  if (alg !== "deflate-raw" && alg !== "gzip") return false;
  if (!("size" in c && isEpoch(c.size))) return false;
  if (!("data" in c && c.data instanceof Uint8Array)) return false;
  return onlyKnownKeys(c, isCompressedKey);
}

function isSig(s: unknown): boolean {
  if (!isObject(s)) return false;
  if (!("alg" in s)) return false;
  const alg = s.alg;
  if (alg !== "ed25519" && alg !== "hmac-sha256") return false;
  if (!("kid" in s && isStr(s.kid, 1, 128))) return false;
  if (!("value" in s && s.value instanceof Uint8Array)) return false;
  return onlyKnownKeys(s, isSigKey);
}

function isTier(t: unknown): boolean {
  return t === "platinum" || t === "gold" || t === "silver" || t === "bronze" || t === "reject";
}

function check(m: Obj, policy: ValidationPolicy | undefined): boolean {
  // The schema, field by field in the envelope table's order.
  if (!("v" in m && m.v === 1)) return false;
  if (!("id" in m && isStr(m.id, 1, 128))) return false;
  if (!("opId" in m && isStr(m.opId, 1, 128))) return false;
  if (!("type" in m && isStr(m.type, 1, 64))) return false;
  if (!("sender" in m && isStr(m.sender, 1, 128))) return false;
  if (!("receiver" in m && isStr(m.receiver, 1, 128))) return false;
  if (!("timestamp" in m && isEpoch(m.timestamp))) return false;
  if ("spec" in m && !isSpec(m.spec)) return false;
  if ("tier" in m && !isTier(m.tier)) return false;
  // Any payload is valid, but arktype reads it, so a getter that throws there makes the message invalid.
  if ("payload" in m) void m.payload;
  if ("snapSha" in m && !isSnapSha(m.snapSha)) return false;
  if ("conversationId" in m && !isStr(m.conversationId, 1, 128)) return false;
  if ("replyTo" in m && !isStr(m.replyTo, 1, 128)) return false;
  if ("expiresAt" in m && !isEpoch(m.expiresAt)) return false;
  if ("traceparent" in m && !isTraceparent(m.traceparent)) return false;
  if ("compressed" in m && !isCompressed(m.compressed)) return false;
  if ("sig" in m && !isSig(m.sig)) return false;
  if (!onlyKnownKeys(m, isEnvelopeKey)) return false;
  // The cross-field rules and the policy (schema.ts crossFieldIssues).
  if (m.spec !== undefined && m.tier === undefined) return false;
  if (m.compressed !== undefined && (m.spec !== undefined || m.payload !== undefined)) return false;
  if (policy !== undefined) {
    if (policy.requireSnapSha && m.snapSha === undefined) return false;
    if (policy.requireSig && m.sig === undefined) return false;
    if (policy.checkSpecSyntax && m.spec !== undefined && specSyntaxIssues(m.spec as TaskSpec).length > 0) return false;
  }
  return true;
}

/**
 * True iff `value` is a valid message under `policy`: exactly when
 * `validate(value, policy).ok` is, without arktype. Allocates nothing on
 * the valid path but the (empty) lists of symbol keys it must look at.
 * Never throws: a getter or proxy trap that throws makes the answer false
 * (and `validate()` then reports where it threw).
 *
 * @example
 * ```ts
 * import { isValidMessage } from "./quick_check.ts";
 *
 * const msg = { v: 1, id: "m1", opId: "m1", type: "event", sender: "a", receiver: "b", timestamp: 0 };
 * if (!isValidMessage(msg) || isValidMessage({ ...msg, id: "" })) throw new Error("wrong answer");
 * if (isValidMessage(msg, { requireSig: true })) throw new Error("sig is required by that policy");
 * ```
 */
export function isValidMessage(value: unknown, policy?: ValidationPolicy): boolean {
  if (typeof value !== "object" || value === null) return false;
  try {
    // Inside the try: Array.isArray throws for a revoked proxy.
    return !Array.isArray(value) && check(value as Obj, policy);
  } catch {
    return false;
  }
}
