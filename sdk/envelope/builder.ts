/**
 * Building messages: the fluent `AISPMessageBuilder` for task handoffs and
 * `createMessage()` for events without a spec.
 *
 * @module
 */
import {
  type AISPMessage,
  ENVELOPE_VERSION,
  type ProofBlock,
  type QualityTier,
  type TaskSpec,
} from "./envelope.ts";
import { ValidationError } from "../errors.ts";
import { grade } from "./grade.ts";
import { uuidv7 } from "./id.ts";
import { markFrozenValid, validate, type ValidationPolicy, type ValidationResult } from "./schema.ts";

type Draft = { -readonly [K in keyof AISPMessage]?: AISPMessage[K] };

/** The graded tier of a spec, or undefined when the spec is too malformed to grade (validation reports why). */
function tierIfGradable(spec: unknown): QualityTier | undefined {
  const s = spec as TaskSpec;
  if (typeof s.task !== "string" || s.task === "") return undefined;
  const strings = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === "string");
  if (!strings(s.preconditions) || !strings(s.postconditions)) return undefined;
  const ev = s.evidence;
  if (ev !== undefined && (typeof ev !== "object" || ev === null || typeof ev.confidence !== "number")) return undefined;
  return grade(s).tier;
}

/** Freezes the envelope and the parts ampbus owns (spec, evidence, compressed, sig); not the payload. */
function freezeEnvelope(m: AISPMessage): AISPMessage {
  if (m.spec !== undefined) {
    if (m.spec.evidence !== undefined) Object.freeze(m.spec.evidence);
    Object.freeze(m.spec.preconditions);
    Object.freeze(m.spec.postconditions);
    Object.freeze(m.spec);
  }
  if (m.compressed !== undefined) Object.freeze(m.compressed);
  if (m.sig !== undefined) Object.freeze(m.sig);
  Object.freeze(m);
  markFrozenValid(m);
  return m;
}

/**
 * Builds an AISP task message. Every setter returns the builder; `build()`
 * fills in `v`, `id`, `opId`, `timestamp`, `type` (`"task"`) and the graded
 * `tier`, validates, and returns a frozen message or throws a
 * `ValidationError` listing every missing or wrong field at once.
 *
 * @example
 * ```ts
 * import { AISPMessageBuilder } from "@ampbus/ampbus";
 *
 * const msg = new AISPMessageBuilder()
 *   .setSender("coder-agent")
 *   .setReceiver("tester-agent")
 *   .setPreconditions(["∀f ∈ CodeFiles: compiled(f) = ⊤"])
 *   .setTask("validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8")
 *   .setPostconditions(["∀t ∈ Tests: passed(t) = ⊤"])
 *   .setEvidence({ prover: "jest", method: "test-execution", confidence: 0.95 })
 *   .build();
 * if (msg.tier !== "platinum" || !Object.isFrozen(msg)) throw new Error(`tier ${msg.tier}`);
 * ```
 */
export class AISPMessageBuilder {
  #m: Draft = {};
  #spec: Partial<TaskSpec> = {};
  #hasSpec = false;

  #specField<K extends keyof TaskSpec>(k: K, v: TaskSpec[K]): this {
    this.#spec[k] = v;
    this.#hasSpec = true;
    return this;
  }

  /** The sending agent's name (1 to 128 characters). Required. */
  setSender(sender: string): this {
    this.#m.sender = sender;
    return this;
  }
  /** An agent name, or `"broadcast"`. Required. */
  setReceiver(receiver: string): this {
    this.#m.receiver = receiver;
    return this;
  }
  /** What must hold before the task, in AISP notation (copied). Defaults to none. */
  setPreconditions(conditions: string[]): this {
    return this.#specField("preconditions", [...conditions]);
  }
  /** The task itself, such as `validate ≜ λf.runTests(f)`. Required, never empty. */
  setTask(task: string): this {
    return this.#specField("task", task);
  }
  /** What must hold after the task, in AISP notation (copied). Defaults to none. */
  setPostconditions(conditions: string[]): this {
    return this.#specField("postconditions", [...conditions]);
  }
  /** Evidence that the postconditions hold (copied); it counts towards the graded tier. */
  setEvidence(evidence: ProofBlock): this {
    return this.#specField("evidence", { ...evidence });
  }
  /** Defaults to `"task"`. */
  setType(type: string): this {
    this.#m.type = type;
    return this;
  }
  /** Any MessagePack value to carry beside the spec; kept as given, neither copied nor frozen. */
  setPayload(payload: unknown): this {
    this.#m.payload = payload;
    return this;
  }
  /** Overrides the graded tier. */
  setTier(tier: QualityTier): this {
    this.#m.tier = tier;
    return this;
  }
  /** Sets the message id. Defaults to a fresh UUIDv7. */
  setId(id: string): this {
    this.#m.id = id;
    return this;
  }
  /** Idempotency key. Defaults to the message id. */
  setOpId(opId: string): this {
    this.#m.opId = opId;
    return this;
  }
  /** Defaults to `Date.now()` at `build()`. */
  setTimestamp(timestamp: number): this {
    this.#m.timestamp = timestamp;
    return this;
  }
  /** The codebase snapshot the task is about: 7 to 64 lowercase hex digits, such as a git commit. */
  setSnapSha(snapSha: string): this {
    this.#m.snapSha = snapSha;
    return this;
  }
  /** Groups the messages of one conversation (1 to 128 characters). */
  setConversationId(conversationId: string): this {
    this.#m.conversationId = conversationId;
    return this;
  }
  /** The id of the message this one answers. */
  setReplyTo(replyTo: string): this {
    this.#m.replyTo = replyTo;
    return this;
  }
  /** Milliseconds since the epoch after which the bus drops the message. Defaults to never. */
  setExpiresAt(expiresAt: number): this {
    this.#m.expiresAt = expiresAt;
    return this;
  }
  /** A W3C trace-context `traceparent` value, to follow the task across agents. */
  setTraceparent(traceparent: string): this {
    this.#m.traceparent = traceparent;
    return this;
  }

  #draft(): Record<string, unknown> {
    const m: Record<string, unknown> = {
      v: ENVELOPE_VERSION,
      id: this.#m.id ?? uuidv7(),
      type: this.#m.type ?? "task",
      timestamp: this.#m.timestamp ?? Date.now(),
      ...this.#m,
    };
    m.opId ??= m.id;
    if (this.#hasSpec) {
      const s = this.#spec;
      const spec: Record<string, unknown> = {
        preconditions: s.preconditions ?? [],
        task: s.task,
        postconditions: s.postconditions ?? [],
      };
      if (s.evidence !== undefined) spec.evidence = s.evidence;
      m.spec = spec;
      m.tier ??= tierIfGradable(spec);
    }
    for (const k of Object.keys(m)) if (m[k] === undefined) delete m[k];
    return m;
  }

  /** Every missing or wrong field at once, or the message that `build()` would return. */
  validate(policy?: ValidationPolicy): ValidationResult {
    const m = this.#draft();
    const r = validate(m, policy);
    const issues = r.ok ? [] : r.issues;
    if (!this.#hasSpec) {
      issues.push({ path: ["spec", "task"], message: "spec.task must be set (setTask) on a task message" });
    }
    return issues.length > 0 ? { ok: false, issues } : { ok: true, value: m as unknown as AISPMessage };
  }

  /**
   * Returns the message, or throws `ValidationError` with every problem. The
   * envelope, its spec and evidence are frozen; the payload is the caller's
   * own object, neither copied nor frozen.
   */
  build(policy?: ValidationPolicy): AISPMessage {
    const r = this.validate(policy);
    if (!r.ok) throw new ValidationError(r.issues);
    return freezeEnvelope(r.value);
  }
}

/**
 * The fields `createMessage()` takes: the envelope, with `id`, `opId` and
 * `timestamp` optional and `v` filled in.
 *
 * @example
 * ```ts
 * import { createMessage, type MessageFields } from "@ampbus/ampbus";
 *
 * const fields: MessageFields = { type: "obs.tick", sender: "planner", receiver: "broadcast", opId: "tick-1" };
 * if (createMessage(fields).opId !== "tick-1") throw new Error("opId lost");
 * ```
 */
export type MessageFields =
  & Omit<AISPMessage, "v" | "id" | "opId" | "timestamp">
  & Partial<Pick<AISPMessage, "id" | "opId" | "timestamp">>;

/**
 * Creates an AMP-style message (an event, a result, anything without a task
 * spec): fills in `v`, `id`, `opId` and `timestamp`, grades a spec if one is
 * given without a tier, validates, and returns a frozen message.
 *
 * @example
 * ```ts
 * import { createMessage } from "@ampbus/ampbus";
 *
 * const tick = createMessage({ type: "obs.tick", sender: "planner", receiver: "broadcast", payload: { n: 1 } });
 * if (tick.opId !== tick.id || tick.spec !== undefined) throw new Error("unexpected defaults");
 * ```
 */
export function createMessage(fields: MessageFields, policy?: ValidationPolicy): AISPMessage {
  const m: Record<string, unknown> = { v: ENVELOPE_VERSION, ...fields };
  m.id ??= uuidv7();
  m.opId ??= m.id;
  m.timestamp ??= Date.now();
  const spec = fields.spec;
  if (spec !== undefined && typeof spec === "object" && spec !== null) {
    // Copy what will be frozen, so the caller's objects stay theirs.
    const copy = { ...spec } as TaskSpec;
    if (Array.isArray(spec.preconditions)) copy.preconditions = [...spec.preconditions];
    if (Array.isArray(spec.postconditions)) copy.postconditions = [...spec.postconditions];
    if (spec.evidence !== undefined && typeof spec.evidence === "object") copy.evidence = { ...spec.evidence };
    m.spec = copy;
  }
  if (m.spec !== undefined) m.tier ??= tierIfGradable(m.spec);
  for (const k of Object.keys(m)) if (m[k] === undefined) delete m[k];
  const r = validate(m, policy);
  if (!r.ok) throw new ValidationError(r.issues);
  return freezeEnvelope(m as unknown as AISPMessage);
}
