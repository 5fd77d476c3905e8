/**
 * Argument checks and entry-id arithmetic shared by `MemoryBackend` and
 * `RedisBackend`, so both reject the same inputs with the same error.
 *
 * @module
 */
import { BackendArgumentError } from "./types.ts";
import type { ReadCursor, ReadOptions } from "./types.ts";

/** An entry id split into its two numbers. */
export interface ParsedId {
  ms: number;
  seq: number;
}

/** Default `count` of a read. */
export const DEFAULT_READ_COUNT = 100;

const ID_RE = /^(\d{1,16})(?:-(\d{1,16}))?$/;

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
  const count = options?.count ?? DEFAULT_READ_COUNT;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new BackendArgumentError(`count must be a positive integer (was ${count})`);
  }
  const block = options?.block;
  if (block !== undefined && (!Number.isFinite(block) || block <= 0)) {
    throw new BackendArgumentError(`block must be a positive number of milliseconds (was ${block}); no read may wait forever`);
  }
  return { count, block: block === undefined ? undefined : Math.ceil(block) };
}
