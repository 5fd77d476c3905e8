/**
 * Argument checks and entry-id arithmetic shared by `MemoryBackend`,
 * `RedisBackend` and `SqliteBackend`, so all reject the same inputs with the
 * same error, checked in the same order.
 *
 * @module
 */
import { BackendArgumentError } from "./types.ts";
import type {
  ClaimOptions,
  ConsumerRef,
  EntryHeaders,
  GroupRef,
  GroupStart,
  NackOptions,
  PendingOptions,
  ReadCursor,
  ReadGroupOptions,
  ReadOptions,
  Retention,
  RetentionPolicy,
  TrimOptions,
} from "./types.ts";

/** An entry id split into its two numbers. */
export interface ParsedId {
  ms: number;
  seq: number;
}

/** Default `count` of a read. */
export const DEFAULT_READ_COUNT = 100;

const ID_RE = /^(\d{1,16})(?:-(\d{1,16}))?$/;
const FULL_ID_RE = /^\d{1,16}-\d{1,16}$/;

/**
 * True for an entry id as the bus hands them out: `<ms>-<seq>`, 1 to 16
 * digits each (the one entry-id shape check of ampbus).
 *
 * @example
 * ```ts
 * isEntryId("1706745600000-0"); // true
 * isEntryId("$");               // false
 * ```
 */
export function isEntryId(text: string): boolean {
  return FULL_ID_RE.test(text);
}

/**
 * True for where a read may start: `"0"` (the beginning), `"$"` (what is
 * added from now on) or after an entry id.
 *
 * @example
 * ```ts
 * isReadFrom("$"); // true
 * ```
 */
export function isReadFrom(text: string): boolean {
  return text === "0" || text === "$" || FULL_ID_RE.test(text);
}

/**
 * Parses `"ms-seq"` or `"ms"` (seq 0), as Redis's XREAD does.
 *
 * @example
 * ```ts
 * parseEntryId("1706745600000-3") // { ms: 1706745600000, seq: 3 }
 * ```
 */
export function parseEntryId(id: string): ParsedId {
  const m = ID_RE.exec(id);
  if (m === null) {
    throw new BackendArgumentError(
      `invalid entry id ${JSON.stringify(id)}: expected "0", "$", "<ms>" or "<ms>-<seq>"`,
    );
  }
  const ms = Number(m[1]);
  const seq = m[2] === undefined ? 0 : Number(m[2]);
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(seq)) {
    throw new BackendArgumentError(`entry id ${JSON.stringify(id)} is out of range`);
  }
  return { ms, seq };
}

/**
 * Orders two entry ids: negative, zero or positive like `Array.prototype.sort`.
 *
 * @example
 * ```ts
 * compareEntryIds("5-10", "6-0") < 0 // true
 * ```
 */
export function compareEntryIds(a: string, b: string): number {
  const pa = parseEntryId(a);
  const pb = parseEntryId(b);
  return pa.ms !== pb.ms ? pa.ms - pb.ms : pa.seq - pb.seq;
}

/** Rejects an empty stream name: its keys would not share a hash slot. */
export function checkStream(stream: string): void {
  if (typeof stream !== "string" || stream.length === 0) {
    throw new BackendArgumentError(`stream name must be a non-empty string (was ${JSON.stringify(stream)})`);
  }
}

/** Rejects a `maxLen` that is not a non-negative integer. */
export function checkMaxLen(maxLen: number): void {
  if (!Number.isSafeInteger(maxLen) || maxLen < 0) {
    throw new BackendArgumentError(`maxLen must be a non-negative integer (was ${maxLen})`);
  }
}

/** Checked read options with defaults filled in. */
export interface CheckedRead {
  count: number;
  /** Milliseconds, or undefined for a read that does not block. */
  block: number | undefined;
}

/**
 * Checks a read's cursors and options: at least one cursor, valid ids,
 * `count >= 1`, `block > 0`.
 */
export function checkRead(cursors: readonly ReadCursor[], options: ReadOptions | undefined): CheckedRead {
  if (cursors.length === 0) throw new BackendArgumentError("read needs at least one cursor");
  for (const c of cursors) {
    checkStream(c.stream);
    if (c.after !== "$") parseEntryId(c.after);
  }
  return { count: checkCount(options?.count, DEFAULT_READ_COUNT), block: checkBlock(options?.block) };
}

/** Rejects an `expiresAt` header that is not a finite number. */
export function checkHeaders(headers: EntryHeaders): void {
  const x = headers.expiresAt;
  if (x !== undefined && (typeof x !== "number" || !Number.isFinite(x))) {
    throw new BackendArgumentError(`headers.expiresAt must be a finite number of epoch milliseconds (was ${x})`);
  }
}

/** Rejects an empty group or consumer name. */
export function checkName(what: "group" | "consumer", name: string): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new BackendArgumentError(`${what} name must be a non-empty string (was ${JSON.stringify(name)})`);
  }
}

/** Rejects a `GroupRef` with an empty stream or group name. */
export function checkGroupRef(ref: GroupRef): void {
  checkStream(ref.stream);
  checkName("group", ref.group);
}

/** Rejects a `ConsumerRef` with an empty stream, group or consumer name. */
export function checkConsumerRef(ref: ConsumerRef): void {
  checkGroupRef(ref);
  checkName("consumer", ref.consumer);
}

/** Checked `readGroup()` options, with the default count filled in. */
export interface CheckedReadGroup {
  count: number;
  /** Milliseconds, or undefined for a read that does not block. */
  block: number | undefined;
  signal: AbortSignal | undefined;
  /** When a blocking read gives up (epoch ms; now when it does not block). */
  deadline: number;
}

/** Checks a `readGroup()` call: the names, then `count` and `block`. */
export function checkReadGroup(ref: ConsumerRef, options: ReadGroupOptions | undefined): CheckedReadGroup {
  checkConsumerRef(ref);
  const count = checkCount(options?.count, DEFAULT_READ_COUNT);
  const block = checkBlock(options?.block);
  return { count, block, signal: options?.signal, deadline: Date.now() + (block ?? 0) };
}

/** Checks a `claim()` call; `minIdleMs` defaults to the backend's claim timeout. */
export function checkClaim(ref: ConsumerRef, o: { options: ClaimOptions | undefined; claimTimeoutMs: number }): { minIdleMs: number; count: number } {
  checkConsumerRef(ref);
  const minIdleMs = checkMs("minIdleMs", o.options?.minIdleMs) ?? o.claimTimeoutMs;
  return { minIdleMs, count: checkCount(o.options?.count, DEFAULT_READ_COUNT) };
}

/** Checks a `pending()` call: the names, the consumer filter, `minIdleMs` (default 0) and `count`. */
export function checkPending(
  ref: GroupRef,
  options: PendingOptions | undefined,
): { consumer: string | undefined; minIdleMs: number; count: number } {
  checkGroupRef(ref);
  const consumer = options?.consumer;
  if (consumer !== undefined) checkName("consumer", consumer);
  const minIdleMs = checkMs("minIdleMs", options?.minIdleMs) ?? 0;
  return { consumer, minIdleMs, count: checkCount(options?.count, DEFAULT_READ_COUNT) };
}

/**
 * The idle time a `nack()` gives its entries, so that they are claimable
 * after `delayMs` (default 0) under `claimTimeoutMs` (default the backend's).
 */
export function nackIdleMs(options: NackOptions, claimTimeoutMs: number): number {
  const delay = checkMs("delayMs", options.delayMs) ?? 0;
  const timeout = checkMs("claimTimeoutMs", options.claimTimeoutMs) ?? claimTimeoutMs;
  return Math.max(0, timeout - delay);
}

/** A positive integer `count`, or `fallback` when undefined. */
export function checkCount(count: number | undefined, fallback: number): number {
  if (count === undefined) return fallback;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new BackendArgumentError(`count must be a positive integer (was ${count})`);
  }
  return count;
}

/**
 * A non-negative number of milliseconds, rounded up; undefined stays
 * undefined (callers write `checkMs(what, v) ?? fallback`, so the value and
 * its fallback, two numbers, are never neighbours in one argument list).
 */
export function checkMs(what: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new BackendArgumentError(`${what} must be a non-negative number of milliseconds (was ${value})`);
  }
  return Math.ceil(value);
}

/** A positive `block`, rounded up, or undefined. */
export function checkBlock(block: number | undefined): number | undefined {
  if (block !== undefined && (!Number.isFinite(block) || block <= 0)) {
    throw new BackendArgumentError(`block must be a positive number of milliseconds (was ${block}); no read may wait forever`);
  }
  return block === undefined ? undefined : Math.ceil(block);
}

/** A group's start: `"$"`, `"0"` or an entry id in its full `ms-seq` form. */
export function checkGroupStart(from: GroupStart | undefined): GroupStart {
  if (from === undefined || from === "$") return "$";
  const { ms, seq } = parseEntryId(from);
  return `${ms}-${seq}`;
}

/** Checks the group of an ack, nack or extend and its entry ids, returned in their full `ms-seq` form. */
export function checkGroupIds(ref: GroupRef, entryIds: readonly string[]): string[] {
  checkGroupRef(ref);
  return canonicalIds(entryIds);
}

/** Entry ids in their full `ms-seq` form, so "5" and "5-0" name the same entry on both backends. */
export function canonicalIds(ids: readonly string[]): string[] {
  if (!Array.isArray(ids)) throw new BackendArgumentError("entryIds must be an array of entry ids");
  return ids.map((id) => {
    const { ms, seq } = parseEntryId(id);
    return `${ms}-${seq}`;
  });
}

/** Trim options checked, with the cause filled in; `policy` stays undefined for "the stream's own". */
export interface CheckedTrim {
  maxLen: number | undefined;
  maxAgeMs: number | undefined;
  policy: RetentionPolicy | undefined;
  cause: "trim" | "retention";
  approximate: boolean;
}

/** Checks `trim()` options: at least one limit, each in range, a known policy. */
export function checkTrim(options: TrimOptions): CheckedTrim {
  if (options.maxLen !== undefined) checkMaxLen(options.maxLen);
  const maxAgeMs = checkMs("maxAgeMs", options.maxAgeMs);
  if (options.maxLen === undefined && maxAgeMs === undefined) throw new BackendArgumentError("trim needs maxLen or maxAgeMs");
  if (options.policy !== undefined && options.policy !== "interest" && options.policy !== "limits") {
    throw new BackendArgumentError(`policy must be "interest" or "limits" (was ${JSON.stringify(options.policy)})`);
  }
  const cause = options.cause ?? "trim";
  if (cause !== "trim" && cause !== "retention") throw new BackendArgumentError(`cause must be "trim" or "retention" (was ${JSON.stringify(cause)})`);
  return { maxLen: options.maxLen, maxAgeMs, policy: options.policy, cause, approximate: options.approximate ?? false };
}

/** Checks a stream's retention: a known policy and limits in range. */
export function checkRetention(r: Retention): Retention {
  if (r.policy !== "interest" && r.policy !== "limits") throw new BackendArgumentError(`retention policy must be "interest" or "limits" (was ${JSON.stringify(r.policy)})`);
  if (r.maxLen !== undefined) checkMaxLen(r.maxLen);
  const maxAgeMs = checkMs("maxAgeMs", r.maxAgeMs);
  const out: Retention = { policy: r.policy };
  if (r.maxLen !== undefined) out.maxLen = r.maxLen;
  if (maxAgeMs !== undefined) out.maxAgeMs = maxAgeMs;
  return out;
}

/**
 * The first id a trim keeps under its limits: entries before it go. From
 * the stream's length and last id, the id of its `length - maxLen`-th entry
 * (`nth`, 0-based, asked only when needed) and the age limit.
 */
export function limitCut(
  o: { length: number; last: ParsedId; maxLen?: number; maxAgeMs?: number; now: number; nth: (n: number) => ParsedId | undefined },
): ParsedId | undefined {
  let cut: ParsedId | undefined;
  if (o.maxLen !== undefined && o.length > o.maxLen) cut = o.maxLen === 0 ? nextId(o.last) : o.nth(o.length - o.maxLen);
  if (o.maxAgeMs !== undefined) {
    const byAge = { ms: Math.max(0, o.now - o.maxAgeMs), seq: 0 };
    if (cut === undefined || byAge.ms > cut.ms || (byAge.ms === cut.ms && byAge.seq > cut.seq)) cut = byAge;
  }
  return cut;
}

/** The smaller of two ids (undefined stands for none). */
export function minId(a: ParsedId | undefined, b: ParsedId | undefined): ParsedId | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a.ms < b.ms || (a.ms === b.ms && a.seq <= b.seq) ? a : b;
}

/** The id just after (ms, seq). */
export function nextId(p: ParsedId): ParsedId {
  return p.seq >= Number.MAX_SAFE_INTEGER ? { ms: p.ms + 1, seq: 0 } : { ms: p.ms, seq: p.seq + 1 };
}
