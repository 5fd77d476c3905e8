/**
 * The consumer-group part of the backend contract: the specification of
 * `createGroup`, `readGroup`, `ack`, `nack`, `extend`, `claim`, `pending`,
 * `groupInfo` and `deleteConsumer` in `sdk/backend/types.ts`, run against
 * every backend (Redis 7 semantics).
 *
 * @example
 * ```ts
 * groupsContract("MemoryBackend", (o) => Promise.resolve(new MemoryBackend(o)));
 * ```
 *
 * @module
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BackendArgumentError } from "../../sdk/backend/types.ts";
import type { GroupEntry, StreamBackend } from "../../sdk/backend/types.ts";
import { freshStream, idLess, makeEntry, numberOf, sleep } from "./backend_contract.ts";
import type { ContractOptions, MakeBackend } from "./backend_contract.ts";

async function addN(b: StreamBackend, stream: string, n: number, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await b.add(stream, makeEntry(from + i))).entryId);
  return ids;
}

const idsOf = (entries: readonly GroupEntry[]) => entries.map((e) => e.entryId);

/** Registers the consumer-group contract for one backend. */
export function groupsContract(name: string, makeBackend: MakeBackend, opts: ContractOptions = {}): void {
  if (opts.skip !== undefined) {
    describe.skip(`${name} groups contract`, () => test("skipped", () => {}));
    return;
  }
  describe(`${name} groups contract`, () => {
    let b: StreamBackend;
    beforeAll(async () => {
      b = await makeBackend({});
    });
    afterAll(async () => {
      await b.close();
    });

    test("createGroup is idempotent, makes the stream, and starts at $, 0 or an id", async () => {
      const s = freshStream("gcreate");
      expect(await b.createGroup({ stream: s, group: "g" })).toEqual({ created: true });
      expect(await b.createGroup({ stream: s, group: "g" }, { from: "0" })).toEqual({ created: false });
      expect((await b.groupInfo(s)).map((g) => g.name)).toEqual(["g"]);
      expect((await b.info(s)).length).toBe(0);

      const ids = await addN(b, s, 4);
      // The existing group kept its "$" position: it sees all four (added after it was created).
      expect((await b.readGroup({ stream: s, group: "g", consumer: "c" })).map(numberOf)).toEqual([0, 1, 2, 3]);
      expect(await b.createGroup({ stream: s, group: "late" })).toEqual({ created: true });
      expect(await b.readGroup({ stream: s, group: "late", consumer: "c" })).toEqual([]);
      await b.createGroup({ stream: s, group: "all" }, { from: "0" });
      expect(idsOf(await b.readGroup({ stream: s, group: "all", consumer: "c" }))).toEqual(ids);
      await b.createGroup({ stream: s, group: "mid" }, { from: ids[1]! });
      expect(idsOf(await b.readGroup({ stream: s, group: "mid", consumer: "c" }))).toEqual(ids.slice(2));
      const info = await b.groupInfo(s);
      expect(info.map((g) => g.name)).toEqual(["all", "g", "late", "mid"]);
      expect(info.find((g) => g.name === "late")!.lastDeliveredId).toBe(ids[3]!);
    });

    test("two consumers split the entries: each entry goes to exactly one, with deliveries 1", async () => {
      const s = freshStream("gsplit");
      await b.createGroup({ stream: s, group: "g" }, { from: "0" });
      const ids = await addN(b, s, 25);
      const seen: string[] = [];
      const byConsumer = { c1: 0, c2: 0 };
      for (let round = 0; round < 10; round++) {
        for (const c of ["c1", "c2"] as const) {
          const got = await b.readGroup({ stream: s, group: "g", consumer: c }, { count: 3 });
          expect(got.length).toBeLessThanOrEqual(3);
          for (const e of got) expect(e.deliveries).toBe(1);
          byConsumer[c] += got.length;
          seen.push(...idsOf(got));
        }
      }
      expect(seen).toEqual(ids);
      expect(byConsumer.c1).toBeGreaterThan(0);
      expect(byConsumer.c2).toBeGreaterThan(0);
      // Concurrent reads by several consumers: still each entry once.
      const more = await addN(b, s, 40, 100);
      const got = await Promise.all(["a", "b", "c", "d"].map((c) => b.readGroup({ stream: s, group: "g", consumer: c }, { count: 7 })));
      const rest = await b.readGroup({ stream: s, group: "g", consumer: "e" }, { count: 100 });
      const all = [...got.flat(), ...rest].map((e) => e.entryId).sort((x, y) => (idLess(x, y) ? -1 : 1));
      expect(all).toEqual(more);
      expect(await b.readGroup({ stream: s, group: "g", consumer: "c1" })).toEqual([]);
      // The entries are delivered as added: headers and bytes.
      const one = makeEntry(7, { tier: "gold", expiresAt: 1_900_000_000_123 });
      await b.add(s, one);
      const [e] = await b.readGroup({ stream: s, group: "g", consumer: "c1" });
      expect(e!.headers).toEqual(one.headers);
      expect(Array.from(e!.msg)).toEqual(Array.from(one.msg));
    });

    test("ack removes entries from pending, batched; unknown ids count 0", async () => {
      const s = freshStream("gack");
      await b.createGroup({ stream: s, group: "g" });
      const ids = await addN(b, s, 30);
      expect(idsOf(await b.readGroup({ stream: s, group: "g", consumer: "c" }, { count: 30 }))).toEqual(ids);
      expect((await b.pending({ stream: s, group: "g" })).length).toBe(30);
      expect(await b.ack({ stream: s, group: "g" }, [ids[0]!])).toBe(1);
      expect(await b.ack({ stream: s, group: "g" }, [ids[0]!])).toBe(0);
      expect(await b.ack({ stream: s, group: "g" }, ids.slice(1, 20))).toBe(19);
      expect(await b.ack({ stream: s, group: "g" }, [...ids.slice(15, 25), "1-0"])).toBe(5);
      expect(await b.ack({ stream: s, group: "g" }, [])).toBe(0);
      expect((await b.pending({ stream: s, group: "g" })).map((p) => p.entryId)).toEqual(ids.slice(25));
      expect(await b.ack({ stream: s, group: "nogroup" }, [ids[26]!])).toBe(0);
      expect(await b.ack({ stream: freshStream("gack-none"), group: "g" }, [ids[26]!])).toBe(0);
      expect((await b.groupInfo(s))[0]!.pending).toBe(5);
    });

    test("unacked entries are claimed by another consumer after minIdleMs, with deliveries 2", async () => {
      const s = freshStream("gclaim");
      await b.createGroup({ stream: s, group: "g" });
      const ids = await addN(b, s, 5);
      await b.readGroup({ stream: s, group: "g", consumer: "c1" }, { count: 3 });
      await b.ack({ stream: s, group: "g" }, [ids[1]!]);
      expect(await b.claim({ stream: s, group: "g", consumer: "c2" }, { minIdleMs: 300 })).toEqual([]);
      await sleep(350);
      const claimed = await b.claim({ stream: s, group: "g", consumer: "c2" }, { minIdleMs: 300 });
      expect(idsOf(claimed)).toEqual([ids[0]!, ids[2]!]);
      expect(claimed.map((e) => e.deliveries)).toEqual([2, 2]);
      expect(claimed.map(numberOf)).toEqual([0, 2]);
      const p = await b.pending({ stream: s, group: "g" });
      expect(p.map((x) => [x.entryId, x.consumer, x.deliveries])).toEqual([
        [ids[0]!, "c2", 2],
        [ids[2]!, "c2", 2],
      ]);
      // Just claimed: idle again, so not claimable at once.
      expect(await b.claim({ stream: s, group: "g", consumer: "c3" }, { minIdleMs: 300 })).toEqual([]);
      // count limits a claim; the rest stays for the next one.
      const first = await b.claim({ stream: s, group: "g", consumer: "c3" }, { minIdleMs: 0, count: 1 });
      expect(idsOf(first)).toEqual([ids[0]!]);
      expect(first[0]!.deliveries).toBe(3);
      expect(idsOf(await b.claim({ stream: s, group: "g", consumer: "c3" }, { minIdleMs: 0 }))).toEqual([ids[0]!, ids[2]!]);
      // Claims on a group or stream that does not exist find nothing.
      expect(await b.claim({ stream: s, group: "nogroup", consumer: "c" }, { minIdleMs: 0 })).toEqual([]);
      expect(await b.claim({ stream: freshStream("gclaim-none"), group: "g", consumer: "c" }, { minIdleMs: 0 })).toEqual([]);
    });

    test("claim follows the PEL past many fresh entries to the idle ones", async () => {
      const s = freshStream("gclaimscan");
      await b.createGroup({ stream: s, group: "g" });
      const ids = await addN(b, s, 300);
      await b.readGroup({ stream: s, group: "g", consumer: "c1" }, { count: 300 });
      await sleep(250);
      // Keep all but the last 3 fresh: the idle ones are far down the PEL.
      expect(await b.extend({ stream: s, group: "g", consumer: "c1" }, ids.slice(0, 297))).toBe(297);
      const got = await b.claim({ stream: s, group: "g", consumer: "c2" }, { minIdleMs: 200, count: 2 });
      expect(idsOf(got)).toEqual(ids.slice(297, 299));
      expect(idsOf(await b.claim({ stream: s, group: "g", consumer: "c2" }, { minIdleMs: 200, count: 10 }))).toEqual([ids[299]!]);
    });

    test("nack with delay 0 makes an entry claimable at once; with delay D not before D", async () => {
      const s = freshStream("gnack");
      await b.createGroup({ stream: s, group: "g" });
      const ids = await addN(b, s, 3);
      await b.readGroup({ stream: s, group: "g", consumer: "c1" }, { count: 3 });
      // The default claim timeout (30 s) is what both nack and claim count with.
      expect(await b.nack({ stream: s, group: "g", consumer: "c1" }, { entryIds: [ids[0]!] })).toBe(1);
      const now = await b.claim({ stream: s, group: "g", consumer: "c2" });
      expect(idsOf(now)).toEqual([ids[0]!]);
      expect(now[0]!.deliveries).toBe(2);

      expect(await b.nack({ stream: s, group: "g", consumer: "c1" }, { entryIds: [ids[1]!], delayMs: 400 })).toBe(1);
      expect(await b.claim({ stream: s, group: "g", consumer: "c2" })).toEqual([]);
      await sleep(150);
      expect(await b.claim({ stream: s, group: "g", consumer: "c2" })).toEqual([]);
      await sleep(300);
      expect(idsOf(await b.claim({ stream: s, group: "g", consumer: "c2" }))).toEqual([ids[1]!]);

      // An explicit claim timeout: delay 100 of 1000 means idle 900.
      expect(await b.nack({ stream: s, group: "g", consumer: "c1" }, { entryIds: [ids[2]!], delayMs: 100, claimTimeoutMs: 1000 })).toBe(1);
      expect(await b.claim({ stream: s, group: "g", consumer: "c3" }, { minIdleMs: 1000 })).toEqual([]);
      await sleep(150);
      expect(idsOf(await b.claim({ stream: s, group: "g", consumer: "c3" }, { minIdleMs: 1000 }))).toEqual([ids[2]!]);

      // Only entries the consumer holds: c1 holds none of them any more.
      expect(await b.nack({ stream: s, group: "g", consumer: "c1" }, { entryIds: ids })).toBe(0);
      expect(await b.nack({ stream: s, group: "g", consumer: "c3" }, { entryIds: [ids[2]!, "1-0"] })).toBe(1);
      expect(await b.nack({ stream: s, group: "nogroup", consumer: "c1" }, { entryIds: ids })).toBe(0);
      // nack does not count as a delivery.
      expect((await b.pending({ stream: s, group: "g" }, { consumer: "c3" }))[0]!.deliveries).toBe(2);
    });

    test("extend keeps an entry from being claimed, without counting a delivery", async () => {
      const s = freshStream("gextend");
      await b.createGroup({ stream: s, group: "g" });
      const ids = await addN(b, s, 2);
      await b.readGroup({ stream: s, group: "g", consumer: "c1" }, { count: 2 });
      await sleep(300);
      expect(await b.extend({ stream: s, group: "g", consumer: "c1" }, [ids[0]!])).toBe(1);
      const claimed = await b.claim({ stream: s, group: "g", consumer: "c2" }, { minIdleMs: 250 });
      expect(idsOf(claimed)).toEqual([ids[1]!]);
      const p = await b.pending({ stream: s, group: "g" });
      expect(p.map((x) => [x.entryId, x.consumer, x.deliveries])).toEqual([
        [ids[0]!, "c1", 1],
        [ids[1]!, "c2", 2],
      ]);
      expect(p[0]!.idleMs).toBeLessThan(250);
      // An entry claimed away is not extended (nor stolen back).
      expect(await b.extend({ stream: s, group: "g", consumer: "c1" }, [ids[1]!])).toBe(0);
      expect((await b.pending({ stream: s, group: "g" }))[1]!.consumer).toBe("c2");
      expect(await b.extend({ stream: s, group: "g", consumer: "c1" }, [])).toBe(0);
    });

    test("pending shows consumer, idle time and deliveries; filters by consumer, idle and count", async () => {
      const s = freshStream("gpending");
      expect(await b.pending({ stream: s, group: "g" })).toEqual([]);
      await b.createGroup({ stream: s, group: "g" });
      const ids = await addN(b, s, 6);
      await b.readGroup({ stream: s, group: "g", consumer: "c1" }, { count: 2 });
      await sleep(200);
      await b.readGroup({ stream: s, group: "g", consumer: "c2" }, { count: 4 });
      const all = await b.pending({ stream: s, group: "g" });
      expect(all.map((p) => [p.entryId, p.consumer, p.deliveries])).toEqual(
        ids.map((id, i) => [id, i < 2 ? "c1" : "c2", 1]),
      );
      for (const p of all.slice(0, 2)) expect(p.idleMs).toBeGreaterThanOrEqual(150);
      for (const p of all.slice(2)) expect(p.idleMs).toBeLessThan(150);
      expect((await b.pending({ stream: s, group: "g" }, { consumer: "c2" })).map((p) => p.entryId)).toEqual(ids.slice(2));
      expect((await b.pending({ stream: s, group: "g" }, { consumer: "c2", count: 2 })).map((p) => p.entryId)).toEqual(ids.slice(2, 4));
      expect((await b.pending({ stream: s, group: "g" }, { minIdleMs: 150 })).map((p) => p.entryId)).toEqual(ids.slice(0, 2));
      expect(await b.pending({ stream: s, group: "g" }, { consumer: "nobody" })).toEqual([]);
      expect(await b.pending({ stream: s, group: "other" })).toEqual([]);
    });

    test("blocking readGroup wakes on add, times out with [], and ends on abort", async () => {
      const s = freshStream("gblock");
      await b.createGroup({ stream: s, group: "g" });
      const p1 = b.readGroup({ stream: s, group: "g", consumer: "c1" }, { block: 10_000 });
      const p2 = b.readGroup({ stream: s, group: "g", consumer: "c2" }, { block: 10_000 });
      let settled = 0;
      void p1.then(() => settled++);
      void p2.then(() => settled++);
      await sleep(80);
      expect(settled).toBe(0);
      const t0 = performance.now();
      const first = await b.add(s, makeEntry(1));
      const winner = await Promise.race([p1, p2]);
      expect(idsOf(winner)).toEqual([first.entryId]);
      expect(performance.now() - t0).toBeLessThan(5_000);
      await sleep(50);
      expect(settled).toBe(1); // the other consumer is still waiting
      const second = await b.add(s, makeEntry(2));
      const [r1, r2] = await Promise.all([p1, p2]);
      expect([...idsOf(r1), ...idsOf(r2)].sort()).toEqual([first.entryId, second.entryId].sort());

      const t1 = performance.now();
      expect(await b.readGroup({ stream: s, group: "g", consumer: "c1" }, { block: 200 })).toEqual([]);
      expect(performance.now() - t1).toBeGreaterThanOrEqual(150);
      expect(performance.now() - t1).toBeLessThan(5_000);

      const ac = new AbortController();
      const t2 = performance.now();
      const aborted = b.readGroup({ stream: s, group: "g", consumer: "c1" }, { block: 30_000, signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      expect(await aborted).toEqual([]);
      expect(performance.now() - t2).toBeLessThan(5_000);
      // Nothing was delivered to the aborted read: the next entry goes to the next reader.
      const third = await b.add(s, makeEntry(3));
      expect(idsOf(await b.readGroup({ stream: s, group: "g", consumer: "c2" }, { block: 1000 }))).toEqual([third.entryId]);
      expect((await b.pending({ stream: s, group: "g" }, { consumer: "c1" })).length).toBe(1);
    });

    test("readGroup on a group that does not exist creates it from 0", async () => {
      const s = freshStream("gnogroup");
      const ids = await addN(b, s, 3);
      const got = await b.readGroup({ stream: s, group: "fresh", consumer: "c" });
      expect(idsOf(got)).toEqual(ids);
      expect((await b.groupInfo(s)).map((g) => [g.name, g.pending])).toEqual([["fresh", 3]]);
      // Blocking on a missing group of a missing stream: created, then woken by the first add.
      const s2 = freshStream("gnogroup2");
      const pending = b.readGroup({ stream: s2, group: "g", consumer: "c" }, { block: 10_000 });
      await sleep(50);
      const { entryId } = await b.add(s2, makeEntry(1));
      expect(idsOf(await pending)).toEqual([entryId]);
    });

    test("a trim keeps pending entries by default (interest); the limits policy removes them and counts them", async () => {
      const s = freshStream("gkeep");
      await b.createGroup({ stream: s, group: "g" });
      const ids = await addN(b, s, 5);
      await b.readGroup({ stream: s, group: "g", consumer: "c1" }, { count: 5 });
      expect(await b.trim(s, { maxLen: 2 })).toBe(0); // every entry is still pending in g
      expect((await b.pending({ stream: s, group: "g" })).map((p) => p.entryId)).toEqual(ids);
      expect((await b.info(s)).length).toBe(5);
      expect(await b.ack({ stream: s, group: "g" }, ids.slice(0, 2))).toBe(2);
      expect(await b.trim(s, { maxLen: 2 })).toBe(2); // the acked ones go; ids[2] is pending and stops it
      expect((await b.info(s)).firstEntryId).toBe(ids[2]!);
      expect((await b.info(s)).removed).toEqual({ trim: 2, retention: 0, purge: 0 });
      expect(await b.trim(s, { maxLen: 2, policy: "limits" })).toBe(1);
      expect((await b.info(s)).droppedPending).toBe(1);
      expect((await b.info(s)).removed).toEqual({ trim: 3, retention: 0, purge: 0 });
      // ids[2] is still listed as pending (until a claim looks at it): it is not counted again.
      expect(await b.trim(s, { maxLen: 1, policy: "limits" })).toBe(1);
      expect((await b.info(s)).droppedPending).toBe(2);
      expect(await b.purge(s)).toBe(1);
      expect(await b.info(s)).toMatchObject({ droppedPending: 3, removed: { trim: 4, retention: 0, purge: 1 } });
    });

    test("a trim keeps entries not yet delivered to a group, and a group's lag counts them", async () => {
      const s = freshStream("glag");
      await b.createGroup({ stream: s, group: "slow" }, { from: "0" });
      await b.createGroup({ stream: s, group: "fast" }, { from: "0" });
      const ids = await addN(b, s, 6);
      const lagOf = async () => Object.fromEntries((await b.groupInfo(s)).map((g) => [g.name, g.lag]));
      expect(await lagOf()).toEqual({ fast: 6, slow: 6 });
      const got = await b.readGroup({ stream: s, group: "fast", consumer: "f" }, { count: 6 });
      await b.ack({ stream: s, group: "fast" }, idsOf(got));
      await b.readGroup({ stream: s, group: "slow", consumer: "s" }, { count: 2 });
      await b.ack({ stream: s, group: "slow" }, ids.slice(0, 2));
      expect(await lagOf()).toEqual({ fast: 0, slow: 4 });
      expect(await b.trim(s, { maxLen: 1 })).toBe(2); // ids[2..5] are not yet delivered to slow
      expect((await b.info(s)).firstEntryId).toBe(ids[2]!);
      expect(await b.trim(s, { maxAgeMs: 0 })).toBe(0); // by age too
      await addN(b, s, 1, 6);
      expect(await lagOf()).toEqual({ fast: 1, slow: 5 });
      expect(await b.trim(s, { maxLen: 1, policy: "limits" })).toBe(4);
      expect(await lagOf()).toEqual({ fast: 1, slow: 1 }); // what limits removed is no longer there to deliver
    });

    test("under the limits policy trimmed pending entries vanish from claim results and from the PEL", async () => {
      const s = freshStream("gtrim");
      await b.createGroup({ stream: s, group: "g" });
      const ids = await addN(b, s, 5);
      await b.readGroup({ stream: s, group: "g", consumer: "c1" }, { count: 5 });
      expect(await b.trim(s, { maxLen: 2, policy: "limits" })).toBe(3);
      expect((await b.info(s)).droppedPending).toBe(3);
      // Until a claim looks at them, trimmed entries are still listed as pending.
      expect((await b.pending({ stream: s, group: "g" })).length).toBe(5);
      const claimed = await b.claim({ stream: s, group: "g", consumer: "c2" }, { minIdleMs: 0 });
      expect(idsOf(claimed)).toEqual(ids.slice(3));
      expect(claimed.map((e) => e.deliveries)).toEqual([2, 2]);
      expect((await b.pending({ stream: s, group: "g" })).map((p) => p.entryId)).toEqual(ids.slice(3));
      const info = (await b.groupInfo(s))[0]!;
      expect(info.pending).toBe(2);
      expect(info.consumers.map((c) => [c.name, c.pending])).toEqual([["c1", 0], ["c2", 2]]);
    });

    test("groupInfo reports consumers, pending counts and the last delivered id", async () => {
      const s = freshStream("ginfo");
      expect(await b.groupInfo(s)).toEqual([]);
      await b.createGroup({ stream: s, group: "workers" });
      await b.createGroup({ stream: s, group: "audit" }, { from: "0" });
      const ids = await addN(b, s, 6);
      await b.readGroup({ stream: s, group: "workers", consumer: "w2" }, { count: 2 });
      await b.readGroup({ stream: s, group: "workers", consumer: "w1" }, { count: 3 });
      await b.ack({ stream: s, group: "workers" }, [ids[2]!]);
      await b.readGroup({ stream: s, group: "audit", consumer: "a" }, { count: 6 });
      await b.ack({ stream: s, group: "audit" }, ids);
      const info = await b.groupInfo(s);
      expect(info.map((g) => ({ ...g, consumers: g.consumers.map((c) => ({ ...c, idleMs: 0 })) }))).toEqual([
        { name: "audit", consumers: [{ name: "a", pending: 0, idleMs: 0 }], pending: 0, lastDeliveredId: ids[5]!, lag: 0 },
        {
          name: "workers",
          consumers: [{ name: "w1", pending: 2, idleMs: 0 }, { name: "w2", pending: 2, idleMs: 0 }],
          pending: 4,
          lastDeliveredId: ids[4]!,
          lag: 1,
        },
      ]);
      for (const g of info) for (const c of g.consumers) expect(c.idleMs).toBeLessThan(5_000);
    });

    test("deleteConsumer drops the consumer and its pending entries", async () => {
      const s = freshStream("gdel");
      await b.createGroup({ stream: s, group: "g" });
      const ids = await addN(b, s, 4);
      await b.readGroup({ stream: s, group: "g", consumer: "c1" }, { count: 3 });
      await b.readGroup({ stream: s, group: "g", consumer: "c2" }, { count: 1 });
      expect(await b.deleteConsumer({ stream: s, group: "g", consumer: "c1" })).toBe(3);
      expect(await b.deleteConsumer({ stream: s, group: "g", consumer: "c1" })).toBe(0);
      expect(await b.deleteConsumer({ stream: s, group: "nogroup", consumer: "c1" })).toBe(0);
      expect((await b.pending({ stream: s, group: "g" })).map((p) => p.entryId)).toEqual([ids[3]!]);
      expect((await b.groupInfo(s))[0]!.consumers.map((c) => c.name)).toEqual(["c2"]);
    });

    test("bad group arguments are rejected with BAD_ARGUMENT", async () => {
      const s = freshStream("gbad");
      const expectBad = async (p: Promise<unknown>) => {
        const err = await p.then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(BackendArgumentError);
        expect((err as BackendArgumentError).code).toBe("BAD_ARGUMENT");
      };
      await expectBad(b.createGroup({ stream: s, group: "" }));
      await expectBad(b.createGroup({ stream: s, group: "g" }, { from: "nope" }));
      await expectBad(b.createGroup({ stream: "", group: "g" }));
      await expectBad(b.readGroup({ stream: s, group: "g", consumer: "" }));
      await expectBad(b.readGroup({ stream: s, group: "g", consumer: "c" }, { count: 0 }));
      await expectBad(b.readGroup({ stream: s, group: "g", consumer: "c" }, { block: 0 }));
      await expectBad(b.ack({ stream: s, group: "g" }, ["x-1"]));
      await expectBad(b.nack({ stream: s, group: "g", consumer: "c" }, { entryIds: ["1-0"], delayMs: -1 }));
      await expectBad(b.extend({ stream: s, group: "g", consumer: "c" }, ["1-2-3"]));
      await expectBad(b.claim({ stream: s, group: "g", consumer: "c" }, { minIdleMs: -5 }));
      await expectBad(b.claim({ stream: s, group: "g", consumer: "c" }, { count: 1.5 }));
      await expectBad(b.pending({ stream: s, group: "g" }, { count: 0 }));
      await expectBad(b.add(s, makeEntry(1, { expiresAt: Number.NaN })));
    });

    test("close ends a blocked readGroup with []", async () => {
      const own = await makeBackend({});
      const s = freshStream("gclose");
      await own.createGroup({ stream: s, group: "g" });
      const pending = own.readGroup({ stream: s, group: "g", consumer: "c" }, { block: 30_000 });
      await sleep(50);
      const t0 = performance.now();
      await own.close();
      expect(await pending).toEqual([]);
      expect(performance.now() - t0).toBeLessThan(5_000);
    });
  });
}
