/**
 * Protocol constants and argument checking for ampd's request handlers.
 * Every bad argument becomes a `ProtocolError` that names the field and the
 * value that was wrong; the connection goes on.
 *
 * @module
 */
import { AmpbusError } from "../sdk/errors.ts";
import { isReadFrom } from "../sdk/backend/args.ts";
import type { StreamBackend, StreamEntry } from "../sdk/backend/types.ts";
import type { AgentGrant } from "../sdk/trust/policy.ts";
import type { ServerState } from "./server_state.ts";

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
  | "AUTH_REQUIRED"
  | "AUTH_REVOKED"
  | "FORBIDDEN"
  | "BAD_SIGNATURE"
  | "TIER_MISMATCH"
  | "TIER_TOO_LOW"
  | "INVALID_MESSAGE"
  | "UNKNOWN_VERSION"
  | "BACKEND_UNAVAILABLE"
  | "BACKEND_TIMEOUT"
  | "BACKEND_OUT_OF_MEMORY"
  | "BACKEND_MISCONFIGURED"
  | "STORAGE_FULL"
  | "STORAGE_READ_ONLY"
  | "STORAGE_ERROR"
  | "UNKNOWN_SUBSCRIPTION"
  | "NOT_FOUND"
  | "LIMIT_EXCEEDED"
  | "SHUTTING_DOWN"
  | "HELLO_TIMEOUT"
  | "FRAME_TIMEOUT"
  | "INTERNAL";

/** An error reply: `{rid, ok: false, error: {code, message, details?}}`. */
export class ProtocolError extends AmpbusError {
  readonly details?: Record<string, unknown>;
  /** `options.details` goes into the reply's `error.details`; `options.cause` is kept as the cause. */
  constructor(code: ErrorCode, message: string, options?: ErrorOptions & { details?: Record<string, unknown> }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ProtocolError";
    this.details = options?.details;
  }
}

/** What a subscription of a session asks of the session: where to push, and whether the peer keeps up. */
export interface SubscriptionHost {
  readonly backend: StreamBackend;
  readonly state: ServerState;
  /** Pushes entries of subscription `sub` to the peer. */
  push(sub: number, entries: StreamEntry[]): void;
  /** True while the peer is slow to take what was sent. */
  outboxFull(): boolean;
  /** Resolves when the peer has drained. */
  waitDrain(): Promise<void>;
}

/** A subscription as the ops see it (`Subscription` implements it). */
export interface SubscriptionHandle {
  readonly id: number;
  readonly stream: string;
  readonly cursor: string;
  readonly credit: number;
  addCredit(n: number): void;
  run(): Promise<void>;
  stop(): void;
}

/** What an op sees of its session (`Session` implements it). */
export interface OpContext extends SubscriptionHost {
  readonly id: number;
  readonly subscriptions: Map<number, SubscriptionHandle>;
  readonly abortSignal: AbortSignal;
  client: string;
  helloDone: boolean;
  /** The agent this connection authenticated as (ampd with a keyring); undefined before `auth`, or without a keyring. */
  grant: AgentGrant | undefined;
  /** The agent named in `hello` and the nonce sent to it, until `auth` answers. */
  pendingAuth: { agent: string; nonce: Uint8Array } | undefined;
  close(): void;
}

/** add's reply; the session writes it by hand, as it is the hot path. */
export class AddReply {
  constructor(readonly entryId: string, readonly duplicate: boolean) {}
}

/**
 * Compares a token a client sent with the one required, in time that does
 * not depend on where they differ (the one constant-time compare of ampd).
 */
export function tokensEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

/** A request as decoded: a map with `op` and `rid`. */
export type Request = Record<string, unknown>;

/** Longest quote of a client's value in an error message, in characters. */
export const MAX_QUOTE = 60;

/**
 * Quotes a value a client sent, for an error message: at most `MAX_QUOTE`
 * characters, whatever its size. Big values are cut before they are
 * stringified, so quoting costs no more than the quote.
 *
 * @example
 * ```ts
 * show("x".repeat(1 << 20)); // "\"xxxx…xxx\"..." (60 characters)
 * show(new Uint8Array(9));   // "bytes(9)"
 * ```
 */
export function show(v: unknown): string {
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object" && v !== null) return "a map";
  if (typeof v === "bigint") v = `${v}`;
  const s = JSON.stringify(typeof v === "string" && v.length > MAX_QUOTE ? v.slice(0, MAX_QUOTE) : v);
  if (s === undefined) return typeof v;
  return s.length > MAX_QUOTE ? s.slice(0, MAX_QUOTE - 3) + "..." : s;
}

/** Longest `message` of an error reply, in characters. */
export const MAX_ERROR_MESSAGE = 1024;
/** Most `details.issues` entries an error reply lists (the rest are counted in `details.moreIssues`). */
export const MAX_ERROR_ISSUES = 32;

function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 3) + "..." : s;
}

/**
 * The `error` map of an error reply, kept small whatever produced it: the
 * message is cut to `MAX_ERROR_MESSAGE` characters, detail strings to 256,
 * `issues` to `MAX_ERROR_ISSUES` entries with short paths; anything else is
 * dropped. An error reply therefore stays under about 16 KiB.
 */
export function errorBody(e: { code: string; message: string; details?: Record<string, unknown> }): Record<string, unknown> {
  const { code, message, details } = e;
  const error: Record<string, unknown> = { code: clip(code, 64), message: clip(message, MAX_ERROR_MESSAGE) };
  if (details === undefined) return error;
  const small: Record<string, unknown> = {};
  let n = 0;
  for (const k of Object.keys(details)) {
    if (++n > 16) break;
    const v = details[k];
    if (k === "issues" && Array.isArray(v)) {
      small.issues = v.slice(0, MAX_ERROR_ISSUES).map(smallIssue);
      if (v.length > MAX_ERROR_ISSUES) small.moreIssues = v.length - MAX_ERROR_ISSUES;
    } else if (typeof v === "string") small[clip(k, 64)] = clip(v, 256);
    else if (typeof v === "number" || typeof v === "boolean" || v === null) small[clip(k, 64)] = v;
  }
  error.details = small;
  return error;
}

function smallIssue(issue: unknown): { path: (string | number)[]; message: string } {
  const i = (typeof issue === "object" && issue !== null ? issue : {}) as { path?: unknown; message?: unknown };
  const path = Array.isArray(i.path) ? i.path.slice(0, 16).map((p) => (typeof p === "number" ? p : clip(String(p), 64))) : [];
  return { path, message: clip(typeof i.message === "string" ? i.message : String(i.message), 256) };
}

function bad(field: string, what: { want: string; got: unknown }): ProtocolError {
  const { want, got } = what;
  return new ProtocolError("BAD_ARGUMENT", `${field} must be ${want} (was ${show(got)})`, { details: { field } });
}

/** Stream names: 1 to 256 characters, no white space, control characters or braces. */
const STREAM_NAME = /^[^\s\x00-\x1f\x7f{}]{1,256}$/;

export function streamArg(req: Request, field = "stream"): string {
  const v = req[field];
  if (typeof v !== "string" || !STREAM_NAME.test(v)) {
    throw bad(field, { want: "a stream name (1 to 256 characters, no spaces, control characters or braces)", got: v });
  }
  return v;
}

export function isStreamName(v: string): boolean {
  return STREAM_NAME.test(v);
}

/** Where a read starts: `0`, `$`, or an entry id `ms-seq`. */
export function fromArg(v: unknown, field: string): string {
  if (typeof v !== "string" || !isReadFrom(v)) throw bad(field, { want: `"0", "$" or an entry id like "1706745600000-0"`, got: v });
  return v;
}

/** An integer field of `req` from `min` to `max`; `fallback` when absent (required without one). */
export interface IntArgSpec {
  field: string;
  min: number;
  max: number;
  fallback?: number;
}

export function intArg(req: Request, spec: IntArgSpec): number {
  const { field, min, max, fallback } = spec;
  const v = req[field];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw bad(field, { want: `an integer from ${min} to ${max}`, got: v });
  }
  return v;
}

export function optIntArg(req: Request, spec: Omit<IntArgSpec, "fallback">): number | undefined {
  return req[spec.field] === undefined ? undefined : intArg(req, spec);
}

export function strArg(req: Request, spec: { field: string; maxLen: number; optional?: boolean }): string | undefined {
  const { field, maxLen, optional = false } = spec;
  const v = req[field];
  if (v === undefined && optional) return undefined;
  if (typeof v !== "string" || v.length === 0 || v.length > maxLen) throw bad(field, { want: `a string of 1 to ${maxLen} characters`, got: v });
  return v;
}

export function boolArg(req: Request, spec: { field: string; fallback: boolean }): boolean {
  const { field, fallback } = spec;
  const v = req[field];
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") throw bad(field, { want: "true or false", got: v });
  return v;
}

export function binArg(req: Request, field: string, what = "the encoded message bytes"): Uint8Array {
  const v = req[field];
  if (!(v instanceof Uint8Array)) throw bad(field, { want: `MessagePack bin (${what})`, got: v });
  return v;
}

export function mapArg(req: Request, field: string): Record<string, unknown> {
  const v = req[field];
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw bad(field, { want: "a map", got: v });
  }
  return v as Record<string, unknown>;
}
