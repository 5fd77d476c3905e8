/**
 * The ampbus message envelope, protocol version 1: one type that carries an
 * AISP task spec and AMP delivery metadata.
 *
 * @module
 */

/** The envelope version this SDK writes and reads. */
export const ENVELOPE_VERSION = 1 as const;

/** The receiver name that addresses every agent. */
export const BROADCAST = "broadcast" as const;

/** AISP quality tiers, best first. */
export const TIERS = ["platinum", "gold", "silver", "bronze", "reject"] as const;
/** An AISP quality tier. */
export type QualityTier = typeof TIERS[number];

/** How a proof was obtained. */
export const PROOF_METHODS = ["static-analysis", "test-execution", "formal-verification"] as const;
/** How a proof was obtained. */
export type ProofMethod = typeof PROOF_METHODS[number];

/** Evidence that the postconditions hold. */
export interface ProofBlock {
  /** Who or what produced the evidence, such as `jest` or `lean4`. */
  prover: string;
  method: ProofMethod;
  /** Confidence in [0, 1]. */
  confidence: number;
  details?: string;
}

/** The AISP task spec: what must hold before, what to do, what must hold after. */
export interface TaskSpec {
  preconditions: string[];
  /** The task itself; never empty. */
  task: string;
  postconditions: string[];
  evidence?: ProofBlock;
}

/** Compression algorithms a `CompressedPayload` may use. */
export const COMPRESSION_ALGORITHMS = ["deflate-raw", "gzip"] as const;
/** A compression algorithm. */
export type CompressionAlgorithm = typeof COMPRESSION_ALGORITHMS[number];

/** `spec` and `payload` compressed together (a MessagePack map `{spec?, payload?}`, then deflated). */
export interface CompressedPayload {
  alg: CompressionAlgorithm;
  /** Uncompressed size in bytes. */
  size: number;
  data: Uint8Array;
}

/** Signature algorithms. */
export const SIGNATURE_ALGORITHMS = ["ed25519", "hmac-sha256"] as const;
/** A signature algorithm. */
export type SignatureAlgorithm = typeof SIGNATURE_ALGORITHMS[number];

/** A signature over the canonical encoding of the message without `sig`. */
export interface Signature {
  alg: SignatureAlgorithm;
  /** Key id: tells the verifier which key to use. */
  kid: string;
  value: Uint8Array;
}

/**
 * An ampbus message (envelope version 1). Field names are the same on every wire.
 *
 * @example
 * ```ts
 * const msg: AISPMessage = new AISPMessageBuilder()
 *   .setSender("coder").setReceiver("tester").setTask("validate ≜ λf.runTests(f)").build();
 * ```
 */
export interface AISPMessage {
  v: 1;
  id: string;
  /** Idempotency key: the bus stores a given opId once per stream within its dedupe window. */
  opId: string;
  type: string;
  sender: string;
  /** An agent name, or `"broadcast"`. */
  receiver: string;
  /** Creation time, milliseconds since the epoch. */
  timestamp: number;
  spec?: TaskSpec;
  tier?: QualityTier;
  payload?: unknown;
  /** Codebase snapshot: 7 to 64 lowercase hex digits. */
  snapSha?: string;
  conversationId?: string;
  /** Id of the message this one answers. */
  replyTo?: string;
  /** Milliseconds since the epoch after which the bus drops the message. */
  expiresAt?: number;
  /** W3C trace-context `traceparent` header value. */
  traceparent?: string;
  compressed?: CompressedPayload;
  sig?: Signature;
}

/** Every envelope field, in canonical (wire) order. */
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
