/**
 * One stream of the SQLite store in memory: its row's state, and its opId
 * window: a Map for lookups and
 * the same opIds in expiry order (the window is constant, so insertion order
 * is expiry order), with the rowid of each one's `dedupe` row so that a sweep
 * deletes the expired rows by rowid range. Loaded from the `dedupe` table at
 * start, so a retry after a restart is still recognised.
 *
 * @module
 */

import type { EntryHeaders, StreamEntry } from "../../sdk/backend/types.ts";

/** The columns of an `entries` row as the store reads them, in `EntryRow` order. */
export const ENTRY_COLUMNS = "ms, seq, id, op_id, type, sender, receiver, tier, expires_at, msg";

/** A row of `entries` in `ENTRY_COLUMNS` order. */
export type EntryRow = [number, number, string, string, string, string, string, string | null, number | null, Uint8Array];

/** A row of `entries` as a stream entry. */
export function rowEntry(r: EntryRow): StreamEntry {
  const headers: EntryHeaders = { id: r[2], opId: r[3], type: r[4], sender: r[5], receiver: r[6] };
  if (r[7] !== null) headers.tier = r[7];
  if (r[8] !== null) headers.expiresAt = r[8];
  return { entryId: `${r[0]}-${r[1]}`, headers, msg: r[9] };
}

/** One stream's state in memory: its row, its last id, its length and its opId window. */
export interface StreamState {
  id: number;
  name: string;
  lastMs: number;
  lastSeq: number;
  length: number;
  dedupe: DedupeWindow;
}

/** One stream's opIds within the window. */
export class DedupeWindow {
  #ids = new Map<string, string>();
  #op: string[] = [];
  #id: string[] = [];
  #exp: number[] = [];
  #row: number[] = [];
  #head = 0;

  /** The entry id first stored with `opId`, if it is within the window. */
  get(opId: string): string | undefined {
    return this.#ids.get(opId);
  }

  /** Remembers `opId` -> `entryId` until `expiresAt`; `row` is its `dedupe` rowid. */
  set(opId: string, entry: { entryId: string; expiresAt: number; row: number }): void {
    this.#ids.set(opId, entry.entryId);
    this.#op.push(opId);
    this.#id.push(entry.entryId);
    this.#exp.push(entry.expiresAt);
    this.#row.push(entry.row);
  }

  /** A mark for `undo()`: how many opIds were set so far. */
  mark(): number {
    return this.#op.length;
  }

  /** Forgets the opIds set after `mark` (their transaction was rolled back). */
  undo(mark: number): void {
    for (let i = this.#op.length - 1; i >= mark; i--) {
      if (this.#ids.get(this.#op[i]!) === this.#id[i]) this.#ids.delete(this.#op[i]!);
    }
    this.#op.length = this.#id.length = this.#exp.length = this.#row.length = Math.max(mark, this.#head);
  }

  /** Forgets opIds expired at `now`; returns the highest `dedupe` rowid forgotten, or 0. */
  sweep(now: number): number {
    const exp = this.#exp;
    let h = this.#head;
    if (h >= exp.length || exp[h]! > now) return 0;
    let maxRow = 0;
    do {
      const op = this.#op[h]!;
      if (this.#ids.get(op) === this.#id[h]) this.#ids.delete(op);
      if (this.#row[h]! > maxRow) maxRow = this.#row[h]!;
      h++;
    } while (h < exp.length && exp[h]! <= now);
    this.#head = h;
    return maxRow;
  }

  /**
   * Drops the swept slots when they outgrow the live ones. Not during a
   * transaction: it moves the indexes that `mark()` handed out.
   */
  compact(): void {
    const h = this.#head;
    if (h <= 32 || h < this.#exp.length >>> 1) return;
    this.#op = this.#op.slice(h);
    this.#id = this.#id.slice(h);
    this.#exp = this.#exp.slice(h);
    this.#row = this.#row.slice(h);
    this.#head = 0;
  }

  /** How many opIds are remembered. */
  get size(): number {
    return this.#ids.size;
  }
}
