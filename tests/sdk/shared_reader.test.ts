/**
 * `sharedReader()` behind `PacedReader`: many subscribers of one stream
 * served by one backend read. In process, on MemoryBackend and on a real
 * redis-server: subscribers from different cursors each get exactly the
 * entries after their own cursor, once, in order; a subscriber without
 * credit neither stalls the others nor loses entries, also once the window
 * has moved past it; expired entries are skipped.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MemoryBackend } from "../../sdk/backend/memory.ts";
import { PacedReader } from "../../sdk/backend/paced_reader.ts";
import { sharedReader, WINDOW_ENTRIES } from "../../sdk/backend/shared_reader.ts";
import type { StreamBackend, StreamEntry } from "../../sdk/backend/types.ts";
import { RedisBackend } from "../../sidecar/backend/redis.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";
import { freshStream, makeEntry } from "../sidecar/backend_contract.ts";

const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A subscriber: a PacedReader on the shared read, recording what it was pushed. */
function subscriber(backend: StreamBackend, o: { stream: string; cursor: string; credit: number }) {
  const got: StreamEntry[] = [];
  const reader = new PacedReader(backend, { ...o, shared: sharedReader(backend, o.stream), sink: { push: (e) => got.push(...e) } });
  const running = reader.run();
  return { got, reader, running };
}

async function addMany(backend: StreamBackend, stream: string, n: number, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 500) {
    const rs = await Promise.all(Array.from({ length: Math.min(500, n - i) }, (_, k) => backend.add(stream, makeEntry(from + i + k))));
    for (const r of rs) ids.push(r.entryId);
  }
  return ids;
}

/** Counts the backend's read() calls. */
function countReads(backend: StreamBackend): { calls: number } {
  const counter = { calls: 0 };
  const read = backend.read.bind(backend);
  backend.read = (c, o) => {
    counter.calls++;
    return read(c, o);
  };
  return counter;
}

function suite(name: string, make: () => Promise<StreamBackend>, skip?: string) {
  const d = skip === undefined ? describe : describe.skip;
  d(`sharedReader on ${name}`, () => {
    test("20 subscribers from different cursors each get exactly the entries after their cursor, in order; one read serves them", async () => {
      const backend = await make();
      const stream = freshStream("fanout");
      const before = await addMany(backend, stream, 200);
      const cursors = ["0", ...Array.from({ length: 18 }, (_, k) => before[k * 11]!), before[199]!];
      const subs = cursors.map((cursor) => subscriber(backend, { stream, cursor, credit: 1_000_000 }));
      await until("catch-up", () => subs.every((s, k) => s.got.length === 200 - (k === 0 ? 0 : before.indexOf(cursors[k]!) + 1)));
      const reads = countReads(backend);
      const after: string[] = [];
      for (let burst = 0; burst < 5; burst++) {
        after.push(...await addMany(backend, stream, 100, 1000 + burst * 100));
        await until("burst delivered", () => subs.every((s) => s.got.at(-1)?.entryId === after.at(-1)));
      }
      const all = [...before, ...after];
      subs.forEach((s, k) => {
        const from = cursors[k] === "0" ? 0 : all.indexOf(cursors[k]!) + 1;
        expect(s.got.map((e) => e.entryId)).toEqual(all.slice(from));
      });
      // Per-subscriber reads would be at least one per subscriber per burst (100).
      expect(reads.calls).toBeLessThan(40);
      for (const s of subs) s.reader.stop();
      await Promise.all(subs.map((s) => s.running));
      await backend.close();
    }, 60_000);

    test("a subscriber out of credit stalls nobody and, given credit later, gets every entry once, also past the window", async () => {
      const backend = await make();
      const stream = freshStream("fanout-slow");
      const fast = [0, 1, 2].map(() => subscriber(backend, { stream, cursor: "0", credit: 1_000_000 }));
      const slow = subscriber(backend, { stream, cursor: "0", credit: 5 });
      const n = WINDOW_ENTRIES + 3000;
      const ids = await addMany(backend, stream, n);
      await until("fast subscribers have everything", () => fast.every((s) => s.got.length === n));
      expect(slow.got.length).toBe(5);
      slow.reader.addCredit(1_000_000);
      await until("the slow one caught up", () => slow.got.length === n);
      for (const s of [...fast, slow]) expect(s.got.map((e) => e.entryId)).toEqual(ids);
      // It keeps following the tail with the others.
      const more = await addMany(backend, stream, 10, n);
      await until("live again", () => slow.got.length === n + 10 && fast.every((s) => s.got.length === n + 10));
      expect(slow.got.slice(n).map((e) => e.entryId)).toEqual(more);
      for (const s of [...fast, slow]) s.reader.stop();
      await backend.close();
    }, 60_000);

    test("expired entries are skipped by every subscriber, their cursors moved past them", async () => {
      const backend = await make();
      const stream = freshStream("fanout-expiry");
      const subs = [0, 1, 2].map(() => subscriber(backend, { stream, cursor: "0", credit: 100 }));
      await sleep(20);
      const live1 = await backend.add(stream, makeEntry(1));
      await backend.add(stream, makeEntry(2, { expiresAt: Date.now() + 30 }));
      await until("first", () => subs.every((s) => s.got.length >= 1));
      // The second is in the shared window now; past its expiry, a new subscriber must not get it.
      await sleep(60);
      const late = subscriber(backend, { stream, cursor: live1.entryId, credit: 100 });
      const live3 = await backend.add(stream, makeEntry(3));
      await until("third", () => late.got.some((e) => e.entryId === live3.entryId));
      expect(late.got.map((e) => e.entryId)).toEqual([live3.entryId]);
      expect(late.reader.cursor).toBe(live3.entryId);
      for (const s of [...subs, late]) s.reader.stop();
      await backend.close();
    });

    test("a first subscriber with a cursor past the stream's end does not hide new entries from one behind it", async () => {
      const backend = await make();
      const stream = freshStream("fanout-future");
      const old = await addMany(backend, stream, 3);
      const ahead = subscriber(backend, { stream, cursor: "99999999999999-0", credit: 100 });
      await sleep(20);
      const behind = subscriber(backend, { stream, cursor: "0", credit: 100 });
      await until("the old ones", () => behind.got.length === 3);
      const fresh = await addMany(backend, stream, 5, 10);
      await until("the new ones", () => behind.got.length === 8);
      expect(behind.got.map((e) => e.entryId)).toEqual([...old, ...fresh]);
      expect(ahead.got).toEqual([]);
      for (const s of [ahead, behind]) s.reader.stop();
      await backend.close();
    });

    test("stopping every subscriber ends the shared read; a new subscriber starts a fresh one", async () => {
      const backend = await make();
      const stream = freshStream("fanout-restart");
      const a = subscriber(backend, { stream, cursor: "0", credit: 100 });
      const first = await backend.add(stream, makeEntry(1));
      await until("a", () => a.got.length === 1);
      a.reader.stop();
      await a.running;
      const second = await backend.add(stream, makeEntry(2));
      const b = subscriber(backend, { stream, cursor: first.entryId, credit: 100 });
      await until("b", () => b.got.length === 1);
      expect(b.got[0]!.entryId).toBe(second.entryId);
      b.reader.stop();
      await backend.close();
    });
  });
}

suite("MemoryBackend", () => Promise.resolve(new MemoryBackend()));

let server: RedisServer | undefined;
if (REDIS_SKIP_REASON === undefined) {
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.dispose();
  });
}
suite("RedisBackend", () => RedisBackend.connect({ url: server!.url }), REDIS_SKIP_REASON);
