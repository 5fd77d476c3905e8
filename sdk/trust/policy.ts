/**
 * The trust policy the bus enforces on every request: what an agent may do
 * to which stream, that it speaks only for itself, that a signature is true
 * and made by a key of the sender, that a claimed tier is no better than the
 * graded one, and what each stream requires (signatures, a least tier,
 * `snapSha`). ampd and `createLocalBus()` both run it, so the same request
 * meets the same answer in and out of process. docs/security.md describes it.
 *
 * @module
 */
import type { AISPMessage, QualityTier, TaskSpec } from "../envelope/envelope.ts";
import { TIERS } from "../envelope/envelope.ts";
import { grade } from "../envelope/grade.ts";
import { BusError, ValidationError } from "../errors.ts";
import { specSyntaxIssues } from "../aisp/spec_syntax.ts";
import type { Keyring, KeyringAgent, KeyringKey, RuleDecision, StreamPolicyRule, StreamRequirements } from "./keyring.ts";
import { StreamPattern } from "./subject.ts";

/** What an operation needs of the agent: publish to, read from, or administer a stream. */
export type Access = "publish" | "subscribe" | "admin";

/**
 * The fields of a message that the checks of an `add` read: a whole
 * `AISPMessage`, or what ampd's scan of the bytes yields.
 *
 * @example
 * ```ts
 * import { createMessage, type MessageFacts, TrustPolicy } from "@ampbus/ampbus";
 *
 * const facts: MessageFacts = createMessage({ type: "event", sender: "a", receiver: "b" });
 * const policy = new TrustPolicy();
 * policy.checkSpec("events", { msg: facts, requirements: policy.requirements("events") });
 * ```
 */
export type MessageFacts = Pick<AISPMessage, "id" | "type" | "sender" | "snapSha" | "tier" | "spec" | "sig" | "compressed">;

/**
 * Policy given beside the keyring (ampd's `--require-sig`, `--min-tier`,
 * `--require-snap-sha`, `--spec-syntax`). Each list entry is a stream pattern (`>` for every stream).
 *
 * @example
 * ```ts
 * import type { TrustOptions } from "@ampbus/ampbus";
 *
 * const options: TrustOptions = { requireSig: [">"], minTier: [["inbox.*", "silver"]], requireSnapSha: ["tasks.>"], checkSpecSyntax: ["inbox.*"] };
 * ```
 */
export interface TrustOptions {
  /** The agents, their keys and permissions, and stream rules. Without it, no connection has an identity. */
  keyring?: Keyring;
  /** Streams whose messages must be signed by their sender. Needs a keyring. */
  requireSig?: readonly string[];
  /** Least tier per stream pattern. */
  minTier?: readonly (readonly [pattern: string, tier: QualityTier])[];
  /** Streams whose messages must carry `snapSha`. */
  requireSnapSha?: readonly string[];
  /**
   * Streams on which a spec must parse as AISP: a statement that does not is
   * refused (`INVALID_MESSAGE`, an issue per parse error at its path with line
   * and column), as `validate(msg, { checkSpecSyntax: true })` reports it.
   */
  checkSpecSyntax?: readonly string[];
}

/** Most answers remembered per agent and per stream, before the cache starts over. */
const CACHE_LIMIT = 4096;

const rank = (t: QualityTier) => TIERS.indexOf(t); // 0 is best

/**
 * What an authenticated agent may do, answered per stream and cached. Made
 * from one keyring; a reload makes new grants.
 */
export class AgentGrant {
  /** The agent, as the keyring that made this grant has it. */
  readonly agent: KeyringAgent;
  /** The kid the connection authenticated with. */
  readonly kid: string;
  readonly #defaults: { publish: { stream: string; rule: string }[]; subscribe: { stream: string; rule: string }[] };
  readonly #cache = { publish: new Map<string, RuleDecision>(), subscribe: new Map<string, RuleDecision>() };

  /** The grant of `agent`, authenticated with key `kid`. */
  constructor(agent: KeyringAgent, kid: string) {
    this.agent = agent;
    this.kid = kid;
    const own = [{ stream: `inbox.${agent.name}`, rule: "own inbox" }, { stream: `reply.${agent.name}`, rule: "own reply stream" }];
    this.#defaults = { publish: own, subscribe: [...own, { stream: "broadcast", rule: "broadcast" }] };
  }

  /** The decision for one stream; `admin` is allowed by the agent's `admin` flag alone. */
  decide(access: Access, stream: string): RuleDecision {
    if (access === "admin") return this.agent.admin ? { allowed: true, rule: "admin" } : { allowed: false, rule: "not an admin agent" };
    const cache = this.#cache[access];
    let d = cache.get(stream);
    if (d === undefined) {
      d = this.agent[access].decide(stream, this.#defaults[access]);
      if (stream.endsWith(".dlq") && access === "publish" && !this.agent.admin) {
        d = { allowed: false, rule: "dead-letter streams are written by ampd" };
      }
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(stream, d);
    }
    return d;
  }

  /** True when the agent may see the stream in a listing: it may read or publish to it (an admin sees all). */
  sees(stream: string): boolean {
    return this.agent.admin || this.decide("subscribe", stream).allowed || this.decide("publish", stream).allowed;
  }

  /** Throws `FORBIDDEN` naming the op, the stream and the rule, unless allowed. */
  check(op: string, access: Access, stream: string): void {
    const d = this.decide(access, stream);
    if (d.allowed) return;
    const what = access === "admin" ? `use ${op} (an admin operation)${stream === "" ? "" : ` on ${stream}`}` : `${access} ${access === "publish" ? "to" : "from"} ${stream} (${op})`;
    throw new BusError("FORBIDDEN", `agent ${this.agent.name} may not ${what}: ${d.rule}`, {
      details: { op, stream, agent: this.agent.name, access, rule: d.rule },
    });
  }
}

/** What `TrustPolicy.admit()` found a message needs before it may be stored. */
export interface Admission {
  /** What the stream requires. */
  requirements: StreamRequirements;
  /** The key whose signature must verify over `signedBytes(msg)`, when the message is signed (and a keyring is loaded). */
  key?: KeyringKey;
  /** True when the message is compressed and its spec must be unpacked for `checkSpec()` (and the signature). */
  unpack: boolean;
}

/**
 * The bus's trust policy.
 *
 * @example
 * ```ts
 * import { createMessage, TrustPolicy } from "@ampbus/ampbus";
 *
 * const policy = new TrustPolicy({ minTier: [["inbox.*", "silver"]] });
 * const task = createMessage({ type: "task", sender: "a", receiver: "b" }); // a task with no spec grades reject
 * try {
 *   policy.checkSpec("inbox.b", { msg: task, requirements: policy.requirements("inbox.b") });
 *   throw new Error("should be refused");
 * } catch (e) {
 *   if ((e as { code?: string }).code !== "TIER_TOO_LOW") throw e;
 * }
 * ```
 */
export class TrustPolicy {
  /** The keyring, when connections must authenticate. */
  readonly keyring: Keyring | undefined;
  readonly #rules: StreamPolicyRule[];
  readonly #cache = new Map<string, StreamRequirements>();
  readonly #grades = new Map<string, QualityTier>();

  /** Throws `TypeError` for a bad pattern, or `requireSig` without a keyring. */
  constructor(options: TrustOptions = {}) {
    this.keyring = options.keyring;
    const rules: StreamPolicyRule[] = [];
    for (const p of options.requireSig ?? []) rules.push({ pattern: StreamPattern.parse(p), requireSig: true });
    for (const [p, minTier] of options.minTier ?? []) {
      if (!(TIERS as readonly string[]).includes(minTier)) throw new TypeError(`min tier of ${p} must be one of ${TIERS.join(", ")} (was ${JSON.stringify(minTier)})`);
      rules.push({ pattern: StreamPattern.parse(p), minTier });
    }
    for (const p of options.requireSnapSha ?? []) rules.push({ pattern: StreamPattern.parse(p), requireSnapSha: true });
    for (const p of options.checkSpecSyntax ?? []) rules.push({ pattern: StreamPattern.parse(p), checkSpecSyntax: true });
    rules.push(...(options.keyring?.streams ?? []));
    if (options.keyring === undefined && rules.some((r) => r.requireSig)) {
      throw new TypeError("requiring signatures needs a keyring: the keys to verify them with");
    }
    this.#rules = rules;
  }

  /**
   * The graded tier of a spec, remembered by the spec's content: agents send
   * the same spec with many payloads, and parsing and grading it (tens of µs)
   * costs more than the rest of an add.
   */
  #gradeOf(spec: TaskSpec): QualityTier {
    const ev = spec.evidence;
    const key = JSON.stringify([spec.preconditions, spec.task, spec.postconditions, ev === undefined ? null : [ev.method, String(ev.confidence)]]);
    let tier = this.#grades.get(key);
    if (tier === undefined) {
      tier = grade(spec).tier;
      if (this.#grades.size >= CACHE_LIMIT) this.#grades.clear();
      this.#grades.set(key, tier);
    }
    return tier;
  }

  /** True when connections must authenticate as an agent of the keyring. */
  get authRequired(): boolean {
    return this.keyring !== undefined;
  }

  /** What a stream requires: every matching rule applies (the strictest wins). Cached per stream. */
  requirements(stream: string): StreamRequirements {
    let r = this.#cache.get(stream);
    if (r !== undefined) return r;
    r = {};
    for (const rule of this.#rules) {
      if (!rule.pattern.matches(stream)) continue;
      if (rule.requireSig) r.requireSig = true;
      if (rule.requireSnapSha) r.requireSnapSha = true;
      if (rule.checkSpecSyntax) r.checkSpecSyntax = true;
      if (rule.minTier !== undefined && (r.minTier === undefined || rank(rule.minTier) < rank(r.minTier))) r.minTier = rule.minTier;
    }
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(stream, r);
    return r;
  }

  /**
   * The checks of an `add` that need no crypto and no unpacking: permission
   * to publish, the sender, `snapSha`, and which key must verify the
   * signature. Throws `FORBIDDEN`, `BAD_SIGNATURE` or `INVALID_MESSAGE`.
   * `grant` is the connection's agent (undefined without a keyring).
   */
  admit(grant: AgentGrant | undefined, options: { stream: string; msg: MessageFacts }): Admission {
    const { stream, msg } = options;
    if (grant !== undefined) {
      grant.check("add", "publish", stream);
      if (msg.sender !== grant.agent.name) {
        throw new BusError("FORBIDDEN", `agent ${grant.agent.name} may not send as ${JSON.stringify(msg.sender)}: a message's sender must be the connection's agent`, {
          details: { op: "add", stream, agent: grant.agent.name, sender: msg.sender, rule: "sender is the connection's agent" },
        });
      }
    }
    const requirements = this.requirements(stream);
    if (requirements.requireSnapSha && msg.snapSha === undefined) {
      throw new ValidationError([{ path: ["snapSha"], message: `snapSha is required on stream ${stream}` }]);
    }
    let key: KeyringKey | undefined;
    const sig = msg.sig;
    if (sig === undefined) {
      if (requirements.requireSig) throw badSignature(`stream ${stream} requires signed messages; message ${msg.id} has no sig`, { stream, reason: "UNSIGNED" });
    } else if (this.keyring !== undefined) {
      key = this.keyring.keyOf(sig.kid);
      if (key === undefined) throw badSignature(`no key with kid ${JSON.stringify(sig.kid)} in the keyring`, { stream, kid: sig.kid, reason: "UNKNOWN_KEY" });
      if (key.agent !== msg.sender) {
        throw badSignature(`kid ${JSON.stringify(sig.kid)} is a key of ${key.agent}, but the message's sender is ${msg.sender}`, { stream, kid: sig.kid, reason: "NOT_SENDERS_KEY" });
      }
      if (key.alg !== sig.alg) {
        throw badSignature(`kid ${JSON.stringify(sig.kid)} is an ${key.alg} key, but the signature says ${sig.alg}`, { stream, kid: sig.kid, reason: "KEY_MISMATCH" });
      }
    }
    const unpack = msg.compressed !== undefined &&
      (key !== undefined || msg.tier !== undefined || requirements.minTier !== undefined || requirements.checkSpecSyntax === true);
    return { requirements, key, unpack };
  }

  /**
   * The tier checks of an `add`, on the message with its spec in view (unpacked
   * when it was compressed): a claimed tier better than the graded one is
   * `TIER_MISMATCH` (a tier without a spec grades `reject`); a claim below the
   * stream's least tier is `TIER_TOO_LOW` (a `task` without a spec counts as `reject`).
   * On a stream that checks spec syntax, a statement that does not parse is
   * `INVALID_MESSAGE` first, with every parse error as an issue.
   */
  checkSpec(stream: string, options: { msg: MessageFacts; requirements: StreamRequirements }): void {
    const { msg, requirements } = options;
    const spec: TaskSpec | undefined = msg.spec;
    if (requirements.checkSpecSyntax && spec !== undefined) {
      const issues = specSyntaxIssues(spec);
      if (issues.length > 0) throw new ValidationError(issues);
    }
    let claimed: QualityTier | undefined = msg.tier;
    if (spec !== undefined) {
      if (claimed === undefined) throw new ValidationError([{ path: ["tier"], message: "tier must be present when spec is present" }]);
      const graded = this.#gradeOf(spec);
      if (rank(claimed) < rank(graded)) {
        throw new BusError("TIER_MISMATCH", `message ${msg.id} claims tier ${claimed}, but its spec grades ${graded} (a claim may be lower than the grade, never higher)`, {
          details: { stream, claimed, graded },
        });
      }
    } else if (claimed !== undefined && claimed !== "reject") {
      throw new BusError("TIER_MISMATCH", `message ${msg.id} claims tier ${claimed} but carries no spec, which grades reject`, {
        details: { stream, claimed, graded: "reject" },
      });
    } else if (msg.type === "task") claimed = "reject";
    else claimed = undefined;
    const min = requirements.minTier;
    if (min !== undefined && claimed !== undefined && rank(claimed) > rank(min)) {
      const what = spec === undefined ? "is a task without a spec (tier reject)" : `claims tier ${claimed}`;
      throw new BusError("TIER_TOO_LOW", `message ${msg.id} ${what}; stream ${stream} takes ${min} or better`, {
        details: { stream, tier: claimed, minTier: min },
      });
    }
  }
}

function badSignature(message: string, details: Record<string, unknown>): BusError {
  return new BusError("BAD_SIGNATURE", message, { details });
}

/** The `BAD_SIGNATURE` of a signature that does not verify. */
export function signatureMismatch(msg: AISPMessage, stream: string): BusError {
  return badSignature(`the signature of message ${msg.id} does not verify with key ${JSON.stringify(msg.sig?.kid)} of ${msg.sender} (forged, or the message was changed after signing)`, {
    stream,
    kid: msg.sig?.kid,
    reason: "MISMATCH",
  });
}
