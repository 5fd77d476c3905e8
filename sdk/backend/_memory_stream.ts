/**
 * The per-stream storage of `MemoryBackend`: entries in parallel arrays with
 * a start offset (trimming from the front is O(1) amortized), reads by
 * binary search, and an opId window swept in expiry order.
 *
 * @module
 */
import type { BlockedRead } from "./blocked_read.ts";
import type { RemovedCounts, Retention, StreamBatch, StreamEntry } from "./types.ts";

/** One stream: parallel arrays from `start` on; the slots before `start` are trimmed. */
export class MemStream {
  entries: StreamEntry[] = [];
  ms: number[] = [];
  seq: number[] = [];
  start = 0;
  lastMs = 0;
  lastSeq = 0;
  waiters: Set<Waiter> | null = null;
  /** opId -> entry id, for opIds within the dedupe window. */
  dedupe = new Map<string, string>();
  // The same opIds in expiry order (the window is constant), swept from `dedupeHead`.
  // Parallel arrays rather than record objects: no allocation per add.
  dqOp: string[] = [];
  dqId: string[] = [];
  dqExp: number[] = [];
  dedupeHead = 0;
  /** Entries removed so far, by cause. */
  removed: RemovedCounts = { trim: 0, retention: 0, purge: 0 };
  /** Removed entries that were still pending in a group. */
  droppedPending = 0;
  /** The stream's own retention, if set. */
  retention: Retention | undefined;

  get length(): number {
    return this.entries.length - this.start;
  }

  /** Index of the first entry after (ms, seq): a binary search. */
  indexAfter(ms: number, seq: number): number {
    const msA = this.ms;
    const seqA = this.seq;
    let lo = this.start;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = msA[mid]!;
      if (m < ms || (m === ms && seqA[mid]! <= seq)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first entry at or after (ms, seq). */
  indexAtOrAfter(ms: number, seq: number): number {
    return seq > 0 ? this.indexAfter(ms, seq - 1) : ms > 0 ? this.indexAfter(ms - 1, Number.MAX_SAFE_INTEGER) : this.start;
  }

  /** Forgets every opId (a purge). */
  clearDedupe(): void {
    this.dedupe.clear();
    this.dqOp = [];
    this.dqId = [];
    this.dqExp = [];
    this.dedupeHead = 0;
  }

  /** The live entry with id (ms, seq), if it was not trimmed. */
  entryAt(ms: number, seq: number): StreamEntry | undefined {
    const i = this.indexAfter(ms, seq) - 1;
    return i >= this.start && this.ms[i] === ms && this.seq[i] === seq ? this.entries[i] : undefined;
  }

  /** Drops the oldest entries so at most `maxLen` remain; returns how many went. */
  trimTo(maxLen: number): number {
    const removed = this.length - maxLen;
    if (removed <= 0) return 0;
    this.start += removed;
    // Compacting when the dead prefix outgrows the live part keeps trimming O(1) amortized.
    if (this.start > 32 && this.start >= this.entries.length >>> 1) {
      this.entries = this.entries.slice(this.start);
      this.ms = this.ms.slice(this.start);
      this.seq = this.seq.slice(this.start);
      this.start = 0;
    }
    return removed;
  }

  /** Forgets expired opIds: afterwards every opId in `dedupe` is within the window. */
  sweep(now: number): void {
    const exp = this.dqExp;
    let h = this.dedupeHead;
    if (h >= exp.length || exp[h]! > now) return;
    const op = this.dqOp;
    const id = this.dqId;
    do {
      // An opId stored again after expiring has a newer queue slot: keep it.
      if (this.dedupe.get(op[h]!) === id[h]) this.dedupe.delete(op[h]!);
      h++;
    } while (h < exp.length && exp[h]! <= now);
    if (h > 32 && h >= exp.length >>> 1) {
      this.dqOp = op.slice(h);
      this.dqId = id.slice(h);
      this.dqExp = exp.slice(h);
      h = 0;
    }
    this.dedupeHead = h;
  }
}

/** A cursor of a blocked read, with "$" already resolved. */
export interface WaitCursor {
  stream: string;
  s: MemStream;
  ms: number;
  seq: number;
}

/** A blocked read. */
export type Waiter = BlockedRead<WaitCursor>;

/** Up to `count` entries of `s` from index `from`; undefined when there are none. */
export function collect(s: MemStream, from: number, count: number): StreamEntry[] | undefined {
  const end = Math.min(from + count, s.entries.length);
  return from < end ? s.entries.slice(from, end) : undefined;
}

/** The entries after each cursor, as `read()` answers them. */
export function gather(cursors: readonly WaitCursor[], count: number): StreamBatch[] {
  const out: StreamBatch[] = [];
  for (const c of cursors) {
    const entries = collect(c.s, c.s.indexAfter(c.ms, c.seq), count);
    if (entries !== undefined) out.push({ stream: c.stream, entries });
  }
  return out;
}
