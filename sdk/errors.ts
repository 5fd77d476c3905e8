/**
 * Error classes of ampbus: one class per failure mode, each with a stable
 * machine-readable `code`, a message that names the value that was wrong,
 * and the underlying `cause` passed through.
 *
 * @module
 */

/**
 * One problem found in a message: where it is and what is wrong with it.
 * `validate()` and `ValidationError.issues` list every one, not just the first.
 *
 * @example
 * ```ts
 * import { validate } from "@ampbus/ampbus";
 *
 * const r = validate({ v: 1, id: "m1" });
 * if (r.ok) throw new Error("a message without sender must be invalid");
 * const paths = r.issues.map((i) => i.path.join("."));
 * if (!paths.includes("sender")) throw new Error(`no issue for sender in ${paths}`);
 * ```
 */
export interface Issue {
  /** Field path, such as `["spec", "evidence", "confidence"]`; empty for the message itself. */
  path: (string | number)[];
  /** A human sentence, such as `spec.task must be a non-empty string (was "")`. */
  message: string;
}

/**
 * Renders an issue path as `spec.preconditions[2]`; the empty path (the
 * message itself) as `(message)`.
 *
 * @example
 * ```ts
 * import { formatPath } from "@ampbus/ampbus";
 *
 * if (formatPath(["spec", "preconditions", 2]) !== "spec.preconditions[2]") throw new Error("wrong path");
 * if (formatPath([]) !== "(message)") throw new Error("wrong empty path");
 * ```
 */
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
 * import { AmpbusError, decode } from "@ampbus/ampbus";
 *
 * try {
 *   decode(new Uint8Array([0xc1]));
 *   throw new Error("0xc1 is never valid MessagePack");
 * } catch (e) {
 *   if (!(e instanceof AmpbusError) || e.code !== "BAD_BYTES") throw e;
 * }
 * ```
 */
export class AmpbusError extends Error {
  /** Stable machine-readable code, such as `INVALID_MESSAGE`; the wire protocol uses the same codes. */
  readonly code: string;
  /** An error with its stable `code`; `options.cause` is passed through. */
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
 * import { AISPMessageBuilder, ValidationError } from "@ampbus/ampbus";
 *
 * try {
 *   new AISPMessageBuilder().setTask("validate ≜ λf.runTests(f)").build();
 *   throw new Error("a message without sender and receiver must not build");
 * } catch (e) {
 *   if (!(e instanceof ValidationError)) throw e;
 *   if (e.code !== "INVALID_MESSAGE" || e.issues.length < 2) throw new Error(e.message);
 * }
 * ```
 */
export class ValidationError extends AmpbusError {
  /** Every problem found, each with its field path. */
  readonly issues: Issue[];
  /** Code `INVALID_MESSAGE`; the message joins every issue's sentence. */
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

/**
 * Options of a `DecodeError`: the usual `cause`, and where in the input the fault is.
 *
 * @example
 * ```ts
 * import { DecodeError, type DecodeErrorOptions } from "@ampbus/ampbus";
 *
 * const options: DecodeErrorOptions = { offset: 3 };
 * if (new DecodeError("BAD_BYTES", "truncated", options).offset !== 3) throw new Error("offset lost");
 * ```
 */
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
 * import { DecodeError, decode } from "@ampbus/ampbus";
 *
 * try {
 *   decode(new Uint8Array([0x81, 0xa1])); // a map whose first key is cut short
 *   throw new Error("truncated bytes must not decode");
 * } catch (e) {
 *   if (!(e instanceof DecodeError) || e.code !== "BAD_BYTES") throw e;
 * }
 * ```
 */
export class DecodeError extends AmpbusError {
  /** Offset of the byte (or JSON character) at fault; undefined when no one place is. */
  readonly offset?: number;
  /** `code` says which kind of fault; `options.offset` where it is. */
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

/**
 * A value cannot be encoded (a function, a symbol, a bigint, a non-plain
 * object...). Code `UNENCODABLE`.
 *
 * @example
 * ```ts
 * import { EncodeError, encodeValue } from "@ampbus/ampbus";
 *
 * try {
 *   encodeValue({ when: 1n });
 *   throw new Error("a bigint must not encode");
 * } catch (e) {
 *   if (!(e instanceof EncodeError) || e.code !== "UNENCODABLE") throw e;
 * }
 * ```
 */
export class EncodeError extends AmpbusError {
  /** Code `UNENCODABLE`; the message names the value and where it is. */
  constructor(message: string, options?: ErrorOptions) {
    super("UNENCODABLE", message, options);
    this.name = "EncodeError";
  }
}

/**
 * Compression or decompression failed (`CORRUPT_COMPRESSED`), the output would
 * exceed the size limit (`DECOMPRESSION_LIMIT`), or the algorithm is not one
 * ampbus knows (`UNSUPPORTED_ALGORITHM`).
 *
 * @example
 * ```ts
 * import { CompressionError, decompressBytes } from "@ampbus/ampbus";
 *
 * try {
 *   await decompressBytes(new Uint8Array([0xff, 0xff, 0xff]));
 *   throw new Error("garbage must not inflate");
 * } catch (e) {
 *   if (!(e instanceof CompressionError) || e.code !== "CORRUPT_COMPRESSED") throw e;
 * }
 * ```
 */
export class CompressionError extends AmpbusError {
  /** `code` says which of the three faults it is. */
  constructor(
    code: "DECOMPRESSION_LIMIT" | "CORRUPT_COMPRESSED" | "UNSUPPORTED_ALGORITHM",
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.name = "CompressionError";
  }
}

/**
 * Signing or verifying failed: no signature (`UNSIGNED`), no key for the
 * `kid` (`UNKNOWN_KEY`), a key of the wrong algorithm or kind
 * (`KEY_MISMATCH`), or a signature that does not match (`BAD_SIGNATURE`).
 *
 * @example
 * ```ts
 * import { assertSigned, createMessage, SignatureError } from "@ampbus/ampbus";
 *
 * const msg = createMessage({ type: "event", sender: "a", receiver: "b" });
 * try {
 *   await assertSigned(msg, []);
 *   throw new Error("an unsigned message must not pass");
 * } catch (e) {
 *   if (!(e instanceof SignatureError) || e.code !== "UNSIGNED") throw e;
 * }
 * ```
 */
export class SignatureError extends AmpbusError {
  /** `code` says why the signature does not hold. */
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
 * import { BusError } from "@ampbus/ampbus";
 *
 * const retryable = (e: unknown) =>
 *   e instanceof BusError && (e.code === "BACKEND_UNAVAILABLE" || e.code === "BACKEND_TIMEOUT");
 * if (!retryable(new BusError("BACKEND_TIMEOUT", "redis did not answer in 5000 ms"))) throw new Error("should retry");
 * if (retryable(new BusError("INVALID_MESSAGE", "invalid message"))) throw new Error("should not retry");
 * ```
 */
export class BusError extends AmpbusError {
  /** Extra facts the sidecar gave, such as `field`. */
  readonly details?: Record<string, unknown>;
  /** For `INVALID_MESSAGE`: every problem with the message. */
  readonly issues?: Issue[];
  /** The sidecar's error `code`, `message` and `options.details`; `issues` is taken from `details.issues`. */
  constructor(code: string, message: string, options?: ErrorOptions & { details?: Record<string, unknown> }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BusError";
    const details = options?.details;
    this.details = details;
    if (Array.isArray(details?.issues)) this.issues = details.issues as Issue[];
  }
}

/**
 * The connection to the sidecar closed while a request was waiting, or
 * before it was sent. Code `CONNECTION_CLOSED`. Whether the request took
 * effect is unknown: an add retried with the same message is stored once.
 *
 * @example
 * ```ts
 * import { AmpbusError, ConnectionClosedError } from "@ampbus/ampbus";
 *
 * const e = new ConnectionClosedError("socket closed", { cause: new Error("EPIPE") });
 * if (!(e instanceof AmpbusError) || e.code !== "CONNECTION_CLOSED") throw new Error("wrong class");
 * ```
 */
export class ConnectionClosedError extends AmpbusError {
  /** Code `CONNECTION_CLOSED`; `options.cause` is what closed it, if known. */
  constructor(message: string, options?: ErrorOptions) {
    super("CONNECTION_CLOSED", message, options);
    this.name = "ConnectionClosedError";
  }
}

/**
 * A request got no answer in time. Code `TIMEOUT`.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@ampbus/ampbus";
 *
 * const e = new TimeoutError("no reply to request 7 within 30000 ms");
 * if (e.code !== "TIMEOUT" || e.name !== "TimeoutError") throw new Error("wrong code");
 * ```
 */
export class TimeoutError extends AmpbusError {
  /** Code `TIMEOUT`; the message says which request and how long it waited. */
  constructor(message: string) {
    super("TIMEOUT", message);
    this.name = "TimeoutError";
  }
}

// The backend (Redis or memory), as ampd and createLocalBus run it.

/**
 * The backend cannot be reached (Redis down or reconnecting). Retry later.
 * Code `BACKEND_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * import { BackendUnavailableError } from "@ampbus/ampbus";
 *
 * const e = new BackendUnavailableError("redis at 127.0.0.1:6379 is reconnecting");
 * if (e.code !== "BACKEND_UNAVAILABLE") throw new Error("wrong code");
 * ```
 */
export class BackendUnavailableError extends AmpbusError {
  /** Code `BACKEND_UNAVAILABLE`; `options.cause` is the client's error. */
  constructor(message: string, options?: ErrorOptions) {
    super("BACKEND_UNAVAILABLE", message, options);
    this.name = "BackendUnavailableError";
  }
}

/**
 * The backend did not answer within its command timeout (Redis stalled or
 * overloaded). The command may still run later: retry with the same opId,
 * which the bus stores once. Code `BACKEND_TIMEOUT`.
 *
 * @example
 * ```ts
 * import { BackendTimeoutError } from "@ampbus/ampbus";
 *
 * const e = new BackendTimeoutError("XADD tasks got no answer in 5000 ms");
 * if (e.code !== "BACKEND_TIMEOUT") throw new Error("wrong code");
 * ```
 */
export class BackendTimeoutError extends AmpbusError {
  /** Code `BACKEND_TIMEOUT`; `options.cause` is the client's error. */
  constructor(message: string, options?: ErrorOptions) {
    super("BACKEND_TIMEOUT", message, options);
    this.name = "BackendTimeoutError";
  }
}

/**
 * Redis refused a write because it is at `maxmemory` (policy `noeviction`).
 * Nothing was stored. Code `BACKEND_OUT_OF_MEMORY`.
 *
 * @example
 * ```ts
 * import { BackendOutOfMemoryError } from "@ampbus/ampbus";
 *
 * const e = new BackendOutOfMemoryError("OOM command not allowed when used memory > 'maxmemory'");
 * if (e.code !== "BACKEND_OUT_OF_MEMORY") throw new Error("wrong code");
 * ```
 */
export class BackendOutOfMemoryError extends AmpbusError {
  /** Code `BACKEND_OUT_OF_MEMORY`; `options.cause` is Redis's error. */
  constructor(message: string, options?: ErrorOptions) {
    super("BACKEND_OUT_OF_MEMORY", message, options);
    this.name = "BackendOutOfMemoryError";
  }
}

/**
 * The backend is configured so that stored messages could be lost (a Redis
 * `maxmemory-policy` other than `noeviction`): ampd refuses adds until it is
 * fixed. Code `BACKEND_MISCONFIGURED`.
 *
 * @example
 * ```ts
 * import { BackendMisconfiguredError } from "@ampbus/ampbus";
 *
 * const e = new BackendMisconfiguredError("maxmemory-policy is allkeys-lru: Redis could evict messages");
 * if (e.code !== "BACKEND_MISCONFIGURED") throw new Error("wrong code");
 * ```
 */
export class BackendMisconfiguredError extends AmpbusError {
  /** Code `BACKEND_MISCONFIGURED`; the message names the setting at fault. */
  constructor(message: string, options?: ErrorOptions) {
    super("BACKEND_MISCONFIGURED", message, options);
    this.name = "BackendMisconfiguredError";
  }
}

/**
 * The store could not take a write: its disk is full (`STORAGE_FULL`), its
 * file is read-only (`STORAGE_READ_ONLY`), or another I/O error
 * (`STORAGE_ERROR`). Nothing of the refused write was stored, what was
 * acknowledged before is intact, and reads go on. The message names the file.
 *
 * @example
 * ```ts
 * import { BackendStorageError } from "@ampbus/ampbus";
 *
 * const e = new BackendStorageError("STORAGE_FULL", "ampd.db: the disk is full; nothing of this write was stored");
 * if (e.code !== "STORAGE_FULL") throw new Error("wrong code");
 * ```
 */
export class BackendStorageError extends AmpbusError {
  /** `code` says which fault; the message names the file; `options.cause` is SQLite's error. */
  constructor(code: "STORAGE_FULL" | "STORAGE_READ_ONLY" | "STORAGE_ERROR", message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "BackendStorageError";
  }
}

/**
 * An argument a backend cannot accept (a malformed entry id, a negative
 * maxLen...). Code `BAD_ARGUMENT`.
 *
 * @example
 * ```ts
 * import { BackendArgumentError } from "@ampbus/ampbus";
 *
 * const e = new BackendArgumentError(`entry id "12-x" is not <ms>-<seq>`);
 * if (e.code !== "BAD_ARGUMENT") throw new Error("wrong code");
 * ```
 */
export class BackendArgumentError extends AmpbusError {
  /** Code `BAD_ARGUMENT`; the message names the argument and its value. */
  constructor(message: string, options?: ErrorOptions) {
    super("BAD_ARGUMENT", message, options);
    this.name = "BackendArgumentError";
  }
}

/**
 * An add was refused because the message's `expiresAt` is already past:
 * storing it would only store something no reader may deliver. Code `EXPIRED`.
 *
 * @example
 * ```ts
 * import { MessageExpiredError } from "@ampbus/ampbus";
 *
 * const e = new MessageExpiredError(1_000, 1_250);
 * if (e.code !== "EXPIRED" || e.expiresAt !== 1_000) throw new Error("wrong fields");
 * if (!e.message.includes("250 ms in the past")) throw new Error(e.message);
 * ```
 */
export class MessageExpiredError extends AmpbusError {
  /** The message's `expiresAt` (ms since the epoch). */
  readonly expiresAt: number;
  /** `expiresAt` of the message and the time (`now`, ms since the epoch) the add was refused at. */
  constructor(expiresAt: number, now: number) {
    super("EXPIRED", `message expired before it was added: expiresAt ${expiresAt} is ${now - expiresAt} ms in the past`);
    this.name = "MessageExpiredError";
    this.expiresAt = expiresAt;
  }
}

/**
 * An add was refused because the message could never be delivered: with its
 * reply around it, it would not fit the `maxFrame` the bus announces. Code `TOO_LARGE`.
 *
 * @example
 * ```ts
 * import { EntryTooLargeError } from "@ampbus/ampbus";
 *
 * const e = new EntryTooLargeError(20_000_000, { limit: 16_776_192, maxFrame: 16_777_216 });
 * if (e.code !== "TOO_LARGE" || e.limit !== 16_776_192) throw new Error("wrong fields");
 * ```
 */
export class EntryTooLargeError extends AmpbusError {
  /** The message's size in bytes. */
  readonly size: number;
  /** The largest message stored (`maxEntryBytes(maxFrame)`). */
  readonly limit: number;
  /** `size` of the message; `limits.limit` is the largest stored, `limits.maxFrame` the frame limit it derives from. */
  constructor(size: number, limits: { limit: number; maxFrame: number }) {
    const { limit, maxFrame } = limits;
    super(
      "TOO_LARGE",
      `message is ${size} bytes; the largest message stored is ${limit} bytes (maxFrame ${maxFrame} minus ${maxFrame - limit} for the reply around it)`,
    );
    this.name = "EntryTooLargeError";
    this.size = size;
    this.limit = limit;
  }
}

// Bytes on a pipe.

/**
 * A frame could not be read: its declared length is over the limit or zero.
 * The connection cannot go on. Code `BAD_FRAME`.
 *
 * @example
 * ```ts
 * import { FrameDecoder, FrameError } from "@ampbus/ampbus";
 *
 * try {
 *   new FrameDecoder(1024).push(new Uint8Array([0, 0, 0x10, 0])); // declares 4096 bytes
 *   throw new Error("a frame over maxFrame must be refused");
 * } catch (e) {
 *   if (!(e instanceof FrameError) || e.code !== "BAD_FRAME" || e.complete.length !== 0) throw e;
 * }
 * ```
 */
export class FrameError extends AmpbusError {
  /** The whole frames that came before the bad length in the same `push()`: still to be handled. */
  readonly complete: Uint8Array[];
  /** Code `BAD_FRAME`; `complete` defaults to none. */
  constructor(message: string, complete: Uint8Array[] = []) {
    super("BAD_FRAME", message);
    this.name = "FrameError";
    this.complete = complete;
  }
}
