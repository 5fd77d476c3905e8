/**
 * The ampbus message envelope, protocol version 1: one type that carries an
 * AISP task spec and AMP delivery metadata.
 *
 * @module
 */

/**
 * The envelope version this SDK writes and reads: every message's `v`.
 * `decode()` refuses any other with `UNKNOWN_VERSION`.
 *
 * @example
 * ```ts
 * import { createMessage, ENVELOPE_VERSION } from "@ampbus/ampbus";
 *
 * const msg = createMessage({ type: "event", sender: "a", receiver: "b" });
 * if (msg.v !== ENVELOPE_VERSION) throw new Error(`v is ${msg.v}`);
 * ```
 */
export const ENVELOPE_VERSION = 1 as const;

/**
 * The receiver name that addresses every agent.
 *
 * @example
 * ```ts
 * import { BROADCAST, createMessage } from "@ampbus/ampbus";
 *
 * const hello = createMessage({ type: "obs.hello", sender: "planner", receiver: BROADCAST });
 * if (hello.receiver !== "broadcast") throw new Error(hello.receiver);
 * ```
 */
export const BROADCAST = "broadcast" as const;

/**
 * AISP quality tiers, best first. `grade()` maps a score to one of them.
 *
 * @example
 * ```ts
 * import { type QualityTier, TIERS } from "@ampbus/ampbus";
 *
 * const atLeastSilver = (t: QualityTier) => TIERS.indexOf(t) <= TIERS.indexOf("silver");
 * if (!atLeastSilver("gold") || atLeastSilver("bronze")) throw new Error("wrong order");
 * ```
 */
export const TIERS = ["platinum", "gold", "silver", "bronze", "reject"] as const;
/**
 * An AISP quality tier: one of `TIERS`.
 *
 * @example
 * ```ts
 * import type { QualityTier } from "@ampbus/ampbus";
 *
 * const floor: QualityTier = "silver";
 * ```
 */
export type QualityTier = typeof TIERS[number];

/**
 * How a proof was obtained, for `ProofBlock.method`.
 *
 * @example
 * ```ts
 * import { PROOF_METHODS } from "@ampbus/ampbus";
 *
 * if (!PROOF_METHODS.includes("test-execution")) throw new Error("missing method");
 * ```
 */
export const PROOF_METHODS = ["static-analysis", "test-execution", "formal-verification"] as const;
/**
 * How a proof was obtained: one of `PROOF_METHODS`.
 *
 * @example
 * ```ts
 * import type { ProofMethod } from "@ampbus/ampbus";
 *
 * const method: ProofMethod = "formal-verification";
 * ```
 */
export type ProofMethod = typeof PROOF_METHODS[number];

/**
 * Evidence that the postconditions hold. It counts for 20% of the grade:
 * confidence times the method's weight (`METHOD_WEIGHTS`).
 *
 * @example
 * ```ts
 * import type { ProofBlock } from "@ampbus/ampbus";
 *
 * const evidence: ProofBlock = { prover: "jest", method: "test-execution", confidence: 0.95 };
 * ```
 */
export interface ProofBlock {
  /** Who or what produced the evidence, such as `jest` or `lean4` (1 to 128 characters). */
  prover: string;
  /** How the evidence was obtained. */
  method: ProofMethod;
  /** Confidence in [0, 1]. */
  confidence: number;
  /** Free text, such as a test report summary; at most 65 536 characters. */
  details?: string;
}

/**
 * The AISP task spec: what must hold before, what to do, what must hold after.
 *
 * @example
 * ```ts
 * import { grade, type TaskSpec } from "@ampbus/ampbus";
 *
 * const spec: TaskSpec = {
 *   preconditions: ["∀f ∈ CodeFiles: compiled(f) = ⊤"],
 *   task: "validate ≜ λf.runTests(f)",
 *   postconditions: ["∀t ∈ Tests: passed(t) = ⊤"],
 * };
 * if (grade(spec).tier === "reject") throw new Error("a precise spec must not be rejected");
 * ```
 */
export interface TaskSpec {
  /** Conditions that hold before the task runs, in AISP notation; may be empty. */
  preconditions: string[];
  /** The task itself; never empty. */
  task: string;
  /** Conditions that hold once the task is done, in AISP notation; may be empty. */
  postconditions: string[];
  /** Evidence that the postconditions hold, if any. */
  evidence?: ProofBlock;
}

/**
 * Compression algorithms a `CompressedPayload` may use.
 *
 * @example
 * ```ts
 * import { COMPRESSION_ALGORITHMS } from "@ampbus/ampbus";
 *
 * if (COMPRESSION_ALGORITHMS[0] !== "deflate-raw") throw new Error("deflate-raw is the default");
 * ```
 */
export const COMPRESSION_ALGORITHMS = ["deflate-raw", "gzip"] as const;
/**
 * A compression algorithm: one of `COMPRESSION_ALGORITHMS`.
 *
 * @example
 * ```ts
 * import type { CompressionAlgorithm } from "@ampbus/ampbus";
 *
 * const alg: CompressionAlgorithm = "gzip";
 * ```
 */
export type CompressionAlgorithm = typeof COMPRESSION_ALGORITHMS[number];

/**
 * `spec` and `payload` compressed together (a MessagePack map `{spec?, payload?}`, then deflated).
 *
 * @example
 * ```ts
 * import { compress, type CompressedPayload } from "@ampbus/ampbus";
 *
 * const packed: CompressedPayload = await compress({ payload: "a".repeat(2000) });
 * if (packed.alg !== "deflate-raw" || packed.data.length >= packed.size) throw new Error("not compressed");
 * ```
 */
export interface CompressedPayload {
  /** The algorithm that produced `data`. */
  alg: CompressionAlgorithm;
  /** Uncompressed size in bytes. */
  size: number;
  /** The compressed bytes. */
  data: Uint8Array;
}

/**
 * Signature algorithms: Ed25519 for an agent's own key pair, HMAC-SHA256 for a shared secret.
 *
 * @example
 * ```ts
 * import { SIGNATURE_ALGORITHMS } from "@ampbus/ampbus";
 *
 * if (!SIGNATURE_ALGORITHMS.includes("ed25519")) throw new Error("missing ed25519");
 * ```
 */
export const SIGNATURE_ALGORITHMS = ["ed25519", "hmac-sha256"] as const;
/**
 * A signature algorithm: one of `SIGNATURE_ALGORITHMS`.
 *
 * @example
 * ```ts
 * import type { SignatureAlgorithm } from "@ampbus/ampbus";
 *
 * const alg: SignatureAlgorithm = "hmac-sha256";
 * ```
 */
export type SignatureAlgorithm = typeof SIGNATURE_ALGORITHMS[number];

/**
 * A signature over the canonical encoding of the message without `sig`
 * (`signedBytes()`), with `spec` and `payload` uncompressed.
 *
 * @example
 * ```ts
 * import { createMessage, generateHmacKey, type Signature, sign } from "@ampbus/ampbus";
 *
 * const key = await generateHmacKey("team");
 * const signed = await sign(createMessage({ type: "event", sender: "a", receiver: "b" }), key);
 * const sig: Signature = signed.sig!;
 * if (sig.kid !== "team" || sig.value.length !== 32) throw new Error("unexpected signature");
 * ```
 */
export interface Signature {
  /** The algorithm that made `value`. */
  alg: SignatureAlgorithm;
  /** Key id: tells the verifier which key to use. */
  kid: string;
  /** The signature bytes: 64 for Ed25519, 32 for HMAC-SHA256. */
  value: Uint8Array;
}

/**
 * An ampbus message (envelope version 1). Field names are the same on every wire.
 *
 * @example
 * ```ts
 * import { AISPMessageBuilder, type AISPMessage } from "@ampbus/ampbus";
 *
 * const msg: AISPMessage = new AISPMessageBuilder()
 *   .setSender("coder").setReceiver("tester").setTask("validate ≜ λf.runTests(f)").build();
 * if (msg.type !== "task" || msg.opId !== msg.id) throw new Error("unexpected defaults");
 * ```
 */
export interface AISPMessage {
  /** Envelope version: always `ENVELOPE_VERSION` (1). */
  v: 1;
  /** Message id, 1 to 128 characters; the SDK fills in a UUIDv7. */
  id: string;
  /** Idempotency key: the bus stores a given opId once per stream within its dedupe window. */
  opId: string;
  /** What kind of message this is, such as `task` or `obs.tick`; 1 to 64 characters. */
  type: string;
  /** The agent that sent it, 1 to 128 characters. */
  sender: string;
  /** An agent name, or `"broadcast"`. */
  receiver: string;
  /** Creation time, milliseconds since the epoch. */
  timestamp: number;
  /** The AISP task spec; absent while it travels inside `compressed`. */
  spec?: TaskSpec;
  /** Quality tier of `spec`; present whenever `spec` is. */
  tier?: QualityTier;
  /** Any MessagePack value (bytes as `Uint8Array`); absent while it travels inside `compressed`. */
  payload?: unknown;
  /** Codebase snapshot: 7 to 64 lowercase hex digits. */
  snapSha?: string;
  /** Groups the messages of one conversation (1 to 128 characters). */
  conversationId?: string;
  /** Id of the message this one answers. */
  replyTo?: string;
  /** Milliseconds since the epoch after which the bus drops the message. */
  expiresAt?: number;
  /** W3C trace-context `traceparent` header value. */
  traceparent?: string;
  /** `spec` and `payload`, compressed; when present, neither of them is. */
  compressed?: CompressedPayload;
  /** A signature over the rest of the message. */
  sig?: Signature;
}

/**
 * Every envelope field, in canonical (wire) order: the order `encode()` writes them.
 *
 * @example
 * ```ts
 * import { ENVELOPE_FIELDS } from "@ampbus/ampbus";
 *
 * if (ENVELOPE_FIELDS[0] !== "v" || ENVELOPE_FIELDS.at(-1) !== "sig") throw new Error("wrong order");
 * ```
 */
export const ENVELOPE_FIELDS = [
  "v",
  "id",
  "opId",
  "type",
  "sender",
  "receiver",
  "timestamp",
  "spec",
  "tier",
  "payload",
  "snapSha",
  "conversationId",
  "replyTo",
  "expiresAt",
  "traceparent",
  "compressed",
  "sig",
] as const satisfies readonly (keyof AISPMessage)[];
