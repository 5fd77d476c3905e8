/**
 * The keyring: which agents exist, the keys each proves itself and signs
 * with, what each may do, and the policy of streams. ampd reads it from the
 * JSON file named by `--keyring` (docs/security.md documents the format);
 * `createLocalBus({ keyring })` takes the same.
 *
 * @module
 */
import type { QualityTier, SignatureAlgorithm } from "../envelope/envelope.ts";
import { TIERS } from "../envelope/envelope.ts";
import { AmpbusError, formatPath } from "../errors.ts";
import { fromBase64 } from "../codec/base64.ts";
import { JsonSyntaxError, parseJsonWithLines, pathKey } from "./_json_lines.ts";
import { StreamPattern } from "./subject.ts";

/** One problem of a keyring file: where (path and line) and what. */
export interface KeyringIssue {
  /** The field, such as `["agents", "planner", "keys", 0, "publicKey"]`. */
  path: (string | number)[];
  /** The line of the file it is on (1-based), when parsed from text. */
  line?: number;
  /** What is wrong. */
  message: string;
}

/**
 * A keyring that cannot be used; `issues` lists every problem with its line
 * and field. Code `BAD_KEYRING`. ampd keeps the keyring it had.
 *
 * @example
 * ```ts
 * import { Keyring, KeyringError } from "@ampbus/ampbus";
 *
 * try {
 *   Keyring.parse('{\n  "agents": {\n    "planner": { "keys": [{ "kid": "p1", "alg": "rsa" }] }\n  }\n}');
 *   throw new Error("an unknown algorithm must be refused");
 * } catch (e) {
 *   if (!(e instanceof KeyringError) || e.issues[0].line !== 3) throw e;
 * }
 * ```
 */
export class KeyringError extends AmpbusError {
  /** Every problem found, in file order. */
  readonly issues: KeyringIssue[];
  /** An error listing `issues`. */
  constructor(issues: KeyringIssue[]) {
    const lines = issues.map((i) => `${i.line === undefined ? "" : `line ${i.line}: `}${formatPath(i.path)}: ${i.message}`);
    super("BAD_KEYRING", `bad keyring: ${lines.join("; ")}`);
    this.name = "KeyringError";
    this.issues = issues;
  }
}

/** A key of the keyring: an Ed25519 public key or an HMAC-SHA256 secret, and the agent it belongs to. */
export interface KeyringKey {
  /** Key id: what `auth` and a message's `sig.kid` name. Unique in the keyring. */
  readonly kid: string;
  /** The algorithm the key is for. */
  readonly alg: SignatureAlgorithm;
  /** The agent that holds it. */
  readonly agent: string;
  /** The 32-byte Ed25519 public key, or the HMAC secret. */
  readonly bytes: Uint8Array;
}

/** What an agent's allow and deny patterns decided for one stream. */
export interface RuleDecision {
  /** Whether the access is allowed. */
  allowed: boolean;
  /** The rule that decided, for error messages: `deny "tasks.secret"`, `allow "tasks.*"`, `own inbox`, `no rule matches`. */
  rule: string;
}

/** An agent's patterns for one kind of access. Deny wins over allow. */
export class StreamRules {
  /** Patterns that allow access. */
  readonly allow: readonly StreamPattern[];
  /** Patterns that deny access; they win over `allow` and the defaults. */
  readonly deny: readonly StreamPattern[];
  /** Rules from allow and deny patterns. */
  constructor(allow: StreamPattern[], deny: StreamPattern[]) {
    this.allow = allow;
    this.deny = deny;
  }

  /** Deny patterns first, then the given defaults (own inbox...), then allow patterns. */
  decide(stream: string, defaults: readonly { stream: string; rule: string }[]): RuleDecision {
    for (const p of this.deny) if (p.matches(stream)) return { allowed: false, rule: `deny ${JSON.stringify(p.source)}` };
    for (const d of defaults) if (d.stream === stream) return { allowed: true, rule: d.rule };
    for (const p of this.allow) if (p.matches(stream)) return { allowed: true, rule: `allow ${JSON.stringify(p.source)}` };
    return { allowed: false, rule: this.allow.length === 0 ? "no allow rule" : `no allow rule matches (allowed: ${this.allow.map((p) => p.source).join(", ")})` };
  }

  /** A stable text of the rules, to tell whether a reload changed them. */
  get fingerprint(): string {
    return JSON.stringify([this.allow.map(String), this.deny.map(String)]);
  }
}

/** An agent of the keyring. */
export interface KeyringAgent {
  /** The agent's name: the `sender` of its messages. */
  readonly name: string;
  /** Its keys; any of them proves it and signs for it. */
  readonly keys: readonly KeyringKey[];
  /** Streams it may `add` to. */
  readonly publish: StreamRules;
  /** Streams it may read, subscribe to and consume (consumer groups) from. */
  readonly subscribe: StreamRules;
  /** May use admin operations: `trim`, `dlq.replay`, the live view. */
  readonly admin: boolean;
}

/** What a stream requires of every message added to it. */
export interface StreamRequirements {
  /** A `sig` that verifies with a key of the sender. */
  requireSig?: boolean;
  /** The least tier a message with a spec (or of type `task`) may claim. */
  minTier?: QualityTier;
  /** A `snapSha`. */
  requireSnapSha?: boolean;
  /** A spec whose every statement parses as AISP (ampd's `--spec-syntax PATTERN=reject`). */
  checkSpecSyntax?: boolean;
}

/** A pattern and what streams matching it require. */
export interface StreamPolicyRule extends StreamRequirements {
  /** The streams the rule applies to. */
  readonly pattern: StreamPattern;
}

const NAME = /^[^\s\x00-\x1f\x7f]{1,128}$/;
const AGENT_FIELDS = new Set(["keys", "publish", "subscribe", "admin"]);
const KEY_FIELDS = new Set(["kid", "alg", "publicKey", "secret"]);
const STREAM_FIELDS = new Set(["requireSig", "minTier", "requireSnapSha", "checkSpecSyntax"]);

/**
 * A parsed, checked keyring.
 *
 * @example
 * ```ts
 * import { Keyring, toBase64 } from "@ampbus/ampbus";
 *
 * const ring = Keyring.parse(JSON.stringify({
 *   agents: {
 *     planner: { keys: [{ kid: "planner-1", alg: "hmac-sha256", secret: toBase64(new Uint8Array(32).fill(1)) }], publish: ["inbox.*"] },
 *   },
 *   streams: { "inbox.*": { minTier: "silver" } },
 * }));
 * if (ring.keyOf("planner-1")?.agent !== "planner" || ring.streams[0].minTier !== "silver") throw new Error("wrong keyring");
 * ```
 */
export class Keyring {
  /** The agents, by name. */
  readonly agents: ReadonlyMap<string, KeyringAgent>;
  /** Stream policy rules, in file order. */
  readonly streams: readonly StreamPolicyRule[];
  readonly #keys: Map<string, KeyringKey>;

  private constructor(agents: Map<string, KeyringAgent>, streams: StreamPolicyRule[]) {
    this.agents = agents;
    this.streams = streams;
    this.#keys = new Map();
    for (const a of agents.values()) for (const k of a.keys) this.#keys.set(k.kid, k);
  }

  /** Parses keyring JSON text; throws `KeyringError` listing every problem with its line and field. */
  static parse(text: string): Keyring {
    let parsed;
    try {
      parsed = parseJsonWithLines(text);
    } catch (e) {
      if (!(e instanceof JsonSyntaxError)) throw e;
      throw new KeyringError([{ path: [], line: e.line, message: `not JSON: ${e.message.replace(/^line \d+, /, "")}` }]);
    }
    return Keyring.from(parsed.value, parsed.lines);
  }

  /** Checks a keyring given as a value (the parsed JSON); throws `KeyringError`. */
  static from(value: unknown, lines?: Map<string, number>): Keyring {
    const issues: KeyringIssue[] = [];
    const bad = (path: (string | number)[], message: string) => issues.push({ path, line: lines?.get(pathKey(path)), message });
    const agents = new Map<string, KeyringAgent>();
    const streams: StreamPolicyRule[] = [];
    if (!isMap(value)) {
      bad([], "a keyring is a JSON object with \"agents\" (and optionally \"streams\")");
      throw new KeyringError(issues);
    }
    for (const k of Object.keys(value)) if (k !== "agents" && k !== "streams") bad([k], "is not a keyring field (known: agents, streams)");
    const kids = new Map<string, string>();
    if (!isMap(value.agents)) bad(["agents"], "must be an object of agents by name");
    else {
      for (const [name, a] of Object.entries(value.agents)) {
        const agent = checkAgent(name, a, { bad, kids });
        if (agent !== undefined) agents.set(name, agent);
      }
    }
    if (value.streams !== undefined) {
      if (!isMap(value.streams)) bad(["streams"], "must be an object of stream patterns");
      else for (const [p, r] of Object.entries(value.streams)) checkStreamRule(p, r, { bad, out: streams });
    }
    if (issues.length > 0) throw new KeyringError(issues);
    return new Keyring(agents, streams);
  }

  /** The key with this kid, or undefined. */
  keyOf(kid: string): KeyringKey | undefined {
    return this.#keys.get(kid);
  }

  /** A stable text of an agent's entry, to tell whether a reload changed it; undefined when it is gone. */
  fingerprintOf(agent: string): string | undefined {
    const a = this.agents.get(agent);
    if (a === undefined) return undefined;
    const keys = a.keys.map((k) => [k.kid, k.alg, Array.from(k.bytes).join(",")]);
    return JSON.stringify([keys, a.publish.fingerprint, a.subscribe.fingerprint, a.admin]);
  }
}

type Bad = (path: (string | number)[], message: string) => void;

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkAgent(name: string, a: unknown, ctx: { bad: Bad; kids: Map<string, string> }): KeyringAgent | undefined {
  const { bad, kids } = ctx;
  const at = ["agents", name];
  if (!NAME.test(name)) bad(at, "an agent name is 1 to 128 characters without white space or control characters");
  if (name === "ampd") bad(at, "ampd is the sender of the dead letters ampd writes; give the agent another name");
  if (!isMap(a)) {
    bad(at, "must be an object with keys (and publish, subscribe, admin)");
    return undefined;
  }
  for (const k of Object.keys(a)) if (!AGENT_FIELDS.has(k)) bad([...at, k], `is not an agent field (known: ${[...AGENT_FIELDS].join(", ")})`);
  const keys: KeyringKey[] = [];
  if (!Array.isArray(a.keys) || a.keys.length === 0) bad([...at, "keys"], "must be a list of at least one key");
  else a.keys.forEach((k, i) => {
    const key = checkKey(name, k, { bad, at: [...at, "keys", i] });
    if (key === undefined) return;
    const other = kids.get(key.kid);
    if (other !== undefined) bad([...at, "keys", i, "kid"], `kid ${JSON.stringify(key.kid)} is already a key of ${JSON.stringify(other)} (a kid names one key)`);
    kids.set(key.kid, name);
    keys.push(key);
  });
  if (a.admin !== undefined && typeof a.admin !== "boolean") bad([...at, "admin"], "must be true or false");
  return {
    name,
    keys,
    publish: checkRules(a.publish, { bad, at: [...at, "publish"] }),
    subscribe: checkRules(a.subscribe, { bad, at: [...at, "subscribe"] }),
    admin: a.admin === true,
  };
}

function checkKey(agent: string, k: unknown, ctx: { bad: Bad; at: (string | number)[] }): KeyringKey | undefined {
  const { bad, at } = ctx;
  if (!isMap(k)) {
    bad(at, 'a key is an object: {"kid", "alg": "ed25519", "publicKey"} or {"kid", "alg": "hmac-sha256", "secret"}');
    return undefined;
  }
  for (const f of Object.keys(k)) if (!KEY_FIELDS.has(f)) bad([...at, f], `is not a key field (known: ${[...KEY_FIELDS].join(", ")})`);
  let ok = true;
  if (typeof k.kid !== "string" || !NAME.test(k.kid)) {
    bad([...at, "kid"], "must be 1 to 128 characters without white space");
    ok = false;
  }
  const field = k.alg === "ed25519" ? "publicKey" : "secret";
  if (k.alg !== "ed25519" && k.alg !== "hmac-sha256") {
    bad([...at, "alg"], `must be "ed25519" or "hmac-sha256" (was ${JSON.stringify(k.alg) ?? "missing"})`);
    return undefined;
  }
  const other = field === "publicKey" ? "secret" : "publicKey";
  if (k[other] !== undefined) bad([...at, other], `an ${k.alg} key has ${field}, not ${other}`);
  const text = k[field];
  const bytes = typeof text === "string" ? fromBase64(text) : undefined;
  if (bytes === undefined) {
    bad([...at, field], `must be base64 (${field === "publicKey" ? "the 32-byte Ed25519 public key" : "the HMAC secret, 16 to 1024 bytes"})`);
    return undefined;
  }
  if (field === "publicKey" && bytes.length !== 32) {
    bad([...at, field], `an Ed25519 public key is 32 bytes (this is ${bytes.length})`);
    ok = false;
  }
  if (field === "secret" && (bytes.length < 16 || bytes.length > 1024)) {
    bad([...at, field], `an HMAC secret is 16 to 1024 bytes (this is ${bytes.length})`);
    ok = false;
  }
  return ok ? { kid: k.kid as string, alg: k.alg, agent, bytes } : undefined;
}

function checkRules(v: unknown, ctx: { bad: Bad; at: (string | number)[] }): StreamRules {
  const { bad, at } = ctx;
  const allow: StreamPattern[] = [];
  const deny: StreamPattern[] = [];
  const patterns = (list: unknown, into: StreamPattern[], path: (string | number)[]) => {
    if (!Array.isArray(list)) return bad(path, "must be a list of stream patterns, such as [\"inbox.*\", \"tasks.>\"]");
    list.forEach((p, i) => {
      try {
        into.push(StreamPattern.parse(p as string));
      } catch (e) {
        bad([...path, i], (e as Error).message);
      }
    });
  };
  if (v === undefined) return new StreamRules(allow, deny);
  if (Array.isArray(v)) patterns(v, allow, at);
  else if (isMap(v)) {
    for (const k of Object.keys(v)) if (k !== "allow" && k !== "deny") bad([...at, k], "is not a rule field (known: allow, deny)");
    if (v.allow !== undefined) patterns(v.allow, allow, [...at, "allow"]);
    if (v.deny !== undefined) patterns(v.deny, deny, [...at, "deny"]);
  } else bad(at, 'must be a list of stream patterns, or {"allow": [...], "deny": [...]}');
  return new StreamRules(allow, deny);
}

function checkStreamRule(pattern: string, r: unknown, ctx: { bad: Bad; out: StreamPolicyRule[] }): void {
  const { bad, out } = ctx;
  const at = ["streams", pattern];
  let p: StreamPattern;
  try {
    p = StreamPattern.parse(pattern);
  } catch (e) {
    return bad(at, (e as Error).message);
  }
  if (!isMap(r)) return bad(at, "must be an object such as {\"requireSig\": true, \"minTier\": \"silver\"}");
  for (const k of Object.keys(r)) if (!STREAM_FIELDS.has(k)) bad([...at, k], `is not a stream policy field (known: ${[...STREAM_FIELDS].join(", ")})`);
  const rule: { pattern: StreamPattern } & StreamRequirements = { pattern: p };
  for (const f of ["requireSig", "requireSnapSha", "checkSpecSyntax"] as const) {
    if (r[f] === undefined) continue;
    if (typeof r[f] !== "boolean") bad([...at, f], "must be true or false");
    else rule[f] = r[f];
  }
  if (r.minTier !== undefined) {
    if (typeof r.minTier !== "string" || !(TIERS as readonly string[]).includes(r.minTier)) bad([...at, "minTier"], `must be one of ${TIERS.join(", ")}`);
    else rule.minTier = r.minTier as QualityTier;
  }
  out.push(rule);
}
