/**
 * The streams of the SQLite store as `SqliteBackend` keeps them in memory
 * (last id, length and opId window of each: loaded from the file at start,
 * changed inside its transactions), and the undo log that keeps them equal
 * to the file: a transaction's first change of a stream records the
 * stream's state before it, other changes of memory record their own undo
 * step, and a rollback replays the log backwards. On commit the changed
 * streams' rows are written, and the streams added to are handed over, so
 * the reads blocked on them wake once the commit is durable.
 *
 * @module
 */
import type { Database, Statement } from "bun:sqlite";
import { DedupeWindow, type StreamState } from "./_sqlite_stream.ts";

/**
 * The in-memory streams of one store.
 *
 * @example
 * ```ts
 * const cache = new StreamCache(db);
 * cache.load({ dedupe: true });
 * const s = cache.forWrite("tasks"); // inside a transaction
 * cache.touch(s);
 * ```
 */
export class StreamCache {
  #streams = new Map<string, StreamState>();
  #db: Database;
  /** Undo steps of the open transaction's changes, and the streams it changed and added to. */
  #undo: (() => void)[] = [];
  #dirty = new Set<StreamState>();
  #added = new Set<string>();
  #insStream: Statement;
  #updStream: Statement;

  constructor(db: Database) {
    this.#db = db;
    this.#insStream = db.prepare("INSERT INTO streams (name, last_ms, last_seq, length, created_at) VALUES (?, 0, 0, 0, ?)");
    this.#updStream = db.prepare("UPDATE streams SET last_ms = ?, last_seq = ?, length = ? WHERE id = ?");
  }

  /** Reads the streams' rows and, with `o.dedupe`, the opIds still within their window. */
  load(o: { dedupe: boolean }): void {
    const rows = this.#db.query("SELECT id, name, last_ms, last_seq, length FROM streams").values() as [number, string, number, number, number][];
    const byId = new Map<number, StreamState>();
    for (const [id, name, lastMs, lastSeq, length] of rows) {
      const s: StreamState = { id, name, lastMs, lastSeq, length, dedupe: new DedupeWindow() };
      this.#streams.set(name, s);
      byId.set(id, s);
    }
    if (!o.dedupe) return;
    const now = Date.now();
    const opIds = this.#db.query("SELECT rowid, stream_id, op_id, entry_ms, entry_seq, expires_at FROM dedupe WHERE expires_at > ? ORDER BY rowid")
      .values(now) as [number, number, string, number, number, number][];
    for (const [row, streamId, opId, ms, seq, expiresAt] of opIds) {
      byId.get(streamId)?.dedupe.set(opId, { entryId: `${ms}-${seq}`, expiresAt, row });
    }
  }

  /** The stream's state, or undefined when it does not exist. */
  get(name: string): StreamState | undefined {
    return this.#streams.get(name);
  }

  has(name: string): boolean {
    return this.#streams.has(name);
  }

  /** The names of the streams, in no order. */
  names(): IterableIterator<string> {
    return this.#streams.keys();
  }

  streams(): IterableIterator<StreamState> {
    return this.#streams.values();
  }

  /** The stream's state, creating its row when it has none (inside a transaction). */
  forWrite(name: string): StreamState {
    let s = this.#streams.get(name);
    if (s !== undefined) return s;
    const id = Number(this.#insStream.run(name, Date.now()).lastInsertRowid);
    s = { id, name, lastMs: 0, lastSeq: 0, length: 0, dedupe: new DedupeWindow() };
    this.#streams.set(name, s);
    this.#undo.push(() => this.#streams.delete(name));
    return s;
  }

  /** Registers the undo step of `s`'s first change in this transaction. */
  touch(s: StreamState): void {
    if (this.#dirty.has(s)) return;
    this.#dirty.add(s);
    const { lastMs, lastSeq, length } = s;
    const mark = s.dedupe.mark();
    this.#undo.push(() => {
      s.lastMs = lastMs;
      s.lastSeq = lastSeq;
      s.length = length;
      s.dedupe.undo(mark);
    });
  }

  /** Adds a step that undoes a change of memory when the transaction rolls back. */
  onRollback(step: () => void): void {
    this.#undo.push(step);
  }

  /** Notes that this transaction added an entry to `name`. */
  addedTo(name: string): void {
    this.#added.add(name);
  }

  /** Forgets the deleted stream `s` (inside a transaction; a rollback brings it back). */
  delete(s: StreamState): void {
    this.#streams.delete(s.name);
    this.#dirty.delete(s);
    this.#undo.push(() => this.#streams.set(s.name, s));
  }

  /** Writes the rows of the streams this transaction changed (just before its commit). */
  writeDirty(): void {
    for (const s of this.#dirty) this.#updStream.run(s.lastMs, s.lastSeq, s.length, s.id);
  }

  /** The transaction committed: its undo log is dropped. */
  committed(): void {
    this.#undo = [];
    this.#dirty.clear();
  }

  /** The streams the committed transaction added to, or undefined when none. */
  takeAdded(): Set<string> | undefined {
    if (this.#added.size === 0) return undefined;
    const added = this.#added;
    this.#added = new Set();
    return added;
  }

  /** The transaction rolled back: memory goes back to what the file holds. */
  rolledBack(): void {
    for (let i = this.#undo.length - 1; i >= 0; i--) this.#undo[i]!();
    this.#undo = [];
    this.#dirty.clear();
    this.#added.clear();
  }
}
