/**
 * Errors of talking to the bus: what the sidecar answered, a closed
 * connection, a timeout.
 *
 * @module
 */
import { AmpbusError, type Issue } from "../errors.ts";

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
