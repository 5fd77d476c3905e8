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
