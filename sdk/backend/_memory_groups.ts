/**
 * Consumer groups of `MemoryBackend`, with the semantics of Redis 7 stream
 * groups: a position, a pending entries list (PEL) and consumers. The PEL is
 * a Map in entry-id order (reads only ever move the position forward, so
 * insertion order is id order), which makes ack O(1) and claim a scan from
 * the oldest entry, as `XAUTOCLAIM` from `0-0` is. No timers: idle times are
 * computed from delivery timestamps when asked.
 *
 * @module
 */
import type { MemStream } from "./_memory_stream.ts";
import type { ConsumerInfo, GroupEntry, GroupInfo, PendingInfo, StreamEntry } from "./types.ts";

/** One PEL slot. */
interface Pending {
  ms: number;
  seq: number;
  consumer: string;
  /** When it was last delivered or claimed (ms since the epoch); nack and extend move it. */
  deliveredAt: number;
  deliveries: number;
}

interface Consumer {
  /** When it last received entries (as Redis 7.0's seen-time). */
  seenAt: number;
  pending: number;
}

/** What `pending()` filters by. */
export interface PendingFilter {
  consumer: string | undefined;
  minIdleMs: number;
  count: number;
}

function delivered(e: StreamEntry, deliveries: number): GroupEntry {
  return { entryId: e.entryId, headers: e.headers, msg: e.msg, deliveries };
}

/** What `MemGroup.deliver()` hands out, to whom. */
export interface DeliverRequest {
  consumer: string;
  count: number;
  now: number;
}

/** What `MemGroup.touch()` changes: `ids` that `consumer` holds get idle time `idleMs`. */
export interface TouchRequest {
  consumer: string;
  ids: readonly string[];
  idleMs: number;
  now: number;
}

/** What `MemGroup.claim()` moves, to whom. */
export interface ClaimRequest {
  consumer: string;
  minIdleMs: number;
  count: number;
  now: number;
}

/** One consumer group of one stream. */
export class MemGroup {
  /** Position: the id of the last entry delivered. */
  lastMs: number;
  lastSeq: number;
  #pel = new Map<string, Pending>();
  #consumers = new Map<string, Consumer>();

  constructor(ms: number, seq: number) {
    this.lastMs = ms;
    this.lastSeq = seq;
  }

  /** `XREADGROUP ... >`: up to `count` entries after the position, into the PEL. */
  deliver(s: MemStream, r: DeliverRequest): GroupEntry[] {
    const { consumer, count, now } = r;
    const from = s.indexAfter(this.lastMs, this.lastSeq);
    const end = Math.min(from + count, s.entries.length);
    if (from >= end) return [];
    const c = this.#consumer(consumer, now);
    const out: GroupEntry[] = new Array(end - from);
    for (let i = from; i < end; i++) {
      const e = s.entries[i]!;
      this.#pel.set(e.entryId, { ms: s.ms[i]!, seq: s.seq[i]!, consumer, deliveredAt: now, deliveries: 1 });
      out[i - from] = delivered(e, 1);
    }
    c.pending += end - from;
    this.lastMs = s.ms[end - 1]!;
    this.lastSeq = s.seq[end - 1]!;
    return out;
  }

  /** `XACK`: how many of `ids` were pending. */
  ack(ids: readonly string[]): number {
    let n = 0;
    for (const id of ids) {
      const p = this.#pel.get(id);
      if (p === undefined) continue;
      this.#drop(id, p);
      n++;
    }
    return n;
  }

  /**
   * nack and extend: entries `consumer` holds get idle time `idleMs` (as
   * `XCLAIM ... IDLE <idleMs> JUSTID`, which leaves the delivery count alone).
   * Trimmed entries leave the PEL, as XCLAIM drops them on Redis 7.
   */
  touch(s: MemStream, r: TouchRequest): number {
    const { consumer, ids, idleMs, now } = r;
    let n = 0;
    for (const id of ids) {
      const p = this.#pel.get(id);
      if (p === undefined || p.consumer !== consumer) continue;
      if (s.entryAt(p.ms, p.seq) === undefined) {
        this.#drop(id, p);
        continue;
      }
      p.deliveredAt = now - idleMs;
      n++;
    }
    if (n > 0) this.#consumer(consumer, now);
    return n;
  }

  /** `XAUTOCLAIM` from the start of the PEL until `count` entries are claimed. */
  claim(s: MemStream, r: ClaimRequest): GroupEntry[] {
    const { consumer, minIdleMs, count, now } = r;
    const out: GroupEntry[] = [];
    let c: Consumer | undefined;
    for (const [id, p] of this.#pel) {
      if (out.length >= count) break;
      const e = s.entryAt(p.ms, p.seq);
      if (e === undefined) {
        this.#drop(id, p); // deleting the current key while iterating a Map is safe
        continue;
      }
      if (now - p.deliveredAt < minIdleMs) continue;
      c ??= this.#consumer(consumer, now);
      if (p.consumer !== consumer) {
        this.#consumers.get(p.consumer)!.pending--;
        c.pending++;
        p.consumer = consumer;
      }
      p.deliveredAt = now;
      p.deliveries++;
      out.push(delivered(e, p.deliveries));
    }
    return out;
  }

  /** `XPENDING` extended form, oldest id first. */
  pending(filter: PendingFilter, now: number): PendingInfo[] {
    const out: PendingInfo[] = [];
    for (const [entryId, p] of this.#pel) {
      if (out.length >= filter.count) break;
      if (filter.consumer !== undefined && p.consumer !== filter.consumer) continue;
      const idleMs = Math.max(0, now - p.deliveredAt);
      if (idleMs < filter.minIdleMs) continue;
      out.push({ entryId, consumer: p.consumer, idleMs, deliveries: p.deliveries });
    }
    return out;
  }

  /** The oldest pending entry's id, if any (the PEL is in id order). */
  firstPending(): { ms: number; seq: number } | undefined {
    for (const p of this.#pel.values()) return { ms: p.ms, seq: p.seq };
    return undefined;
  }

  /** How many pending entries lie from `from` (inclusive) to `to` (exclusive): those a trim of that range drops. */
  pendingIn(from: { ms: number; seq: number }, to: { ms: number; seq: number }): number {
    let n = 0;
    for (const p of this.#pel.values()) {
      if (p.ms > to.ms || (p.ms === to.ms && p.seq >= to.seq)) break;
      if (p.ms > from.ms || (p.ms === from.ms && p.seq >= from.seq)) n++;
    }
    return n;
  }

  /** Entries of `s` after the position: not yet delivered to the group (Redis 7's lag). */
  lag(s: MemStream | undefined): number {
    return s === undefined ? 0 : s.entries.length - s.indexAfter(this.lastMs, this.lastSeq);
  }

  /** `XINFO GROUPS` and `XINFO CONSUMERS` for this group. */
  info(name: string, now: number, s?: MemStream): GroupInfo {
    const consumers: ConsumerInfo[] = [];
    for (const [cname, c] of this.#consumers) {
      consumers.push({ name: cname, pending: c.pending, idleMs: Math.max(0, now - c.seenAt) });
    }
    consumers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { name, consumers, pending: this.#pel.size, lastDeliveredId: `${this.lastMs}-${this.lastSeq}`, lag: this.lag(s) };
  }

  /** `XGROUP DELCONSUMER`: drops the consumer and its PEL entries; returns how many it held. */
  deleteConsumer(consumer: string): number {
    const c = this.#consumers.get(consumer);
    if (c === undefined) return 0;
    const held = c.pending;
    if (held > 0) {
      for (const [id, p] of this.#pel) if (p.consumer === consumer) this.#pel.delete(id);
    }
    this.#consumers.delete(consumer);
    return held;
  }

  #consumer(name: string, now: number): Consumer {
    let c = this.#consumers.get(name);
    if (c === undefined) {
      c = { seenAt: now, pending: 0 };
      this.#consumers.set(name, c);
    } else {
      c.seenAt = now;
    }
    return c;
  }

  #drop(id: string, p: Pending): void {
    this.#pel.delete(id);
    this.#consumers.get(p.consumer)!.pending--;
  }
}
