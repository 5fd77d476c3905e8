/**
 * RedisBackend: the shared contract against a fresh redis-server, plus what
 * only Redis brings: atomic dedupe across sidecars, the documented key
 * layout, surviving a Redis crash, and bounded blocking connections.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { commandOptions, createClient } from "redis";
import { RedisBackend } from "../../sidecar/backend/redis.ts";
import { BackendUnavailableError } from "../../sdk/backend/types.ts";
import type { BackendState, StreamBatch } from "../../sdk/backend/types.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";
import { backendContract, freshStream, idLess, makeEntry } from "./backend_contract.ts";
import { groupsContract } from "./backend_groups_contract.ts";

const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

let server: RedisServer;
const backends: RedisBackend[] = [];

interface OpenOptions {
  dedupeWindowMs?: number;
  claimTimeoutMs?: number;
  prefix?: string;
  maxBlockingConnections?: number;
}

async function open(options: OpenOptions = {}) {
  const b = await RedisBackend.connect({ url: server.url, ...options });
  backends.push(b);
  return b;
}

if (REDIS_SKIP_REASON === undefined) {
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const b of backends) await b.close();
    await server?.dispose();
  });
}

backendContract("RedisBackend", (o) => open(o), { skip: REDIS_SKIP_REASON });
groupsContract("RedisBackend", (o) => open(o), { skip: REDIS_SKIP_REASON });

const describeRedis = REDIS_SKIP_REASON === undefined ? describe : describe.skip;

describeRedis("RedisBackend specifics", () => {
  test("connect rejects with BACKEND_UNAVAILABLE when nothing listens", async () => {
    const t0 = performance.now();
    const err = await RedisBackend.connect({ url: "redis://127.0.0.1:1", connectTimeoutMs: 300 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as BackendUnavailableError).code).toBe("BACKEND_UNAVAILABLE");
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  test("two backends racing on one opId store it once", async () => {
    const a = await open();
    const b = await open();
    const s = freshStream("race");
    for (let round = 0; round < 5; round++) {
      const e = makeEntry(round);
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).add(s, e)));
      const stored = results.filter((r) => !r.duplicate);
      expect(stored.length).toBe(1);
      for (const r of results) expect(r.entryId).toBe(stored[0]!.entryId);
    }
    expect((await a.info(s)).length).toBe(5);
  });

  test("the key layout is the documented one: plain-text headers, raw msg, dedupe key with a TTL", async () => {
    const b = await open({ prefix: "doc:" });
    const raw = createClient({ url: server.url });
    raw.on("error", () => {});
    await raw.connect();
    try {
      const s = freshStream("layout");
      const e = makeEntry(1, { tier: "gold", type: "задача" });
      e.msg = Uint8Array.from([0x82, 0xa1, 0x76, 0x01, 0xff, 0x00]);
      const { entryId } = await b.add(s, e);
      const key = `doc:{${s}}`;
      const rows = await raw.sendCommand<[string, string[]][]>(["XRANGE", key, "-", "+"]);
      expect(rows.length).toBe(1);
      expect(rows[0]![0]).toBe(entryId);
      const fields = rows[0]![1];
      expect(fields.filter((_, i) => i % 2 === 0)).toEqual(["id", "opId", "type", "sender", "receiver", "tier", "msg"]);
      expect(fields.slice(0, 12)).toEqual([
        "id", e.headers.id, "opId", e.headers.opId, "type", "задача",
        "sender", "alice", "receiver", "bob", "tier", "gold",
      ]);
      const bin = await raw.sendCommand<[Buffer, Buffer[]][]>(["XRANGE", key, "-", "+"], commandOptions({ returnBuffers: true }));
      expect(Array.from(bin[0]![1][13]!)).toEqual(Array.from(e.msg));
      const opKey = `${key}:op:${e.headers.opId}`;
      expect(await raw.sendCommand<string>(["GET", opKey])).toBe(entryId);
      const ttl = await raw.sendCommand<number>(["PTTL", opKey]);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(10 * 60 * 1000);
      // Without a tier, the field is left out.
      await b.add(s, makeEntry(2));
      const rows2 = await raw.sendCommand<[string, string[]][]>(["XRANGE", key, "-", "+"]);
      expect(rows2[1]![1].filter((_, i) => i % 2 === 0)).toEqual(["id", "opId", "type", "sender", "receiver", "msg"]);
    } finally {
      await raw.disconnect();
    }
  });

  test("200 blocked readers are served by at most maxBlockingConnections connections", async () => {
    const max = 3;
    const b = await open({ maxBlockingConnections: max, prefix: "pool:" });
    const raw = createClient({ url: server.url });
    raw.on("error", () => {});
    await raw.connect();
    try {
      const streams = Array.from({ length: 10 }, (_, i) => freshStream(`pool${i}`));
      const readers: Promise<StreamBatch[]>[] = [];
      for (let i = 0; i < 200; i++) readers.push(b.read([{ stream: streams[i % 10]!, after: "$" }], { block: 20_000 }));
      await sleep(300);
      const list = await raw.sendCommand<string>(["CLIENT", "LIST"]);
      const blocking = list.split("\n").filter((l) => / name=ampd-block /.test(l)).length;
      expect(blocking).toBeGreaterThan(0);
      expect(blocking).toBeLessThanOrEqual(max);
      const ids: string[] = [];
      for (const s of streams) ids.push((await b.add(s, makeEntry(1))).entryId);
      const results = await Promise.all(readers);
      results.forEach((r, i) => expect(r[0]!.entries[0]!.entryId).toBe(ids[i % 10]!));
      // Adds are never stuck behind a blocked read: the main connection stays free.
      const pending = Array.from({ length: 50 }, () => b.read([{ stream: streams[0]!, after: "$" }], { block: 20_000 }));
      const t0 = performance.now();
      for (let i = 0; i < 20; i++) await b.add(freshStream("free"), makeEntry(i));
      expect(performance.now() - t0).toBeLessThan(5_000);
      await b.add(streams[0]!, makeEntry(2));
      for (const r of await Promise.all(pending)) expect(r[0]!.entries.length).toBe(1);
    } finally {
      await raw.disconnect();
    }
  });

  test("Redis killed: adds fail fast, state goes reconnecting, then everything works again", async () => {
    const b = await open({ prefix: "crash:" });
    const states: BackendState[] = [];
    b.onStateChange((s) => states.push(s));
    const s = freshStream("crash");
    const before = await b.add(s, makeEntry(0));

    // A read blocked across the crash, with a cursor: re-armed after reconnect.
    const blocked = b.read([{ stream: s, after: before.entryId }], { block: 20_000 });
    await sleep(100);
    const inflight = Array.from({ length: 20 }, (_, i) => b.add(s, makeEntry(100 + i)).then(() => null, (e: unknown) => e));
    await server.kill();

    const t0 = performance.now();
    const outcomes = await Promise.all(inflight);
    for (const o of outcomes) if (o !== null) expect(o).toBeInstanceOf(BackendUnavailableError);
    await until("state reconnecting", () => b.backendInfo().state === "reconnecting");
    const err = await b.add(s, makeEntry(1)).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as BackendUnavailableError).code).toBe("BACKEND_UNAVAILABLE");
    const readErr = await b.read([{ stream: s, after: "0" }]).then(() => undefined, (e: unknown) => e);
    expect(readErr).toBeInstanceOf(BackendUnavailableError);
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(b.backendInfo().lastError).toBeDefined();

    await server.restart();
    await until("state ready", () => b.backendInfo().state === "ready");
    expect(b.backendInfo().reconnects).toBe(1);
    expect(states).toEqual(["reconnecting", "ready"]);

    // The data was not persisted; new ids are time-based, so they sort after the old cursor.
    await sleep(300);
    const after = await b.add(s, makeEntry(2));
    expect(after.duplicate).toBe(false);
    expect(idLess(before.entryId, after.entryId)).toBe(true);
    const got = await blocked;
    expect(got.length).toBe(1);
    expect(got[0]!.entries.map((e) => e.entryId)).toContain(after.entryId);

    // Fresh blocked reads work too.
    const next = b.read([{ stream: s, after: "$" }], { block: 10_000 });
    await sleep(50);
    const third = await b.add(s, makeEntry(3));
    expect((await next)[0]!.entries[0]!.entryId).toBe(third.entryId);
  }, 30_000);

  test("a read blocked while Redis is down never hangs past its block time", async () => {
    const b = await open({ prefix: "down:" });
    const s = freshStream("down");
    const blocked = b.read([{ stream: s, after: "$" }], { block: 800 });
    await sleep(100);
    await server.kill();
    const t0 = performance.now();
    expect(await blocked).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(3_000);
    await server.restart();
    await until("state ready", () => b.backendInfo().state === "ready");
  }, 30_000);
});
