/**
 * RedisBackend consumer groups: what only Redis brings. Groups lost with
 * Redis's data (FLUSHALL, a restart without persistence) come back on the
 * next read; blocked group reads never hold up publishing; a read blocked
 * across a crash re-arms; the documented layout (groups on the stream key,
 * the `expiresAt` field).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "redis";
import { RedisBackend } from "../../sidecar/backend/redis.ts";
import { BackendUnavailableError } from "../../sdk/backend/types.ts";
import type { GroupEntry } from "../../sdk/backend/types.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";
import { freshStream, makeEntry, sleep } from "./backend_contract.ts";

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

let server: RedisServer;
const backends: RedisBackend[] = [];
type Raw = ReturnType<typeof createClient>;
let raw: Raw;

async function open(options: { prefix?: string; maxBlockingConnections?: number } = {}): Promise<RedisBackend> {
  const b = await RedisBackend.connect({ url: server.url, ...options });
  backends.push(b);
  return b;
}

const idsOf = (entries: readonly GroupEntry[]) => entries.map((e) => e.entryId);
const describeRedis = REDIS_SKIP_REASON === undefined ? describe : describe.skip;

describeRedis("RedisBackend groups specifics", () => {
  beforeAll(async () => {
    server = await RedisServer.start();
    raw = createClient({ url: server.url });
    raw.on("error", () => {});
    await raw.connect();
  });
  afterAll(async () => {
    for (const b of backends) await b.close();
    await raw.disconnect().catch(() => {});
    await server?.dispose();
  });

  test("groups live on the stream key; expiresAt is a plain-text field before msg", async () => {
    const b = await open({ prefix: "gl:" });
    const s = freshStream("glayout");
    const key = `gl:{${s}}`;
    await b.createGroup({ stream: s, group: "workers" });
    const e = makeEntry(1, { tier: "gold", expiresAt: 1_900_000_000_123 });
    await b.add(s, e);
    const rows = await raw.sendCommand<[string, string[]][]>(["XRANGE", key, "-", "+"]);
    expect(rows[0]![1].filter((_, i) => i % 2 === 0)).toEqual([
      "id", "opId", "type", "sender", "receiver", "tier", "expiresAt", "msg",
    ]);
    expect(rows[0]![1][13]).toBe("1900000000123");
    const groups = await raw.sendCommand<string[][]>(["XINFO", "GROUPS", key]);
    expect(groups.map((g) => g[1])).toEqual(["workers"]);
    // A plain Redis client in the same group shares the work.
    const got = await raw.sendCommand<[string, [string, string[]][]][]>([
      "XREADGROUP", "GROUP", "workers", "outsider", "STREAMS", key, ">",
    ]);
    expect(got[0]![1].length).toBe(1);
    expect(await b.readGroup({ stream: s, group: "workers", consumer: "ampd" })).toEqual([]);
    expect((await b.pending({ stream: s, group: "workers" }))[0]!.consumer).toBe("outsider");
  });

  test("after FLUSHALL (a restart without persistence) readGroup recreates the group and delivers new entries", async () => {
    const b = await open({ prefix: "gf:" });
    const s = freshStream("gflush");
    await b.createGroup({ stream: s, group: "g" });
    await b.add(s, makeEntry(0));
    expect((await b.readGroup({ stream: s, group: "g", consumer: "c" })).length).toBe(1);

    await raw.sendCommand(["FLUSHALL"]);
    expect(await b.groupInfo(s)).toEqual([]);
    expect(await b.pending({ stream: s, group: "g" })).toEqual([]);
    const a1 = await b.add(s, makeEntry(1));
    const a2 = await b.add(s, makeEntry(2));
    // Recreated from "0": the entries added since the loss are not skipped.
    expect(idsOf(await b.readGroup({ stream: s, group: "g", consumer: "c" }))).toEqual([a1.entryId, a2.entryId]);
    expect((await b.groupInfo(s)).map((g) => [g.name, g.pending])).toEqual([["g", 2]]);

    // A read blocked when the group vanishes: woken by the next add, recreates, delivers it.
    const blocked = b.readGroup({ stream: s, group: "g", consumer: "c" }, { block: 10_000 });
    await sleep(100);
    await raw.sendCommand(["FLUSHALL"]);
    const a3 = await b.add(s, makeEntry(3));
    expect(idsOf(await blocked)).toEqual([a3.entryId]);
  });

  test("blocked readGroups never delay publishing and share the bounded blocking connections", async () => {
    const max = 3;
    const blockingConns = async () => {
      const list = await raw.sendCommand<string>(["CLIENT", "LIST"]);
      return list.split("\n").filter((l) => / name=ampd-block /.test(l)).length;
    };
    const before = await blockingConns(); // other tests' backends
    const b = await open({ prefix: "gp:", maxBlockingConnections: max });
    const s = freshStream("gpub");
    const readers: Promise<GroupEntry[]>[] = [];
    for (let i = 0; i < 10; i++) {
      await b.createGroup({ stream: s, group: `g${i}` });
      readers.push(b.readGroup({ stream: s, group: `g${i}`, consumer: `c${i}` }, { block: 20_000 }));
    }
    await sleep(200);
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) await b.add(freshStream("gfree"), makeEntry(i));
    // A hang guard, not a timing claim: 50 adds behind a 20 s block would take 20 s.
    expect(performance.now() - t0).toBeLessThan(5_000);
    const blocking = (await blockingConns()) - before;
    expect(blocking).toBeGreaterThan(0);
    expect(blocking).toBeLessThanOrEqual(max);
    const { entryId } = await b.add(s, makeEntry(99));
    // Ten groups: each gets its own copy.
    for (const r of await Promise.all(readers)) expect(idsOf(r)).toEqual([entryId]);
  });

  test("a readGroup blocked across a Redis SIGKILL and restart re-arms and delivers", async () => {
    const b = await open({ prefix: "gk:" });
    const s = freshStream("gkill");
    await b.createGroup({ stream: s, group: "g" });
    const blocked = b.readGroup({ stream: s, group: "g", consumer: "c" }, { block: 20_000 });
    await sleep(100);
    await server.kill();
    const err = await b.readGroup({ stream: s, group: "g", consumer: "c" }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    await server.restart();
    await until("state ready", () => b.backendInfo().state === "ready");
    await raw.ping().catch(() => {}); // wakes the raw client's reconnect
    await sleep(200);
    // No persistence: the stream and the group are gone; the read recreates the group.
    const { entryId } = await b.add(s, makeEntry(1));
    expect(idsOf(await blocked)).toEqual([entryId]);
    expect((await b.pending({ stream: s, group: "g" })).map((p) => p.consumer)).toEqual(["c"]);
  }, 30_000);

  test("a readGroup blocked while Redis is down never hangs past its block time", async () => {
    const b = await open({ prefix: "gd:" });
    const s = freshStream("gdown");
    await b.createGroup({ stream: s, group: "g" });
    const blocked = b.readGroup({ stream: s, group: "g", consumer: "c" }, { block: 800 });
    await sleep(100);
    await server.kill();
    const t0 = performance.now();
    expect(await blocked).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(3_000);
    await server.restart();
    await until("state ready", () => b.backendInfo().state === "ready");
  }, 30_000);
});
