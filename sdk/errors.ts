/**
 * Error classes of ampbus: one class per failure mode, each with a stable
 * machine-readable `code`, a message that names the value that was wrong,
 * and the underlying `cause` passed through.
 *
 * @module
 */

/** One problem found in a message: where it is and what is wrong with it. */
export interface Issue {
  /** Field path, such as `["spec", "evidence", "confidence"]`; empty for the message itself. */
  path: (string | number)[];
  /** A human sentence, such as `spec.task must be a non-empty string (was "")`. */
  message: string;
}

/** Renders an issue path as `spec.preconditions[2]`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const p of path) {
    out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  }
  return out === "" ? "(message)" : out;
}

/**
 * Base class of every error ampbus throws on purpose.
 *
 * @example
 * ```ts
 * try { decode(bytes) } catch (e) { if (e instanceof AmpbusError) console.log(e.code) }
 * ```
 */
export class AmpbusError extends Error {
  /** Stable machine-readable code, such as `INVALID_MESSAGE`. */
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AmpbusError";
    this.code = code;
  }
}

/**
 * A message failed validation. `issues` lists every problem, not just the first.
 *
 * @example
 * ```ts
 * try { builder.build() } catch (e) {
 *   if (e instanceof ValidationError) for (const i of e.issues) console.log(i.message)
 * }
 * ```
 */
export class ValidationError extends AmpbusError {
  readonly issues: Issue[];
  constructor(issues: Issue[], options?: ErrorOptions) {
    const head = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
    super(
      "INVALID_MESSAGE",
      `invalid message (${head}): ${issues.map((i) => i.message).join("; ")}`,
      options,
    );
    this.name = "ValidationError";
    this.issues = issues;
  }
}

/** Options of a `DecodeError`: the usual `cause`, and where in the input the fault is. */
export interface DecodeErrorOptions extends ErrorOptions {
  /** Offset of the byte at fault (MessagePack) or of the character (JSON text). */
  offset?: number;
}

/**
 * Bytes could not be decoded: not MessagePack, truncated, over a limit, an
 * integer outside ±(2^53 − 1), a string that is not UTF-8, or an unknown
 * envelope version. `offset` says where, when one place is at fault.
 *
 * @example
 * ```ts
 * try { decode(bytes) } catch (e) { if (e instanceof DecodeError) console.log(e.code, e.offset) }
 * ```
 */
export class DecodeError extends AmpbusError {
  /** Offset of the byte (or JSON character) at fault; undefined when no one place is. */
  readonly offset?: number;
  constructor(
    code: "BAD_BYTES" | "UNKNOWN_VERSION" | "TOO_LARGE",
    message: string,
    options?: DecodeErrorOptions,
  ) {
    super(code, message, options);
    this.name = "DecodeError";
    if (options?.offset !== undefined) this.offset = options.offset;
  }
}

/** A value cannot be encoded (a function, a symbol, a bigint, a non-plain object...). */
export class EncodeError extends AmpbusError {
  constructor(message: string, options?: ErrorOptions) {
    super("UNENCODABLE", message, options);
    this.name = "EncodeError";
  }
}

/** Compression or decompression failed, or the output would exceed the size limit. */
export class CompressionError extends AmpbusError {
  constructor(
    code: "DECOMPRESSION_LIMIT" | "CORRUPT_COMPRESSED" | "UNSUPPORTED_ALGORITHM",
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.name = "CompressionError";
  }
}

/** Signing or verifying failed: no key for the `kid`, wrong algorithm, bad signature. */
export class SignatureError extends AmpbusError {
  constructor(
    code: "UNKNOWN_KEY" | "BAD_SIGNATURE" | "UNSIGNED" | "KEY_MISMATCH",
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.name = "SignatureError";
  }
}

// Talking to the bus: what the sidecar answered, a closed connection, a timeout.

/**
 * The sidecar refused a request. `code` is the protocol's error code
 * (`INVALID_MESSAGE`, `BAD_ARGUMENT`, `BACKEND_UNAVAILABLE`...; docs/protocol.md).
 * Of the backend codes, `BACKEND_UNAVAILABLE` (Redis unreachable) and
 * `BACKEND_TIMEOUT` (Redis did not answer in time; the add may still be
 * stored) are worth retrying with the same message: its opId is stored once.
 * `BACKEND_OUT_OF_MEMORY` (Redis at maxmemory, nothing stored) and
 * `BACKEND_MISCONFIGURED` (Redis could evict messages; ampd refuses adds)
 * need an operator.
 *
 * @example
 * ```ts
 * try { await bus.streamAdd("tasks", msg) } catch (e) {
 *   if (e instanceof BusError && e.code === "BACKEND_TIMEOUT") retryWithTheSameMessage();
 * }
 * ```
 */
export class BusError extends AmpbusError {
  /** Extra facts the sidecar gave, such as `field`. */
  readonly details?: Record<string, unknown>;
  /** For `INVALID_MESSAGE`: every problem with the message. */
  readonly issues?: Issue[];
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message);
    this.name = "BusError";
    this.details = details;
    if (Array.isArray(details?.issues)) this.issues = details.issues as Issue[];
  }
}

/** The connection to the sidecar closed while a request was waiting, or before it was sent. */
export class ConnectionClosedError extends AmpbusError {
  constructor(message: string, options?: ErrorOptions) {
    super("CONNECTION_CLOSED", message, options);
    this.name = "ConnectionClosedError";
  }
}

/** A request got no answer in time. */
export class TimeoutError extends AmpbusError {
  constructor(message: string) {
    super("TIMEOUT", message);
    this.name = "TimeoutError";
  }
}

// The backend (Redis or memory), as ampd and createLocalBus run it.

/** The backend cannot be reached (Redis down or reconnecting). Retry later. */
export class BackendUnavailableError extends AmpbusError {
  constructor(message: string, options?: ErrorOptions) {
    super("BACKEND_UNAVAILABLE", message, options);
    this.name = "BackendUnavailableError";
  }
}

/**
 * The backend did not answer within its command timeout (Redis stalled or
 * overloaded). The command may still run later: retry with the same opId,
 * which the bus stores once.
 */
export class BackendTimeoutError extends AmpbusError {
  constructor(message: string, options?: ErrorOptions) {
    super("BACKEND_TIMEOUT", message, options);
    this.name = "BackendTimeoutError";
  }
}

/** Redis refused a write because it is at `maxmemory` (policy `noeviction`). Nothing was stored. */
export class BackendOutOfMemoryError extends AmpbusError {
  constructor(message: string, options?: ErrorOptions) {
    super("BACKEND_OUT_OF_MEMORY", message, options);
    this.name = "BackendOutOfMemoryError";
  }
}

/**
 * The backend is configured so that stored messages could be lost (a Redis
 * `maxmemory-policy` other than `noeviction`): ampd refuses adds until it is fixed.
 */
export class BackendMisconfiguredError extends AmpbusError {
  constructor(message: string, options?: ErrorOptions) {
    super("BACKEND_MISCONFIGURED", message, options);
    this.name = "BackendMisconfiguredError";
  }
}

/** An argument a backend cannot accept (a malformed entry id, a negative maxLen...). */
export class BackendArgumentError extends AmpbusError {
  constructor(message: string, options?: ErrorOptions) {
    super("BAD_ARGUMENT", message, options);
    this.name = "BackendArgumentError";
  }
}

/**
 * An add was refused because the message's `expiresAt` is already past:
 * storing it would only store something no reader may deliver. Code `EXPIRED`.
 */
export class MessageExpiredError extends AmpbusError {
  /** The message's `expiresAt` (ms since the epoch). */
  readonly expiresAt: number;
  constructor(expiresAt: number, now: number) {
    super("EXPIRED", `message expired before it was added: expiresAt ${expiresAt} is ${now - expiresAt} ms in the past`);
    this.name = "MessageExpiredError";
    this.expiresAt = expiresAt;
  }
}
