/**
 * What `SqliteBackend` deletes from its streams, inside its writes, and the
 * counts of it: the publisher's `maxLen` bound on an add, `trim()` under the
 * limits or the interest policy (never an entry some group still needs),
 * `purge()`, and the rows of a deleted stream. A count goes into the
 * stream's row (undone with the transaction) and into the store's totals
 * (undone through the backend's undo log).
 *
 * @module
 */
import type { Database, Statement } from "bun:sqlite";
import { type CheckedTrim, limitCut, minId, nextId, type ParsedId } from "../../sdk/backend/args.ts";
import type { RemovedCounts, Retention } from "../../sdk/backend/types.ts";
import type { SqliteGroups } from "./_sqlite_groups.ts";
import { DedupeWindow, type StreamState } from "./_sqlite_stream.ts";

/** What the retention needs of its backend's open transaction. */
export interface RetentionHost {
  /** Registers the undo step of `s`'s first change in this transaction. */
  touch(s: StreamState): void;
  /** Adds a step that undoes a change of the backend's memory when the transaction rolls back. */
  onRollback(step: () => void): void;
}

/**
 * The deletions of one store.
 *
 * @example
 * ```ts
 * const retention = new SqliteRetention(db, { groups, host: { touch, onRollback } });
 * const removed = retention.trim(stream, checkTrim({ maxLen: 1000 })); // inside a write
 * ```
 */
export class SqliteRetention {
  /** What was removed since the store was opened, by cause. */
  readonly removed: RemovedCounts = { trim: 0, retention: 0, purge: 0 };
  #groups: SqliteGroups;
  #host: RetentionHost;
  #q: Record<"first" | "nth" | "ownRetention" | "delUpTo" | "delBefore" | "delAll" | "delStreamDedupe" | "countRemoved", Statement>;

  constructor(db: Database, o: { groups: SqliteGroups; host: RetentionHost }) {
    this.#groups = o.groups;
    this.#host = o.host;
    const q = (sql: string) => db.prepare(sql);
    this.#q = {
      first: q("SELECT ms, seq FROM entries WHERE stream_id = ? ORDER BY ms, seq LIMIT 1"),
      nth: q("SELECT ms, seq FROM entries WHERE stream_id = ? ORDER BY ms, seq LIMIT 1 OFFSET ?"),
      ownRetention: q("SELECT retention FROM streams WHERE id = ?"),
      delUpTo: q("DELETE FROM entries WHERE stream_id = ? AND (ms, seq) <= (?, ?)"),
      delBefore: q("DELETE FROM entries WHERE stream_id = ? AND (ms, seq) < (?, ?)"),
      delAll: q("DELETE FROM entries WHERE stream_id = ?"),
      delStreamDedupe: q("DELETE FROM dedupe WHERE stream_id = ?"),
      countRemoved: q(
        `UPDATE streams SET removed_trim = removed_trim + ?1, removed_retention = removed_retention + ?2,
         removed_purge = removed_purge + ?3, dropped_pending = dropped_pending + ?4 WHERE id = ?5`,
      ),
    };
  }

  /** The first entry id of `s`, or undefined when it has none. */
  first(s: StreamState): ParsedId | undefined {
    const r = this.#q.first.values(s.id)[0] as [number, number] | undefined;
    return r === undefined ? undefined : { ms: r[0], seq: r[1] };
  }

  /** The publisher's own bound on an add: the oldest entries go whatever their groups hold, counted under trim. */
  bound(s: StreamState, maxLen: number): void {
    const remove = s.length - maxLen;
    if (remove <= 0) return;
    const cut = this.#q.nth.values(s.id, remove - 1)[0] as [number, number] | undefined;
    if (cut === undefined) return;
    this.#host.touch(s);
    const n = this.#q.delUpTo.run(s.id, cut[0], cut[1]).changes;
    s.length -= n;
    if (n > 0) this.#count(s, { cause: "trim", n, dropped: 0 });
  }

  /** One trim of `s`: the limits' cut, held back by what groups still need under the interest policy. */
  trim(s: StreamState, t: CheckedTrim): number {
    if (s.length === 0) return 0;
    const own = (this.#q.ownRetention.values(s.id)[0] as [string | null])[0];
    const policy = t.policy ?? (own === null ? undefined : (JSON.parse(own) as Retention).policy) ?? "interest";
    const nth = (n: number) => {
      const r = this.#q.nth.values(s.id, n)[0] as [number, number] | undefined;
      return r === undefined ? undefined : { ms: r[0], seq: r[1] };
    };
    let cut = limitCut({ length: s.length, last: { ms: s.lastMs, seq: s.lastSeq }, maxLen: t.maxLen, maxAgeMs: t.maxAgeMs, now: Date.now(), nth });
    if (cut !== undefined && policy === "interest") cut = minId(cut, this.#groups.floor(s.id));
    if (cut === undefined) return 0;
    const first = this.#q.first.values(s.id)[0] as [number, number];
    const dropped = policy === "limits" ? this.#groups.pendingIn(s.id, { from: { ms: first[0], seq: first[1] }, to: cut }) : 0;
    const n = this.#q.delBefore.run(s.id, cut.ms, cut.seq).changes;
    if (n === 0) return 0;
    this.#host.touch(s);
    s.length -= n;
    this.#count(s, { cause: t.cause, n, dropped });
    return n;
  }

  /** Deletes every entry and opId of `s`; its groups stay, and what they held is counted as dropped. */
  purge(s: StreamState): number {
    const first = this.first(s);
    const dropped = first === undefined ? 0 : this.#groups.pendingIn(s.id, { from: first, to: nextId({ ms: s.lastMs, seq: s.lastSeq }) });
    this.#host.touch(s);
    const n = this.deleteRows(s.id);
    const dedupe = s.dedupe;
    s.dedupe = new DedupeWindow();
    this.#host.onRollback(() => (s.dedupe = dedupe));
    s.length = 0;
    this.#count(s, { cause: "purge", n, dropped });
    return n;
  }

  /** Deletes the entries and opIds of a stream (its groups and its row are left); returns how many entries. */
  deleteRows(streamId: number): number {
    const n = this.#q.delAll.run(streamId).changes;
    this.#q.delStreamDedupe.run(streamId);
    return n;
  }

  #count(s: StreamState, o: { cause: keyof RemovedCounts; n: number; dropped: number }): void {
    const { cause, n, dropped } = o;
    this.#q.countRemoved.run(cause === "trim" ? n : 0, cause === "retention" ? n : 0, cause === "purge" ? n : 0, dropped, s.id);
    this.removed[cause] += n;
    this.#host.onRollback(() => (this.removed[cause] -= n));
  }
}
