/**
 * Adds to the SQLite store and their opId window: an add inside a write
 * is answered with the first copy's id when its opId was stored in the
 * stream within the window, else it gets the next id (strictly increasing,
 * even when the clock steps back), its row, and its opId's row. Expired
 * opIds leave memory on the next add to their stream or on the periodic
 * sweep; their rows are deleted by rowid range, in a write of their own.
 *
 * @module
 */
import type { Database, Statement } from "bun:sqlite";
import type { AddResult, NewEntry } from "../../sdk/backend/types.ts";
import type { StreamCache } from "./_sqlite_cache.ts";
import type { SqliteRetention } from "./_sqlite_retention.ts";
import { ENTRY_COLUMNS } from "./_sqlite_stream.ts";

/**
 * The adds of one store.
 *
 * @example
 * ```ts
 * const adds = new SqliteAdds(db, { windowMs: 600_000, cache, retention });
 * const { entryId, duplicate } = adds.add("tasks", { entry, maxLen: undefined }); // inside a write
 * ```
 */
export class SqliteAdds {
  /** Adds answered as duplicates since the store was opened. */
  dedupeHits = 0;
  #windowMs: number;
  #cache: StreamCache;
  #retention: SqliteRetention;
  /** The highest rowid of an expired opId swept from memory whose row is not deleted yet (0: none). */
  #sweptRow = 0;
  #q: Record<"insEntry" | "insDedupe" | "delDedupe", Statement>;

  constructor(db: Database, o: { windowMs: number; cache: StreamCache; retention: SqliteRetention }) {
    this.#windowMs = o.windowMs;
    this.#cache = o.cache;
    this.#retention = o.retention;
    const q = (sql: string) => db.prepare(sql);
    this.#q = {
      insEntry: q(`INSERT INTO entries (stream_id, ${ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insDedupe: q("INSERT INTO dedupe (stream_id, op_id, entry_ms, entry_seq, expires_at) VALUES (?, ?, ?, ?, ?)"),
      delDedupe: q("DELETE FROM dedupe WHERE rowid <= ? AND expires_at <= ?"),
    };
  }

  /** One add to stream `name`, inside a write; `a.maxLen` is the publisher's bound. */
  add(name: string, a: { entry: NewEntry; maxLen: number | undefined }): AddResult {
    const { entry, maxLen } = a;
    const s = this.#cache.forWrite(name);
    const now = Date.now();
    const { headers } = entry;
    const opId = headers.opId;
    if (this.#windowMs > 0) {
      const swept = s.dedupe.sweep(now);
      if (swept > this.#sweptRow) this.#sweptRow = swept;
      const firstId = s.dedupe.get(opId);
      if (firstId !== undefined) {
        this.dedupeHits++;
        return { entryId: firstId, duplicate: true };
      }
    }
    this.#cache.touch(s);
    let ms = now;
    let seq = 0;
    if (ms <= s.lastMs) {
      ms = s.lastMs;
      seq = s.lastSeq + 1;
    }
    this.#q.insEntry.run(
      s.id, ms, seq, headers.id, opId, headers.type, headers.sender, headers.receiver,
      headers.tier ?? null, headers.expiresAt ?? null, entry.msg,
    );
    s.lastMs = ms;
    s.lastSeq = seq;
    s.length++;
    const entryId = `${ms}-${seq}`;
    if (this.#windowMs > 0) {
      const expiresAt = now + this.#windowMs;
      const row = Number(this.#q.insDedupe.run(s.id, opId, ms, seq, expiresAt).lastInsertRowid);
      s.dedupe.set(opId, { entryId, expiresAt, row });
    }
    if (maxLen !== undefined) this.#retention.bound(s, maxLen);
    this.#cache.addedTo(name);
    return { entryId, duplicate: false };
  }

  /** Drops the opIds expired by `now` from memory; returns the rowid up to which their rows can go, or undefined. */
  sweep(now: number): number | undefined {
    for (const s of this.#cache.streams()) {
      const swept = s.dedupe.sweep(now);
      if (swept > this.#sweptRow) this.#sweptRow = swept;
      s.dedupe.compact();
    }
    if (this.#sweptRow === 0) return undefined;
    const upTo = this.#sweptRow;
    this.#sweptRow = 0;
    return upTo;
  }

  /** Deletes the rows of opIds expired by `now`, up to rowid `upTo` (inside a write). */
  deleteExpired(upTo: number, now: number): void {
    this.#q.delDedupe.run(upTo, now);
  }
}
