/**
 * RedisBackend's batched adds (sidecar/backend/_redis_adds.ts): the adds of
 * one event-loop turn go to Redis as one script call per stream. These
 * tests issue many adds in one turn (no await in between) against a real
 * redis-server and check that every guarantee of a single add still holds:
 * order, atomic dedupe (also within one batch), trimming, one refused entry
 * failing alone, and a batch cut off by a killed Redis retried safely.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { commandOptions, createClient } from "redis";
import { RedisBackend } from "../../sidecar/backend/redis.ts";
import { BackendArgumentError, BackendTimeoutError, BackendUnavailableError } from "../../sdk/backend/types.ts";
import type { AddResult } from "../../sdk/backend/types.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";
import { freshStream, idLess, makeEntry } from "./backend_contract.ts";

const describeRedis = REDIS_SKIP_REASON === undefined ? describe : describe.skip;

let server: RedisServer;
let raw: ReturnType<typeof createClient>;
const backends: RedisBackend[] = [];

async function open(url = server.url, options: { commandTimeoutMs?: number } = {}): Promise<RedisBackend> {
  const b = await RedisBackend.connect({ url, ...options });
  backends.push(b);
  return b;
}

/** The opIds stored in a stream, in stream order. */
async function storedOpIds(client: ReturnType<typeof createClient>, stream: string): Promise<string[]> {
  const rows = await client.sendCommand<[Buffer, Buffer[]][]>(["XRANGE", `ampbus:{${stream}}`, "-", "+"], commandOptions({ returnBuffers: true }));
  return rows.map(([, f]) => {
    const i = f.findIndex((x) => x.toString() === "opId");
    return f[i + 1]!.toString();
  });
}

if (REDIS_SKIP_REASON === undefined) {
  beforeAll(async () => {
    server = await RedisServer.start();
    raw = createClient({ url: server.url });
    await raw.connect();
  });
  afterAll(async () => {
    for (const b of backends) await b.close().catch(() => {});
    await raw?.quit().catch(() => {});
    await server?.dispose();
  });
}

describeRedis("RedisBackend batched adds", () => {
  test("adds of one turn are stored in the order they were made, as few script calls", async () => {
    const b = await open();
    const s1 = freshStream("batch-order");
    const s2 = freshStream("batch-order");
    const entries = Array.from({ length: 700 }, (_, i) => makeEntry(i));
    await raw.sendCommand(["CONFIG", "RESETSTAT"]);
    // 700 adds to s1 (more than one chunk) interleaved with 100 to s2, all in one turn.
    const p1: Promise<AddResult>[] = [];
    const p2: Promise<AddResult>[] = [];
    for (let i = 0; i < entries.length; i++) {
      p1.push(b.add(s1, entries[i]!));
      if (i % 7 === 0) p2.push(b.add(s2, makeEntry(i)));
    }
    const r1 = await Promise.all(p1);
    const r2 = await Promise.all(p2);
    for (let i = 1; i < r1.length; i++) expect(idLess(r1[i - 1]!.entryId, r1[i]!.entryId)).toBe(true);
    expect(r1.every((r) => !r.duplicate) && r2.every((r) => !r.duplicate)).toBe(true);
    expect(await storedOpIds(raw, s1)).toEqual(entries.map((e) => e.headers.opId));
    expect((await storedOpIds(raw, s2)).length).toBe(100);
    const stats = String(await raw.sendCommand(["INFO", "commandstats"]));
    // 700 entries in chunks of 256: 3 script calls for s1, 1 for s2.
    expect(Number(/cmdstat_eval:calls=(\d+)/.exec(stats)?.[1])).toBe(4);
  });

  test("batches of several turns in flight keep their order when Redis has lost its script cache", async () => {
    const b = await open();
    const s = freshStream("batch-noscript");
    await b.add(s, makeEntry(-1));
    await raw.sendCommand(["SCRIPT", "FLUSH"]);
    const entries = Array.from({ length: 400 }, (_, i) => makeEntry(i));
    const pending: Promise<AddResult>[] = [];
    for (let turn = 0; turn < 40; turn++) {
      for (let k = 0; k < 10; k++) pending.push(b.add(s, entries[turn * 10 + k]!));
      await new Promise((r) => setImmediate(r)); // the next adds go in another batch, sent before this one is answered
    }
    await Promise.all(pending);
    expect((await storedOpIds(raw, s)).slice(1)).toEqual(entries.map((e) => e.headers.opId));
  });

  test("messages are stored byte for byte, small ones (joined in one argument) and large ones (apart)", async () => {
    const b = await open();
    for (const size of [1, 300, 5000, 70_000]) {
      const s = freshStream(`batch-bytes-${size}`);
      const entries = Array.from({ length: 30 }, (_, i) => {
        const e = makeEntry(i, i % 3 === 0 ? { tier: "gold", expiresAt: Date.now() + 600_000 } : {});
        const msg = new Uint8Array(size);
        for (let k = 0; k < size; k++) msg[k] = (k * 31 + i * 7) & 0xff;
        return { headers: e.headers, msg };
      });
      // A duplicate in the middle of the batch must not shift the bytes of the entries after it.
      const settled = await Promise.all([...entries.slice(0, 10), entries[4]!, ...entries.slice(10)].map((e) => b.add(s, e)));
      expect(settled.filter((r) => r.duplicate).length).toBe(1);
      const read = await b.read([{ stream: s, after: "0" }], { count: 100 });
      const got = read[0]!.entries;
      expect(got.length).toBe(30);
      got.forEach((e, i) => {
        expect(Buffer.from(e.msg).equals(Buffer.from(entries[i]!.msg))).toBe(true);
        expect(e.headers).toEqual(entries[i]!.headers);
      });
    }
  });

  test("two adds with the same opId in one batch: stored once, the second answers the first's id as a duplicate", async () => {
    const b = await open();
    const s = freshStream("batch-dup");
    const e = makeEntry(1);
    const other = makeEntry(2);
    const before = b.backendInfo().dedupeHits;
    const [a, x, c] = await Promise.all([b.add(s, e), b.add(s, other), b.add(s, { headers: { ...e.headers, id: "another-id" }, msg: e.msg })]);
    expect(a.duplicate).toBe(false);
    expect(x.duplicate).toBe(false);
    expect(c).toEqual({ entryId: a.entryId, duplicate: true });
    expect(await storedOpIds(raw, s)).toEqual([e.headers.opId, other.headers.opId]);
    expect(b.backendInfo().dedupeHits).toBe(before + 1);
    // And in a later batch too.
    expect(await b.add(s, e)).toEqual({ entryId: a.entryId, duplicate: true });
  });

  test("maxLen trims within a batch, per entry", async () => {
    const b = await open();
    const s = freshStream("batch-trim");
    await Promise.all(Array.from({ length: 600 }, (_, i) => b.add(s, makeEntry(i), { maxLen: 10 })));
    const len = await raw.sendCommand<number>(["XLEN", `ampbus:{${s}}`]);
    // "~": Redis trims whole macro nodes (100 entries by default), never below maxLen.
    expect(len).toBeGreaterThanOrEqual(10);
    expect(len).toBeLessThan(250);
  });

  test("an entry Redis refuses fails alone; the others of its batch are stored", async () => {
    const b = await open();
    const s = freshStream("batch-refused");
    const bad = makeEntry(1);
    // Its dedupe key holds a list: GET answers WRONGTYPE for that entry only.
    await raw.sendCommand(["RPUSH", `ampbus:{${s}}:op:${bad.headers.opId}`, "x"]);
    const good = [makeEntry(0), makeEntry(2)];
    const settled = await Promise.allSettled([b.add(s, good[0]!), b.add(s, bad), b.add(s, good[1]!)]);
    expect(settled.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const err = (settled[1] as PromiseRejectedResult).reason;
    expect(err).toBeInstanceOf(BackendArgumentError);
    expect(String(err.message)).toContain("WRONGTYPE");
    expect(String(err.message)).toContain(s);
    expect(await storedOpIds(raw, s)).toEqual(good.map((e) => e.headers.opId));
  });

  test("a stream key of the wrong type fails that stream's entries, not another stream's in the same turn", async () => {
    const b = await open();
    const s = freshStream("batch-wrongtype");
    const ok = freshStream("batch-wrongtype-ok");
    await raw.sendCommand(["SET", `ampbus:{${s}}`, "not a stream"]);
    const settled = await Promise.allSettled([b.add(s, makeEntry(1)), b.add(ok, makeEntry(2)), b.add(s, makeEntry(3))]);
    expect(settled.map((r) => r.status)).toEqual(["rejected", "fulfilled", "rejected"]);
    expect((settled[0] as PromiseRejectedResult).reason).toBeInstanceOf(BackendArgumentError);
    expect((await storedOpIds(raw, ok)).length).toBe(1);
  });

  test("a batch that times out fails exactly its entries; retried with the same opIds, each is stored once", async () => {
    const b = await open(server.url, { commandTimeoutMs: 150 });
    const s = freshStream("batch-timeout");
    const entries = Array.from({ length: 50 }, (_, i) => makeEntry(i));
    await b.add(s, makeEntry(-1)); // the script is cached
    await raw.sendCommand(["CLIENT", "PAUSE", "600", "WRITE"]);
    const settled = await Promise.allSettled(entries.map((e) => b.add(s, e)));
    expect(settled.every((r) => r.status === "rejected" && r.reason instanceof BackendTimeoutError)).toBe(true);
    await new Promise((r) => setTimeout(r, 700));
    // Redis ran the timed-out script when the pause ended: the retries are duplicates, nothing is stored twice.
    let answered: AddResult[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        answered = await Promise.all(entries.map((e) => b.add(s, e)));
        break;
      } catch (e) {
        if (!(e instanceof BackendTimeoutError || e instanceof BackendUnavailableError)) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(answered.length).toBe(entries.length);
    const ops = await storedOpIds(raw, s);
    expect(ops.slice(1)).toEqual(entries.map((e) => e.headers.opId));
    expect(answered.every((r) => r.duplicate)).toBe(true);
  });

  test("a batch cut off by killing redis-server: every add settles; retried after the restart, each opId is stored once", async () => {
    const durable = await RedisServer.start({ appendonly: true, appendfsync: "always" });
    try {
      const b = await open(durable.url);
      const s = freshStream("batch-kill");
      const entries = Array.from({ length: 2000 }, (_, i) => makeEntry(i));
      await b.add(s, makeEntry(-1));
      const pending = entries.map((e) => b.add(s, e));
      const killed = durable.kill();
      const settled = await Promise.allSettled(pending);
      await killed;
      for (const r of settled) {
        if (r.status === "rejected") expect(r.reason).toBeInstanceOf(BackendUnavailableError);
      }
      const firstIds = new Map<string, string>();
      settled.forEach((r, i) => {
        if (r.status === "fulfilled") firstIds.set(entries[i]!.headers.opId, r.value.entryId);
      });
      await durable.restart();
      // Retry everything (a publisher retries what it was not told was stored; here all of it, to check dedupe).
      let retried: AddResult[] = [];
      for (let attempt = 0; attempt < 100; attempt++) {
        try {
          retried = await Promise.all(entries.map((e) => b.add(s, e)));
          break;
        } catch (e) {
          if (!(e instanceof BackendUnavailableError)) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      expect(retried.length).toBe(entries.length);
      // What was acknowledged before the kill survived (appendfsync always) and is answered as a duplicate of itself.
      retried.forEach((r, i) => {
        const first = firstIds.get(entries[i]!.headers.opId);
        if (first !== undefined) expect(r).toEqual({ entryId: first, duplicate: true });
      });
      const check = createClient({ url: durable.url });
      await check.connect();
      const ops = await storedOpIds(check, s);
      await check.quit();
      expect(ops.length).toBe(entries.length + 1);
      expect(new Set(ops).size).toBe(ops.length);
      // Order within the stream is still the order of the adds.
      expect(ops.slice(1)).toEqual(entries.map((e) => e.headers.opId));
    } finally {
      await durable.dispose();
    }
  }, 60_000);
});
