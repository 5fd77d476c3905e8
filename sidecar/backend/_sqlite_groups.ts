/**
 * Consumer groups of `SqliteBackend`, with the semantics of Redis 7 stream
 * groups (as `MemoryBackend`'s): a position per group (`groups`), a pending
 * entries list (`pending`, keyed by group and entry id, so it is in id order)
 * and consumers (`consumers`). Every change goes through the backend's group
 * commit; reads that find nothing to change (an empty poll, a claim with
 * nothing idle) answer without a transaction, so idle consumers cost no fsync.
 *
 * @module
 */
import type { Database, Statement } from "bun:sqlite";
import {
  checkClaim,
  checkConsumerRef,
  checkGroupIds,
  checkGroupRef,
  checkGroupStart,
  checkName,
  checkPending,
  checkReadGroup,
  checkStream,
  minId,
  nackIdleMs,
  nextId,
  parseEntryId,
} from "../../sdk/backend/args.ts";
import type {
  ClaimOptions,
  ConsumerInfo,
  ConsumerRef,
  CreateGroupOptions,
  CreateGroupResult,
  GroupEntry,
  GroupInfo,
  GroupRef,
  NackOptions,
  PendingInfo,
  PendingOptions,
  ReadGroupOptions,
} from "../../sdk/backend/types.ts";
import { ENTRY_COLUMNS, type EntryRow, rowEntry, type StreamState } from "./_sqlite_stream.ts";

/** What the groups need of their backend. */
export interface GroupsHost {
  /** The stream's state; with `create`, made (inside a transaction) when missing. */
  stream(name: string, create: boolean): StreamState | undefined;
  /** Runs `job` in the next shared transaction. */
  write<T>(job: () => T): Promise<T>;
  /** Resolves on the first commit that adds to `stream` after `after`, or after `wait.block` ms. */
  waitForAdd(stream: string, after: string, wait: { block: number; signal: AbortSignal | undefined }): Promise<unknown>;
  claimTimeoutMs: number;
  isClosed(): boolean;
}

/** An `entries` row (`ENTRY_COLUMNS`, from the pending list's side of a join, so its header columns are null once the entry was trimmed) and the delivery count. */
type JoinedRow = [number, number, string | null, string, string, string, string, string | null, number | null, Uint8Array, number];

/** The columns of a `JoinedRow`: `p` is the pending list, `e` the entries. */
const JOINED = "p.ms, p.seq, e.id, e.op_id, e.type, e.sender, e.receiver, e.tier, e.expires_at, e.msg, p.deliveries";

function joinedEntry(r: JoinedRow, deliveries: number): GroupEntry {
  const e = rowEntry(r as unknown as EntryRow) as GroupEntry;
  e.deliveries = deliveries;
  return e;
}

const PAGE = 500;

/** The consumer groups of one store. */
export class SqliteGroups {
  #host: GroupsHost;
  #q: Record<
    | "group" | "insGroup" | "updGroup" | "after" | "hasAfter" | "insPending" | "delPending" | "pendingOf"
    | "touchPending" | "entryExists" | "seen" | "idle" | "hasIdle" | "claimTo" | "listPending" | "groupsOf"
    | "consumersOf" | "countsOf" | "delConsumerPending" | "delConsumer" | "lagOf" | "firstPending" | "pendingIn"
    | "delStreamPending" | "delStreamConsumers" | "delStreamGroups",
    Statement
  >;

  constructor(db: Database, host: GroupsHost) {
    this.#host = host;
    const q = (sql: string) => db.prepare(sql);
    this.#q = {
      group: q("SELECT id, last_ms, last_seq FROM groups WHERE stream_id = ? AND name = ?"),
      insGroup: q("INSERT INTO groups (stream_id, name, last_ms, last_seq) VALUES (?, ?, ?, ?)"),
      updGroup: q("UPDATE groups SET last_ms = ?, last_seq = ? WHERE id = ?"),
      after: q(`SELECT ${ENTRY_COLUMNS}, 1 FROM entries WHERE stream_id = ? AND (ms, seq) > (?, ?) ORDER BY ms, seq LIMIT ?`),
      hasAfter: q("SELECT 1 FROM entries WHERE stream_id = ? AND (ms, seq) > (?, ?) LIMIT 1"),
      insPending: q("INSERT OR REPLACE INTO pending (group_id, ms, seq, consumer, delivered_at, deliveries) VALUES (?, ?, ?, ?, ?, 1)"),
      delPending: q("DELETE FROM pending WHERE group_id = ? AND ms = ? AND seq = ?"),
      pendingOf: q("SELECT consumer FROM pending WHERE group_id = ? AND ms = ? AND seq = ?"),
      touchPending: q("UPDATE pending SET delivered_at = ? WHERE group_id = ? AND ms = ? AND seq = ?"),
      entryExists: q("SELECT 1 FROM entries WHERE stream_id = ? AND ms = ? AND seq = ?"),
      seen: q("INSERT INTO consumers (group_id, name, seen_at) VALUES (?, ?, ?) ON CONFLICT (group_id, name) DO UPDATE SET seen_at = excluded.seen_at"),
      idle: q(
        `SELECT ${JOINED} FROM pending p LEFT JOIN entries e ON e.stream_id = ? AND e.ms = p.ms AND e.seq = p.seq
         WHERE p.group_id = ? AND (p.ms, p.seq) > (?, ?) AND p.delivered_at <= ? ORDER BY p.ms, p.seq LIMIT ?`,
      ),
      hasIdle: q("SELECT 1 FROM pending WHERE group_id = ? AND delivered_at <= ? LIMIT 1"),
      claimTo: q("UPDATE pending SET consumer = ?, delivered_at = ?, deliveries = deliveries + 1 WHERE group_id = ? AND ms = ? AND seq = ?"),
      listPending: q(
        `SELECT ms, seq, consumer, delivered_at, deliveries FROM pending
         WHERE group_id = ?1 AND (?2 IS NULL OR consumer = ?2) AND delivered_at <= ?3 ORDER BY ms, seq LIMIT ?4`,
      ),
      groupsOf: q("SELECT id, name, last_ms, last_seq FROM groups WHERE stream_id = ? ORDER BY name"),
      consumersOf: q("SELECT name, seen_at FROM consumers WHERE group_id = ? ORDER BY name"),
      countsOf: q("SELECT consumer, count(*) FROM pending WHERE group_id = ? GROUP BY consumer"),
      delConsumerPending: q("DELETE FROM pending WHERE group_id = ? AND consumer = ?"),
      delConsumer: q("DELETE FROM consumers WHERE group_id = ? AND name = ?"),
      lagOf: q("SELECT count(*) FROM entries WHERE stream_id = ? AND (ms, seq) > (?, ?)"),
      firstPending: q("SELECT ms, seq FROM pending WHERE group_id = ? ORDER BY ms, seq LIMIT 1"),
      pendingIn: q("SELECT count(*) FROM pending WHERE group_id IN (SELECT id FROM groups WHERE stream_id = ?) AND (ms, seq) >= (?, ?) AND (ms, seq) < (?, ?)"),
      delStreamPending: q("DELETE FROM pending WHERE group_id IN (SELECT id FROM groups WHERE stream_id = ?)"),
      delStreamConsumers: q("DELETE FROM consumers WHERE group_id IN (SELECT id FROM groups WHERE stream_id = ?)"),
      delStreamGroups: q("DELETE FROM groups WHERE stream_id = ?"),
    };
  }

  /** `createGroup`: idempotent; makes the stream. */
  create(ref: GroupRef, options?: CreateGroupOptions): Promise<CreateGroupResult> {
    checkGroupRef(ref);
    const from = checkGroupStart(options?.from);
    return this.#host.write(() => {
      const s = this.#host.stream(ref.stream, true)!;
      if (this.#q.group.values(s.id, ref.group).length > 0) return { created: false };
      const p = from === "$" ? { ms: s.lastMs, seq: s.lastSeq } : parseEntryId(from);
      this.#q.insGroup.run(s.id, ref.group, p.ms, p.seq);
      return { created: true };
    });
  }

  /** `readGroup`: new entries for `ref.consumer`; waits up to `block` ms for them. */
  async read(ref: ConsumerRef, options?: ReadGroupOptions): Promise<GroupEntry[]> {
    const { stream, group } = ref;
    const { count, block, signal, deadline } = checkReadGroup(ref, options);
    for (;;) {
      if (this.#host.isClosed()) return [];
      let position = this.#idlePosition(stream, group);
      if (position === undefined) {
        const got = await this.#host.write(() => this.#deliver(ref, count));
        if (got.entries.length > 0 || block === undefined) return got.entries;
        position = got.position;
      } else if (block === undefined) {
        return [];
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return [];
      await this.#host.waitForAdd(stream, position, { block: left, signal });
    }
  }

  /** The group's position when it exists and has nothing new to deliver (so no write is needed). */
  #idlePosition(stream: string, group: string): string | undefined {
    const s = this.#host.stream(stream, false);
    if (s === undefined) return undefined;
    const g = this.#q.group.values(s.id, group)[0] as [number, number, number] | undefined;
    if (g === undefined) return undefined;
    if (this.#q.hasAfter.values(s.id, g[1], g[2]).length > 0) return undefined;
    return `${g[1]}-${g[2]}`;
  }

  /** `XREADGROUP ... >` inside a transaction; a missing group is made from "0", as after Redis lost it. */
  #deliver(ref: ConsumerRef, count: number): { entries: GroupEntry[]; position: string } {
    const q = this.#q;
    const s = this.#host.stream(ref.stream, true)!;
    let g = q.group.values(s.id, ref.group)[0] as [number, number, number] | undefined;
    if (g === undefined) {
      const id = Number(q.insGroup.run(s.id, ref.group, 0, 0).lastInsertRowid);
      g = [id, 0, 0];
    }
    const [gid] = g;
    const rows = q.after.values(s.id, g[1], g[2], count) as unknown as JoinedRow[];
    if (rows.length === 0) return { entries: [], position: `${g[1]}-${g[2]}` };
    const now = Date.now();
    const entries: GroupEntry[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      q.insPending.run(gid, r[0], r[1], ref.consumer, now);
      entries[i] = joinedEntry(r, 1);
    }
    const last = rows[rows.length - 1]!;
    q.updGroup.run(last[0], last[1], gid);
    q.seen.run(gid, ref.consumer, now);
    return { entries, position: `${last[0]}-${last[1]}` };
  }

  /** `XACK`: how many of `entryIds` were pending. */
  ack(ref: GroupRef, entryIds: readonly string[]): Promise<number> {
    const ids = this.#checkIds(ref, entryIds);
    return this.#host.write(() => {
      const gid = this.#groupId(ref);
      if (gid === undefined) return 0;
      let n = 0;
      for (const { ms, seq } of ids) n += this.#q.delPending.run(gid, ms, seq).changes;
      return n;
    });
  }

  /** `nack`: entries `ref.consumer` holds become claimable after `delayMs`. */
  nack(ref: ConsumerRef, options: NackOptions): Promise<number> {
    const ids = this.#checkIds(ref, options.entryIds);
    checkName("consumer", ref.consumer);
    const idleMs = nackIdleMs(options, this.#host.claimTimeoutMs);
    return this.#host.write(() => this.#touch(ref, ids, idleMs));
  }

  /** `extend`: resets the idle time of entries `ref.consumer` holds. */
  extend(ref: ConsumerRef, entryIds: readonly string[]): Promise<number> {
    const ids = this.#checkIds(ref, entryIds);
    checkName("consumer", ref.consumer);
    return this.#host.write(() => this.#touch(ref, ids, 0));
  }

  /** As `XCLAIM ... IDLE <idleMs> JUSTID`: moves idle time, not the delivery count; trimmed entries leave the PEL. */
  #touch(ref: ConsumerRef, ids: readonly { ms: number; seq: number }[], idleMs: number): number {
    const q = this.#q;
    const s = this.#host.stream(ref.stream, false);
    const gid = this.#groupId(ref);
    if (s === undefined || gid === undefined) return 0;
    const now = Date.now();
    let n = 0;
    for (const { ms, seq } of ids) {
      const p = q.pendingOf.values(gid, ms, seq)[0] as [string] | undefined;
      if (p === undefined || p[0] !== ref.consumer) continue;
      if (q.entryExists.values(s.id, ms, seq).length === 0) {
        q.delPending.run(gid, ms, seq);
        continue;
      }
      q.touchPending.run(now - idleMs, gid, ms, seq);
      n++;
    }
    if (n > 0) q.seen.run(gid, ref.consumer, now);
    return n;
  }

  /** `XAUTOCLAIM` from the start of the PEL until `count` entries are claimed. */
  async claim(ref: ConsumerRef, options?: ClaimOptions): Promise<GroupEntry[]> {
    const { minIdleMs, count } = checkClaim(ref, { options, claimTimeoutMs: this.#host.claimTimeoutMs });
    const gid = this.#groupId(ref);
    if (gid === undefined || this.#q.hasIdle.values(gid, Date.now() - minIdleMs).length === 0) return [];
    return await this.#host.write(() => this.#claimNow(ref, { minIdleMs, count }));
  }

  #claimNow(ref: ConsumerRef, o: { minIdleMs: number; count: number }): GroupEntry[] {
    const q = this.#q;
    const s = this.#host.stream(ref.stream, false);
    const gid = this.#groupId(ref);
    if (s === undefined || gid === undefined) return [];
    const now = Date.now();
    const out: GroupEntry[] = [];
    let after = [-1, 0];
    while (out.length < o.count) {
      const rows = q.idle.values(s.id, gid, after[0]!, after[1]!, now - o.minIdleMs, PAGE) as unknown as JoinedRow[];
      for (const r of rows) {
        if (out.length >= o.count) break;
        if (r[2] === null) {
          q.delPending.run(gid, r[0], r[1]); // trimmed: it leaves the PEL
          continue;
        }
        q.claimTo.run(ref.consumer, now, gid, r[0], r[1]);
        out.push(joinedEntry(r, r[10] + 1));
      }
      if (rows.length < PAGE) break;
      const last = rows[rows.length - 1]!;
      after = [last[0], last[1]];
    }
    if (out.length > 0) q.seen.run(gid, ref.consumer, now);
    return out;
  }

  /** `XPENDING` extended form, oldest id first. */
  pending(ref: GroupRef, options?: PendingOptions): PendingInfo[] {
    const { consumer, minIdleMs, count } = checkPending(ref, options);
    const gid = this.#groupId(ref);
    if (gid === undefined) return [];
    const now = Date.now();
    const rows = this.#q.listPending.values(gid, consumer ?? null, now - minIdleMs, count) as [number, number, string, number, number][];
    return rows.map(([ms, seq, consumer, at, deliveries]) => ({ entryId: `${ms}-${seq}`, consumer, idleMs: Math.max(0, now - at), deliveries }));
  }

  /** `XINFO GROUPS` and `XINFO CONSUMERS` of `stream`. */
  info(stream: string): GroupInfo[] {
    checkStream(stream);
    const s = this.#host.stream(stream, false);
    if (s === undefined) return [];
    const now = Date.now();
    const groups = this.#q.groupsOf.values(s.id) as [number, string, number, number][];
    return groups.map(([gid, name, lastMs, lastSeq]) => {
      const counts = new Map(this.#q.countsOf.values(gid) as [string, number][]);
      const consumers: ConsumerInfo[] = (this.#q.consumersOf.values(gid) as [string, number][]).map(([cname, seenAt]) => ({
        name: cname,
        pending: counts.get(cname) ?? 0,
        idleMs: Math.max(0, now - seenAt),
      }));
      let pending = 0;
      for (const c of counts.values()) pending += c;
      const lag = (this.#q.lagOf.values(s.id, lastMs, lastSeq)[0] as [number])[0];
      return { name, consumers, pending, lastDeliveredId: `${lastMs}-${lastSeq}`, lag };
    });
  }

  /**
   * The first entry id some group of the stream still needs (its oldest
   * pending entry, or the entry after its position), or undefined when the
   * stream has no groups: what an interest trim stops at.
   */
  floor(streamId: number): { ms: number; seq: number } | undefined {
    let floor: { ms: number; seq: number } | undefined;
    for (const [gid, , lastMs, lastSeq] of this.#q.groupsOf.values(streamId) as [number, string, number, number][]) {
      const p = this.#q.firstPending.values(gid)[0] as [number, number] | undefined;
      floor = minId(floor, nextId({ ms: lastMs, seq: lastSeq }));
      if (p !== undefined) floor = minId(floor, { ms: p[0], seq: p[1] });
    }
    return floor;
  }

  /** Pending entries (over the stream's groups) from `from` (inclusive) to `to` (exclusive): those a trim of that range drops. */
  pendingIn(streamId: number, range: { from: { ms: number; seq: number }; to: { ms: number; seq: number } }): number {
    const { from, to } = range;
    return (this.#q.pendingIn.values(streamId, from.ms, from.seq, to.ms, to.seq)[0] as [number])[0];
  }

  /** Deletes every group of the stream with its consumers and pending lists (inside a write). */
  deleteAll(streamId: number): void {
    this.#q.delStreamPending.run(streamId);
    this.#q.delStreamConsumers.run(streamId);
    this.#q.delStreamGroups.run(streamId);
  }

  /** `XGROUP DELCONSUMER`: drops the consumer and its PEL entries; returns how many it held. */
  deleteConsumer(ref: ConsumerRef): Promise<number> {
    checkConsumerRef(ref);
    return this.#host.write(() => {
      const gid = this.#groupId(ref);
      if (gid === undefined) return 0;
      const held = this.#q.delConsumerPending.run(gid, ref.consumer).changes;
      return this.#q.delConsumer.run(gid, ref.consumer).changes > 0 ? held : 0;
    });
  }

  #groupId(ref: GroupRef): number | undefined {
    const s = this.#host.stream(ref.stream, false);
    if (s === undefined) return undefined;
    const g = this.#q.group.values(s.id, ref.group)[0] as [number] | undefined;
    return g?.[0];
  }

  #checkIds(ref: GroupRef, entryIds: readonly string[]): { ms: number; seq: number }[] {
    return checkGroupIds(ref, entryIds).map(parseEntryId);
  }
}
