/**
 * The contract every `StreamBackend` passes: the specification of the
 * semantics in `sidecar/backend/types.ts`. A backend's test file calls
 * `backendContract()` once; backend-specific behaviour is tested beside it.
 *
 * @example
 * ```ts
 * backendContract("MemoryBackend", (o) => Promise.resolve(new MemoryBackend(o)));
 * ```
 *
 * @module
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BackendArgumentError, BackendUnavailableError } from "../../sdk/backend/types.ts";
import { RetentionSweeper } from "../../sdk/backend/retention.ts";
import type { EntryHeaders, NewEntry, StreamBackend, StreamBatch } from "../../sdk/backend/types.ts";

/** Makes a fresh backend; `dedupeWindowMs` and `claimTimeoutMs` must be honoured. */
export type MakeBackend = (options: { dedupeWindowMs?: number; claimTimeoutMs?: number }) => Promise<StreamBackend>;

/** Options of `backendContract()`. */
export interface ContractOptions {
  /** When set, the suite is registered as skipped and this reason is printed. */
  skip?: string;
}

let seq = 0;
/** A stream name no other test uses. */
export function freshStream(tag: string): string {
  return `t-${tag}-${process.pid}-${Date.now().toString(36)}-${seq++}`;
}

/** A small entry with a unique opId; `n` goes into the message bytes. */
export function makeEntry(n: number, headers: Partial<EntryHeaders> = {}): NewEntry {
  const msg = new Uint8Array(8);
  new DataView(msg.buffer).setFloat64(0, n);
  return {
    headers: {
      id: `msg-${n}-${crypto.randomUUID()}`,
      opId: crypto.randomUUID(),
      type: "task",
      sender: "alice",
      receiver: "bob",
      ...headers,
    },
    msg,
  };
}

/** The number `makeEntry()` put into an entry's message bytes. */
export function numberOf(e: { msg: Uint8Array }): number {
  return new DataView(e.msg.buffer, e.msg.byteOffset, e.msg.byteLength).getFloat64(0);
}

function idParts(id: string): [bigint, bigint] {
  const m = /^(\d+)-(\d+)$/.exec(id);
  if (m === null) throw new Error(`not an ms-seq id: ${id}`);
  return [BigInt(m[1]!), BigInt(m[2]!)];
}

/** True when entry id `a` sorts strictly before `b`. */
export function idLess(a: string, b: string): boolean {
  const [am, as] = idParts(a);
  const [bm, bs] = idParts(b);
  return am < bm || (am === bm && as < bs);
}

function ms(since: number): number {
  return performance.now() - since;
}

/** Resolves after `n` milliseconds. */
export const sleep = (n: number): Promise<void> => new Promise((r) => setTimeout(r, n));

/** Registers the contract suite for one backend. */
export function backendContract(name: string, makeBackend: MakeBackend, opts: ContractOptions = {}): void {
  if (opts.skip !== undefined) {
    console.log(`[skip] ${name} contract: ${opts.skip}`);
    describe.skip(`${name} contract`, () => test("skipped", () => {}));
    return;
  }
  describe(`${name} contract`, () => {
    let b: StreamBackend;
    beforeAll(async () => {
      b = await makeBackend({});
    });
    afterAll(async () => {
      await b.close();
    });

    test("add returns ms-seq ids, strictly increasing", async () => {
      const s = freshStream("ids");
      const before = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) ids.push((await b.add(s, makeEntry(i))).entryId);
      const burst = await Promise.all(Array.from({ length: 500 }, (_, i) => b.add(s, makeEntry(200 + i))));
      for (const r of burst) {
        expect(r.duplicate).toBe(false);
        ids.push(r.entryId);
      }
      for (const id of ids) expect(id).toMatch(/^\d+-\d+$/);
      for (let i = 1; i < ids.length; i++) expect(idLess(ids[i - 1]!, ids[i]!)).toBe(true);
      const firstMs = Number(idParts(ids[0]!)[0]);
      expect(firstMs).toBeGreaterThanOrEqual(before - 1000);
      expect(firstMs).toBeLessThanOrEqual(Date.now() + 1000);
      const back = await b.read([{ stream: s, after: "0" }], { count: 1000 });
      expect(back[0]!.entries.map((e) => e.entryId)).toEqual(ids);
      expect(back[0]!.entries.map(numberOf)).toEqual(ids.map((_, i) => i));
    });

    test("read from several streams with 0, $, explicit ids and count", async () => {
      const s1 = freshStream("r1");
      const s2 = freshStream("r2");
      const empty = freshStream("none");
      const ids1: string[] = [];
      for (let i = 0; i < 10; i++) ids1.push((await b.add(s1, makeEntry(i))).entryId);
      const ids2: string[] = [];
      for (let i = 0; i < 5; i++) ids2.push((await b.add(s2, makeEntry(100 + i))).entryId);

      const all = await b.read([
        { stream: s1, after: "0" },
        { stream: s2, after: ids2[2]! },
        { stream: empty, after: "0" },
      ]);
      expect(all.map((x) => x.stream)).toEqual([s1, s2]);
      expect(all[0]!.entries.map((e) => e.entryId)).toEqual(ids1);
      expect(all[1]!.entries.map(numberOf)).toEqual([103, 104]);

      const counted = await b.read([{ stream: s1, after: ids1[3]! }, { stream: s2, after: "0" }], { count: 2 });
      expect(counted[0]!.entries.map(numberOf)).toEqual([4, 5]);
      expect(counted[1]!.entries.map(numberOf)).toEqual([100, 101]);

      // "$" without block: only entries added after the call, so none.
      expect(await b.read([{ stream: s1, after: "$" }])).toEqual([]);
      // After the last id: nothing.
      expect(await b.read([{ stream: s1, after: ids1[9]! }])).toEqual([]);
      // An id between entries, in the short "<ms>" form: everything after <ms>-0.
      const lastMs = idParts(ids1[9]!)[0];
      const tail = await b.read([{ stream: s1, after: `${lastMs + 1n}` }]);
      expect(tail).toEqual([]);
      const fromMs = await b.read([{ stream: s1, after: `${idParts(ids1[0]!)[0] - 1n}` }]);
      expect(fromMs[0]!.entries.length).toBe(10);
    });

    test("read returns headers and bytes as added", async () => {
      const s = freshStream("hdr");
      const e1 = makeEntry(1, { tier: "gold" });
      const e2 = makeEntry(2);
      const r1 = await b.add(s, e1);
      const r2 = await b.add(s, e2);
      const [batch] = await b.read([{ stream: s, after: "0" }]);
      expect(batch!.entries).toEqual([
        { entryId: r1.entryId, headers: e1.headers, msg: e1.msg },
        { entryId: r2.entryId, headers: e2.headers, msg: e2.msg },
      ]);
      expect("tier" in batch!.entries[1]!.headers).toBe(false);
    });

    test("unicode headers round-trip", async () => {
      const s = freshStream("uni");
      const headers: EntryHeaders = {
        id: "ид-🆔-1",
        opId: `op-${crypto.randomUUID()}-Ω`,
        type: "задача.🚀",
        sender: "agent-ü-日本",
        receiver: "broadcast",
        tier: "platinum",
      };
      await b.add(s, { headers, msg: new Uint8Array([1]) });
      const [batch] = await b.read([{ stream: s, after: "0" }]);
      expect(batch!.entries[0]!.headers).toEqual(headers);
    });

    test("bytes round-trip exactly: all 256 values, a view with an offset, 1 MiB", async () => {
      const s = freshStream("bin");
      const all = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) & 255);
      const backing = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
      const view = backing.subarray(10, 30);
      const big = new Uint8Array(1 << 20);
      for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
      const empty = new Uint8Array(0);
      for (const msg of [all, view, big, empty]) await b.add(s, { headers: makeEntry(0).headers, msg });
      const [batch] = await b.read([{ stream: s, after: "0" }]);
      const got = batch!.entries.map((e) => e.msg);
      expect(got.length).toBe(4);
      for (const m of got) expect(m).toBeInstanceOf(Uint8Array);
      expect(new Set(got[0]).size).toBe(256);
      expect(Array.from(got[0]!)).toEqual(Array.from(all));
      expect(Array.from(got[1]!)).toEqual(Array.from(view));
      expect(got[2]!.byteLength).toBe(big.byteLength);
      expect(Buffer.compare(Buffer.from(got[2]!), Buffer.from(big))).toBe(0);
      expect(got[3]!.byteLength).toBe(0);
    });

    test("blocking read wakes on a new entry", async () => {
      const s = freshStream("wake");
      await b.add(s, makeEntry(0)); // present before the read: "$" must not return it
      const t0 = performance.now();
      let addedAt = Infinity;
      const pending = b.read([{ stream: s, after: "$" }], { block: 10_000 });
      let settled = false;
      void pending.then(() => (settled = true));
      await sleep(80);
      expect(settled).toBe(false);
      addedAt = ms(t0);
      const { entryId } = await b.add(s, makeEntry(1));
      const got = await pending;
      const doneAt = ms(t0);
      expect(got.length).toBe(1);
      expect(got[0]!.entries.map((e) => e.entryId)).toEqual([entryId]);
      expect(doneAt).toBeGreaterThanOrEqual(addedAt);
      expect(doneAt).toBeLessThan(5_000);
    });

    test("blocking read returns at once when entries are already there", async () => {
      const s = freshStream("ready");
      await b.add(s, makeEntry(7));
      const t0 = performance.now();
      const got = await b.read([{ stream: s, after: "0" }], { block: 10_000 });
      expect(got[0]!.entries.map(numberOf)).toEqual([7]);
      expect(ms(t0)).toBeLessThan(5_000);
    });

    test("blocking read on several streams wakes on any of them", async () => {
      const s1 = freshStream("m1");
      const s2 = freshStream("m2");
      const pending = b.read([{ stream: s1, after: "$" }, { stream: s2, after: "0" }], { block: 10_000 });
      await sleep(30);
      await b.add(s2, makeEntry(42));
      const got = await pending;
      expect(got.map((x) => x.stream)).toEqual([s2]);
      expect(got[0]!.entries.map(numberOf)).toEqual([42]);
    });

    test("blocking read times out cleanly with no entries", async () => {
      const s = freshStream("timeout");
      const t0 = performance.now();
      const got = await b.read([{ stream: s, after: "$" }], { block: 200 });
      expect(got).toEqual([]);
      expect(ms(t0)).toBeGreaterThanOrEqual(150);
      expect(ms(t0)).toBeLessThan(5_000);
      // An entry added after the timeout is not lost for a later read.
      await b.add(s, makeEntry(3));
      expect((await b.read([{ stream: s, after: "0" }]))[0]!.entries.map(numberOf)).toEqual([3]);
    });

    test("an abort signal ends a blocked read early with no entries", async () => {
      const s = freshStream("abort");
      const ac = new AbortController();
      const t0 = performance.now();
      const pending = b.read([{ stream: s, after: "$" }], { block: 30_000, signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      expect(await pending).toEqual([]);
      expect(ms(t0)).toBeLessThan(5_000);
      const pre = new AbortController();
      pre.abort();
      expect(await b.read([{ stream: s, after: "$" }], { block: 30_000, signal: pre.signal })).toEqual([]);
      // The backend still serves blocked reads afterwards.
      const next = b.read([{ stream: s, after: "$" }], { block: 10_000 });
      await sleep(20);
      await b.add(s, makeEntry(5));
      expect((await next)[0]!.entries.map(numberOf)).toEqual([5]);
    });

    test("many concurrent blocked readers are all woken", async () => {
      const s = freshStream("many");
      const other = freshStream("many-other");
      const readers: Promise<StreamBatch[]>[] = [];
      for (let i = 0; i < 200; i++) {
        const cursors = i % 4 === 0 ? [{ stream: other, after: "$" }] : [{ stream: s, after: "$" }];
        readers.push(b.read(cursors, { block: 15_000 }));
      }
      await sleep(100);
      const r1 = await b.add(s, makeEntry(1));
      const r2 = await b.add(other, makeEntry(2));
      const t0 = performance.now();
      const results = await Promise.all(readers);
      expect(ms(t0)).toBeLessThan(10_000);
      results.forEach((got, i) => {
        expect(got.length).toBe(1);
        expect(got[0]!.entries[0]!.entryId).toBe(i % 4 === 0 ? r2.entryId : r1.entryId);
      });
    });

    test("trim exact keeps the newest maxLen entries", async () => {
      const s = freshStream("trim");
      const ids: string[] = [];
      for (let i = 0; i < 50; i++) ids.push((await b.add(s, makeEntry(i))).entryId);
      expect(await b.trim(s, { maxLen: 10 })).toBe(40);
      expect(await b.info(s)).toMatchObject({ stream: s, length: 10, firstEntryId: ids[40]!, lastEntryId: ids[49]! });
      const [batch] = await b.read([{ stream: s, after: "0" }]);
      expect(batch!.entries.map(numberOf)).toEqual([40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
      expect(await b.trim(s, { maxLen: 10 })).toBe(0);
      expect(await b.trim(freshStream("nope"), { maxLen: 1 })).toBe(0);
      expect(await b.trim(s, { maxLen: 0 })).toBe(10);
      expect(await b.info(s)).toMatchObject({ stream: s, length: 0, firstEntryId: null, lastEntryId: null, removed: { trim: 50, retention: 0, purge: 0 } });
      const { entryId } = await b.add(s, makeEntry(99));
      expect(idLess(ids[49]!, entryId)).toBe(true);
    });

    test("trim approximate never keeps fewer than maxLen", async () => {
      const s = freshStream("approx");
      const n = 500;
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push((await b.add(s, makeEntry(i))).entryId);
      const removed = await b.trim(s, { maxLen: 10, approximate: true });
      const info = await b.info(s);
      expect(info.length).toBeGreaterThanOrEqual(10);
      expect(removed).toBe(n - info.length);
      expect(info.lastEntryId).toBe(ids[n - 1]!);
      expect(info.firstEntryId).toBe(ids[n - info.length]!);
    });

    test("add with maxLen trims while adding, never below maxLen", async () => {
      const s = freshStream("addmax");
      const n = 600;
      let last = "";
      for (let i = 0; i < n; i++) last = (await b.add(s, makeEntry(i), { maxLen: 20 })).entryId;
      const info = await b.info(s);
      expect(info.length).toBeGreaterThanOrEqual(20);
      expect(info.length).toBeLessThan(n);
      expect(info.lastEntryId).toBe(last);
      // What the adds' maxLen removed is counted, not silently gone.
      expect(info.removed?.trim).toBe(n - info.length);
    });

    test("info reports length and first/last ids; 0 and nulls for a missing stream", async () => {
      const s = freshStream("info");
      expect(await b.info(s)).toMatchObject({ stream: s, length: 0, firstEntryId: null, lastEntryId: null });
      const a = await b.add(s, makeEntry(1));
      const c = await b.add(s, makeEntry(2));
      const z = await b.add(s, makeEntry(3));
      expect(idLess(a.entryId, c.entryId)).toBe(true);
      expect(await b.info(s)).toEqual({
        stream: s, length: 3, firstEntryId: a.entryId, lastEntryId: z.entryId, removed: { trim: 0, retention: 0, purge: 0 }, droppedPending: 0,
      });
    });

    test("trim by age removes entries older than maxAgeMs (by entry id time), counted under its cause", async () => {
      const s = freshStream("age");
      const old = [(await b.add(s, makeEntry(1))).entryId, (await b.add(s, makeEntry(2))).entryId];
      await sleep(120);
      const fresh = (await b.add(s, makeEntry(3))).entryId;
      expect(await b.trim(s, { maxAgeMs: 60_000 })).toBe(0);
      expect(await b.trim(s, { maxAgeMs: 80, cause: "retention" })).toBe(2);
      expect(await b.info(s)).toMatchObject({ length: 1, firstEntryId: fresh, removed: { trim: 0, retention: 2, purge: 0 } });
      expect(idLess(old[1]!, fresh)).toBe(true);
      expect(b.backendInfo().removed?.retention).toBeGreaterThanOrEqual(2);
      await expect(b.trim(s, {})).rejects.toBeInstanceOf(BackendArgumentError);
      await expect(b.trim(s, { maxLen: 1, policy: "sometimes" as "limits" })).rejects.toBeInstanceOf(BackendArgumentError);
    });

    test("purge removes every entry and forgets the opIds; counted; ids keep growing", async () => {
      const s = freshStream("purge");
      const e = makeEntry(1);
      const first = await b.add(s, e);
      await b.add(s, makeEntry(2));
      expect(await b.purge(s)).toBe(2);
      expect(await b.info(s)).toMatchObject({ length: 0, firstEntryId: null, removed: { trim: 0, retention: 0, purge: 2 } });
      expect(await b.streams()).toContain(s);
      const again = await b.add(s, e); // the opId was forgotten: stored anew
      expect(again.duplicate).toBe(false);
      expect(idLess(first.entryId, again.entryId)).toBe(true);
      expect(await b.purge(freshStream("nope"))).toBe(0);
    });

    test("deleteStream removes the stream with its opIds and groups; false when it did not exist", async () => {
      const s = freshStream("del");
      const e = makeEntry(1);
      await b.add(s, e);
      await b.createGroup({ stream: s, group: "g" }, { from: "0" });
      await b.setRetention(s, { policy: "limits", maxLen: 5 });
      expect(await b.deleteStream(s)).toBe(true);
      expect(await b.streams()).not.toContain(s);
      expect(await b.groupInfo(s)).toEqual([]);
      expect(await b.info(s)).toMatchObject({ length: 0, removed: { trim: 0, retention: 0, purge: 0 } });
      expect((await b.info(s)).retention).toBeUndefined();
      expect((await b.add(s, e)).duplicate).toBe(false);
      expect(await b.deleteStream(s)).toBe(true);
      expect(await b.deleteStream(s)).toBe(false);
    });

    test("a stream's own retention is kept, reported and cleared; trim without a policy uses its policy", async () => {
      const s = freshStream("ret");
      await b.add(s, makeEntry(1));
      expect((await b.info(s)).retention).toBeUndefined();
      await b.setRetention(s, { policy: "limits", maxLen: 3, maxAgeMs: 86_400_000 });
      expect((await b.info(s)).retention).toEqual({ policy: "limits", maxLen: 3, maxAgeMs: 86_400_000 });
      await b.createGroup({ stream: s, group: "g" }); // from "$": entry 1 is not for g
      await b.add(s, makeEntry(2));
      expect(await b.trim(s, { maxLen: 0 })).toBe(2); // limits: entry 2, not yet delivered to g, goes too
      await b.setRetention(s, undefined);
      expect((await b.info(s)).retention).toBeUndefined();
      await b.add(s, makeEntry(3));
      expect(await b.trim(s, { maxLen: 0 })).toBe(0); // interest again: g has not read entry 3
      await expect(b.setRetention(s, { policy: "never" as "limits" })).rejects.toBeInstanceOf(BackendArgumentError);
    });

    test("the retention sweep trims each stream by its own retention, else the default, and counts it", async () => {
      const own = freshStream("sweep-own");
      const dflt = freshStream("sweep-default");
      for (let i = 0; i < 4; i++) {
        await b.add(own, makeEntry(i));
        await b.add(dflt, makeEntry(i));
      }
      await b.setRetention(own, { policy: "interest", maxLen: 1 });
      const sweeper = new RetentionSweeper(b, { defaults: { policy: "interest", maxLen: 3 }, intervalMs: 60_000 });
      await sweeper.sweep();
      sweeper.stop();
      expect(await b.info(own)).toMatchObject({ length: 1, removed: { trim: 0, retention: 3, purge: 0 } });
      expect(await b.info(dflt)).toMatchObject({ length: 3, removed: { trim: 0, retention: 1, purge: 0 } });
    });

    test("idempotent add stores an opId once per stream", async () => {
      const s = freshStream("dedupe");
      const e = makeEntry(1);
      const hits0 = b.backendInfo().dedupeHits;
      const first = await b.add(s, e);
      expect(first.duplicate).toBe(false);
      const again = await b.add(s, { headers: { ...e.headers, id: "other-message-id" }, msg: new Uint8Array([9]) });
      expect(again).toEqual({ entryId: first.entryId, duplicate: true });
      const burst = await Promise.all(Array.from({ length: 20 }, () => b.add(s, e)));
      for (const r of burst) expect(r).toEqual({ entryId: first.entryId, duplicate: true });
      expect((await b.info(s)).length).toBe(1);
      expect(b.backendInfo().dedupeHits - hits0).toBe(21);
      const [batch] = await b.read([{ stream: s, after: "0" }]);
      expect(batch!.entries.map(numberOf)).toEqual([1]);
      // Per stream: the same opId in another stream is a new entry.
      const elsewhere = await b.add(freshStream("dedupe2"), e);
      expect(elsewhere.duplicate).toBe(false);
    });

    test("with deduplication off, an add's maxLen trim is counted too", async () => {
      const plain = await makeBackend({ dedupeWindowMs: 0 });
      try {
        const s = freshStream("plainmax");
        for (let i = 0; i < 300; i++) await plain.add(s, makeEntry(i), { maxLen: 10 });
        const info = await plain.info(s);
        expect(info.length).toBeGreaterThanOrEqual(10);
        expect(info.removed?.trim).toBe(300 - info.length);
        expect(plain.backendInfo().removed?.trim).toBeGreaterThanOrEqual(300 - info.length);
      } finally {
        await plain.close();
      }
    });

    test("after the dedupe window, the same opId is stored again", async () => {
      const short = await makeBackend({ dedupeWindowMs: 200 });
      try {
        const s = freshStream("window");
        const e = makeEntry(1);
        const first = await short.add(s, e);
        expect((await short.add(s, e)).duplicate).toBe(true);
        await sleep(450);
        const later = await short.add(s, e);
        expect(later.duplicate).toBe(false);
        expect(idLess(first.entryId, later.entryId)).toBe(true);
        expect((await short.info(s)).length).toBe(2);
        expect(await short.add(s, e)).toEqual({ entryId: later.entryId, duplicate: true });
      } finally {
        await short.close();
      }
    });

    test("bad arguments are rejected with BAD_ARGUMENT", async () => {
      const s = freshStream("bad");
      const expectBad = async (p: Promise<unknown>) => {
        const err = await p.then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(BackendArgumentError);
        expect((err as BackendArgumentError).code).toBe("BAD_ARGUMENT");
      };
      await expectBad(b.read([{ stream: s, after: "not-an-id" }]));
      await expectBad(b.read([{ stream: s, after: "1-2-3" }]));
      await expectBad(b.read([{ stream: s, after: "0" }], { block: 0 }));
      await expectBad(b.read([{ stream: s, after: "0" }], { count: 0 }));
      await expectBad(b.read([]));
      await expectBad(b.trim(s, { maxLen: -1 }));
      await expectBad(b.add(s, makeEntry(1), { maxLen: 1.5 }));
      await expectBad(b.add("", makeEntry(1)));
    });

    test("close resolves blocked reads, reports closed, then refuses work", async () => {
      const own = await makeBackend({});
      const states: string[] = [];
      own.onStateChange((st) => states.push(st));
      expect(own.backendInfo().state).toBe("ready");
      const s = freshStream("close");
      const pending = own.read([{ stream: s, after: "$" }], { block: 30_000 });
      await sleep(50);
      const t0 = performance.now();
      await own.close();
      expect(await pending).toEqual([]);
      expect(ms(t0)).toBeLessThan(5_000);
      expect(own.backendInfo().state).toBe("closed");
      expect(states).toContain("closed");
      const err = await own.add(s, makeEntry(1)).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect((err as BackendUnavailableError).code).toBe("BACKEND_UNAVAILABLE");
    });
  });
}
