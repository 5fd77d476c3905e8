/**
 * The arktype schema of the envelope and `validate()`, which reports every
 * problem with its field path.
 *
 * The schema has two faster forms, each held to this one's verdict by a
 * differential test over ~100k random and mutated messages: `quick_check.ts`
 * (on values; `validate()` asks it first) and `../codec/scan.ts` (on bytes;
 * ampd's `add`). A change to the schema is made in all three.
 *
 * @module
 */
import { type, type Type } from "arktype";
import type { AISPMessage, ProofBlock, TaskSpec } from "./envelope.ts";
import { formatPath, type Issue, ValidationError } from "../errors.ts";
import { isValidMessage, type ValidationPolicy } from "./quick_check.ts";
import { specSyntaxIssues } from "../aisp/spec_syntax.ts";

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

const name128 = type("1 <= string <= 128");
const epochMs = type(`0 <= number.integer <= ${MAX_SAFE}`);
const bytes = type.instanceOf(Uint8Array);

/**
 * AISP evidence: who proved what, how, and how sure. Internal to
 * `validate()`: mod.ts does not list the schemas, so that arktype's types
 * stay out of the public API.
 */
export const proofBlockSchema: Type<ProofBlock> = type({
  "+": "reject",
  prover: "1 <= string <= 128",
  method: "'static-analysis' | 'test-execution' | 'formal-verification'",
  confidence: "0 <= number <= 1",
  "details?": "string <= 65536",
});

/** AISP task spec (internal to `validate()`, like `proofBlockSchema`). */
export const taskSpecSchema: Type<TaskSpec> = type({
  "+": "reject",
  preconditions: "string[]",
  task: "string > 0",
  postconditions: "string[]",
  "evidence?": proofBlockSchema,
});

/**
 * The arktype schema of an envelope (version 1). Unknown fields are rejected.
 * Internal to `validate()`, which adds the cross-field rules and the policy.
 */
export const messageSchema: Type<AISPMessage> = type({
  "+": "reject",
  v: "1",
  id: name128,
  opId: name128,
  type: "1 <= string <= 64",
  sender: name128,
  receiver: name128,
  timestamp: epochMs,
  "spec?": taskSpecSchema,
  "tier?": "'platinum' | 'gold' | 'silver' | 'bronze' | 'reject'",
  "payload?": "unknown",
  "snapSha?": type(/^[0-9a-f]{7,64}$/).describe("7 to 64 lowercase hex digits"),
  "conversationId?": name128,
  "replyTo?": name128,
  "expiresAt?": epochMs,
  "traceparent?": type(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/).describe(
    "a W3C traceparent (version-traceid-parentid-flags in lowercase hex)",
  ),
  "compressed?": {
    "+": "reject",
    alg: "'deflate-raw' | 'gzip'",
    size: `0 <= number.integer <= ${MAX_SAFE}`,
    data: bytes,
  },
  "sig?": {
    "+": "reject",
    alg: "'ed25519' | 'hmac-sha256'",
    kid: name128,
    value: bytes,
  },
});

export type { ValidationPolicy };

/**
 * The outcome of `validate()`: the message, or every issue found.
 *
 * @example
 * ```ts
 * import { validate, type ValidationResult } from "@ampbus/ampbus";
 *
 * const r: ValidationResult = validate("not a message");
 * if (r.ok) throw new Error("a string is not a message");
 * if (r.issues[0].message !== "message must be an object (was string)") throw new Error(r.issues[0].message);
 * ```
 */
export type ValidationResult<T = AISPMessage> =
  | { ok: true; value: T }
  | { ok: false; issues: Issue[] };

function issueOf(path: readonly PropertyKey[], what: { code: string; message: string }): Issue {
  const { code, message } = what;
  const p = path.map((k) => (typeof k === "symbol" ? String(k) : k)) as (string | number)[];
  // arktype says "x must be removed" for undeclared keys; say why.
  if (code === "predicate" && message.endsWith("must be removed")) {
    return { path: p, message: `${formatPath(p)} is not a known field (unknown fields are rejected)` };
  }
  return { path: p, message };
}

function crossFieldIssues(m: Record<string, unknown>, policy: ValidationPolicy | undefined, out: Issue[]) {
  if (m.spec !== undefined && m.tier === undefined) {
    out.push({ path: ["tier"], message: "tier must be present when spec is present" });
  }
  if (m.compressed !== undefined) {
    for (const f of ["spec", "payload"] as const) {
      if (m[f] !== undefined) {
        out.push({ path: [f], message: `${f} must be absent when compressed is present (it travels inside compressed)` });
      }
    }
  }
  if (policy?.requireSnapSha && m.snapSha === undefined) {
    out.push({ path: ["snapSha"], message: "snapSha is required by policy" });
  }
  if (policy?.requireSig && m.sig === undefined) {
    out.push({ path: ["sig"], message: "sig is required by policy" });
  }
  if (policy?.checkSpecSyntax && isStatements(m.spec)) out.push(...specSyntaxIssues(m.spec));
}

/** True when `spec` has the statements' shape (the schema names what else is wrong). */
function isStatements(spec: unknown): spec is TaskSpec {
  if (typeof spec !== "object" || spec === null) return false;
  const s = spec as Record<string, unknown>;
  const strings = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === "string");
  return typeof s.task === "string" && strings(s.preconditions) && strings(s.postconditions);
}

/**
 * Checks a value against the envelope schema and an optional policy.
 * Returns every problem found, each with its field path. (A valid message
 * is recognised by `quick_check.ts` without arktype; the schema here
 * runs for the others, to name their issues.) Never throws: a
 * getter or proxy that throws while being read is reported as an issue at
 * the path where it threw.
 *
 * @example
 * ```ts
 * import { validate } from "@ampbus/ampbus";
 *
 * const r = validate(JSON.parse('{"v":1,"id":"m1","opId":"m1","type":"event","sender":"a","receiver":"b","timestamp":0}'));
 * if (!r.ok) throw new Error(r.issues.map((i) => i.message).join("; "));
 * if (r.value.sender !== "a") throw new Error("wrong sender");
 * ```
 */
export function validate(msg: unknown, policy?: ValidationPolicy): ValidationResult {
  // The plain-JS check answers for valid messages; arktype runs only to name the issues.
  if (isValidMessage(msg, policy)) return { ok: true, value: msg as AISPMessage };
  return validateWithSchema(msg, policy);
}

/**
 * `validate()` by the arktype schema alone, without the fast path: what
 * names the issues, and what the differential test holds `isValidMessage()`
 * to. Internal (mod.ts does not list it).
 */
export function validateWithSchema(msg: unknown, policy?: ValidationPolicy): ValidationResult {
  try {
    return check(msg, policy);
  } catch (e) {
    return { ok: false, issues: [readFault(msg, e)] };
  }
}

function check(msg: unknown, policy: ValidationPolicy | undefined): ValidationResult {
  if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
    const got = msg === null ? "null" : Array.isArray(msg) ? "an array" : typeof msg;
    return { ok: false, issues: [{ path: [], message: `message must be an object (was ${got})` }] };
  }
  const out = messageSchema(msg);
  const issues: Issue[] = [];
  if (out instanceof type.errors) {
    for (const e of out) issues.push(issueOf(e.path, e));
  }
  crossFieldIssues(msg as Record<string, unknown>, policy, issues);
  return issues.length === 0 ? { ok: true, value: msg as AISPMessage } : { ok: false, issues };
}

function describeThrown(e: unknown): string {
  try {
    return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  } catch {
    return "a value that cannot be printed";
  }
}

/**
 * The issue for a value whose reading threw (a getter, a proxy trap): walks it
 * again, each step guarded, to name the path that throws. Only on this error
 * path, so valid messages pay nothing for it.
 */
function readFault(msg: unknown, thrown: unknown): Issue {
  return findFault(msg, [], new Set()) ?? faultIssue([], thrown);
}

function findFault(v: unknown, path: (string | number)[], seen: Set<object>): Issue | undefined {
  let keys: string[];
  let isArray: boolean;
  try {
    if (typeof v !== "object" || v === null || v instanceof Uint8Array || seen.has(v) || path.length >= 100) return undefined;
    seen.add(v);
    isArray = Array.isArray(v);
    if (isArray) void (v as unknown[]).length; // a proxy's get trap may throw here, before any index
    keys = Object.keys(v);
  } catch (e) {
    return faultIssue(path, e);
  }
  for (const k of keys) {
    const at = [...path, isArray ? Number(k) : k];
    let item: unknown;
    try {
      item = (v as Record<string, unknown>)[k];
    } catch (e) {
      return faultIssue(at, e);
    }
    const inner = findFault(item, at, seen);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

function faultIssue(path: (string | number)[], e: unknown): Issue {
  const where = path.length === 0 ? "the message" : formatPath(path);
  return { path, message: `reading ${where} threw (${describeThrown(e)}); a message must be plain data` };
}

// Messages the builder or createMessage() validated and froze: they cannot
// have changed since (the envelope, spec, evidence, compressed and sig are
// frozen; the payload is any value by the schema), so encoding skips the check.
const frozenValid = new WeakSet<object>();

/** Records a frozen message as valid (the builder and createMessage() call this). */
export function markFrozenValid(msg: AISPMessage): void {
  if (Object.isFrozen(msg)) frozenValid.add(msg);
}

/**
 * Like `validate()`, but returns the message or throws a `ValidationError`
 * that lists every problem. A message that `build()` or `createMessage()`
 * returned (frozen, so unchanged since) is not checked again when no policy
 * is given.
 *
 * @example
 * ```ts
 * import { assertValid, ValidationError } from "@ampbus/ampbus";
 *
 * try {
 *   assertValid({ v: 1, id: "" });
 *   throw new Error("an empty id must be refused");
 * } catch (e) {
 *   if (!(e instanceof ValidationError) || !e.issues.some((i) => i.path[0] === "id")) throw e;
 * }
 * ```
 */
export function assertValid(msg: unknown, policy?: ValidationPolicy): AISPMessage {
  if (policy === undefined && typeof msg === "object" && msg !== null && frozenValid.has(msg)) return msg as AISPMessage;
  const r = validate(msg, policy);
  if (!r.ok) throw new ValidationError(r.issues);
  return r.value;
}
