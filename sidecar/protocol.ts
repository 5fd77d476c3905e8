/**
 * Protocol constants and argument checking for ampd's request handlers.
 * Every bad argument becomes a `ProtocolError` that names the field and the
 * value that was wrong; the connection goes on.
 *
 * @module
 */
import { AmpbusError } from "../sdk/errors.ts";

/** Protocol versions this server speaks. */
export const PROTOCOL_VERSION = 1;

/** Error codes of the protocol (see docs/protocol.md). */
export type ErrorCode =
  | "BAD_FRAME"
  | "BAD_REQUEST"
  | "UNKNOWN_OP"
  | "BAD_ARGUMENT"
  | "HELLO_REQUIRED"
  | "VERSION_UNSUPPORTED"
  | "AUTH_FAILED"
  | "INVALID_MESSAGE"
  | "UNKNOWN_VERSION"
  | "BACKEND_UNAVAILABLE"
  | "BACKEND_TIMEOUT"
  | "BACKEND_OUT_OF_MEMORY"
  | "BACKEND_MISCONFIGURED"
  | "UNKNOWN_SUBSCRIPTION"
  | "LIMIT_EXCEEDED"
  | "SHUTTING_DOWN"
  | "INTERNAL";

/** An error reply: `{rid, ok: false, error: {code, message, details?}}`. */
export class ProtocolError extends AmpbusError {
  readonly details?: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "ProtocolError";
    this.details = details;
  }
}

/** A request as decoded: a map with `op` and `rid`. */
export type Request = Record<string, unknown>;

function show(v: unknown): string {
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s === undefined ? typeof v : s.length > 60 ? s.slice(0, 57) + "..." : s;
}

function bad(field: string, want: string, got: unknown): ProtocolError {
  return new ProtocolError("BAD_ARGUMENT", `${field} must be ${want} (was ${show(got)})`, { field });
}

/** Stream names: 1 to 256 characters, no white space, control characters or braces. */
const STREAM_NAME = /^[^\s\x00-\x1f\x7f{}]{1,256}$/;

export function streamArg(req: Request, field = "stream"): string {
  const v = req[field];
  if (typeof v !== "string" || !STREAM_NAME.test(v)) {
    throw bad(field, "a stream name (1 to 256 characters, no spaces, control characters or braces)", v);
  }
  return v;
}

export function isStreamName(v: string): boolean {
  return STREAM_NAME.test(v);
}

/** Entry ids: `0`, `$`, or Redis `ms-seq`. */
const ENTRY_ID = /^(?:0|\$|\d{1,16}-\d{1,16})$/;

export function fromArg(v: unknown, field: string): string {
  if (typeof v !== "string" || !ENTRY_ID.test(v)) throw bad(field, `"0", "$" or an entry id like "1706745600000-0"`, v);
  return v;
}

export function intArg(req: Request, field: string, min: number, max: number, dflt?: number): number {
  const v = req[field];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw bad(field, `an integer from ${min} to ${max}`, v);
  }
  return v;
}

export function optIntArg(req: Request, field: string, min: number, max: number): number | undefined {
  return req[field] === undefined ? undefined : intArg(req, field, min, max);
}

export function strArg(req: Request, field: string, maxLen: number, optional = false): string | undefined {
  const v = req[field];
  if (v === undefined && optional) return undefined;
  if (typeof v !== "string" || v.length === 0 || v.length > maxLen) throw bad(field, `a string of 1 to ${maxLen} characters`, v);
  return v;
}

export function boolArg(req: Request, field: string, dflt: boolean): boolean {
  const v = req[field];
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") throw bad(field, "true or false", v);
  return v;
}

export function binArg(req: Request, field: string): Uint8Array {
  const v = req[field];
  if (!(v instanceof Uint8Array)) throw bad(field, "MessagePack bin (the encoded message bytes)", v);
  return v;
}

export function mapArg(req: Request, field: string): Record<string, unknown> {
  const v = req[field];
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw bad(field, "a map", v);
  }
  return v as Record<string, unknown>;
}
