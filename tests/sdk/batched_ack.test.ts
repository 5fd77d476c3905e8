/**
 * Batched acks (sdk/client/_id_batch.ts behind `GroupDelivery.ack()`):
 * the acks (nacks, extends) of one group made in the same tick go out as
 * one request, and every caller's promise settles with it. Against a real
 * ampd on a real redis-server, counting Redis's XACK calls, and on the
 * in-process bus.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "redis";
import { connect } from "../../sdk/client/connect.ts";
import { createLocalBus } from "../../sdk/client/local_bus.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import { Ampd } from "../_helpers/ampd.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";

const describeRedis = REDIS_SKIP_REASON === undefined ? describe : describe.skip;

function task(i: number) {
  return createMessage({ type: "task", sender: "planner", receiver: "coder", payload: { i } });
}

async function fill(bus: AmpClient, stream: string, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => bus.streamAdd(stream, task(i))));
}

let redis: RedisServer;
let ampd: Ampd;
let raw: ReturnType<typeof createClient>;

async function commandCalls(name: string): Promise<number> {
  const stats = String(await raw.sendCommand(["INFO", "commandstats"]));
  return Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
}

if (REDIS_SKIP_REASON === undefined) {
  beforeAll(async () => {
    redis = await RedisServer.start();
    ampd = await Ampd.start({ args: ["--backend", "redis", "--redis", redis.url, "--log-level", "warn"] });
    raw = createClient({ url: redis.url });
    await raw.connect();
  });
  afterAll(async () => {
    await raw?.quit().catch(() => {});
    await ampd?.dispose();
    await redis?.dispose();
  });
}

describeRedis("batched acks through ampd on Redis", () => {
  test("the acks of one fetch, made in one tick, are one ack request; each settles and nothing stays pending", async () => {
    const bus = await connect({ socket: ampd.socket, name: "acker" });
    try {
      const stream = `acks.${crypto.randomUUID()}`;
      await fill(bus, stream, 120);
      const group = bus.group(stream, "workers", { from: "0" });
      const c = group.consumer("w1", { count: 60 });
      let acked = 0;
      for (;;) {
        const ds = await c.fetch();
        if (ds.length === 0) break;
        const before = await commandCalls("xack");
        const settled = await Promise.allSettled(ds.map((d) => d.ack()));
        expect(settled.every((r) => r.status === "fulfilled")).toBe(true);
        expect(await commandCalls("xack")).toBe(before + 1);
        acked += ds.length;
        if (acked === 120) break;
      }
      expect(acked).toBe(120);
      expect(await group.pending()).toEqual([]);
      await c.return();
    } finally {
      await bus.close();
    }
  });

  test("acks from two consumers of one group in the same tick share one request; awaited one by one they still settle", async () => {
    const bus = await connect({ socket: ampd.socket, name: "acker-2" });
    try {
      const stream = `acks.${crypto.randomUUID()}`;
      await fill(bus, stream, 40);
      const group = bus.group(stream, "workers", { from: "0" });
      const [a, b] = [group.consumer("a", { count: 10 }), group.consumer("b", { count: 10 })];
      const da = await a.fetch();
      const db = await b.fetch();
      expect(da.length + db.length).toBe(20);
      const before = await commandCalls("xack");
      await Promise.all([...da, ...db].map((d) => d.ack()));
      expect(await commandCalls("xack")).toBe(before + 1);
      // The iterator's one-at-a-time `await d.ack()` still works (a batch of one each).
      let n = 0;
      for await (const d of a) {
        await d.ack();
        if (++n === 20) break;
      }
      expect(await group.pending()).toEqual([]);
    } finally {
      await bus.close();
    }
  });

  test("nacks with the same delay coalesce; those with another delay go apart; every entry comes back", async () => {
    const bus = await connect({ socket: ampd.socket, name: "nacker" });
    try {
      const stream = `nacks.${crypto.randomUUID()}`;
      await fill(bus, stream, 6);
      const group = bus.group(stream, "workers", { from: "0" });
      const c = group.consumer("w1", { count: 6 });
      const ds = await c.fetch();
      expect(ds.length).toBe(6);
      const before = await commandCalls("evalsha");
      await Promise.all(ds.map((d, i) => d.nack({ delay: i < 4 ? 0 : 60_000 })));
      // Two requests (delay 0, delay 60 s), each one touch script call.
      expect(await commandCalls("evalsha")).toBe(before + 2);
      const pending = await group.pending();
      expect(pending.length).toBe(6);
      // The four with delay 0 are claimable at once: the next fetch gets them again.
      const again = await c.fetch();
      expect(again.map((d) => d.entryId).sort()).toEqual(ds.slice(0, 4).map((d) => d.entryId).sort());
      await Promise.all(again.map((d) => d.ack()));
    } finally {
      await bus.close();
    }
  });

  test("when the request fails, every ack of the batch rejects with its error", async () => {
    const bus = await connect({ socket: ampd.socket, name: "acker-closed" });
    const stream = `acks.${crypto.randomUUID()}`;
    await fill(bus, stream, 5);
    const ds = await bus.group(stream, "workers", { from: "0" }).consumer("w1", { count: 5 }).fetch();
    expect(ds.length).toBe(5);
    await bus.close();
    const settled = await Promise.allSettled(ds.map((d) => d.ack()));
    expect(settled.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected", "rejected", "rejected"]);
    const reasons = settled.map((r) => (r as PromiseRejectedResult).reason);
    expect(reasons.every((e) => e instanceof Error && e === reasons[0])).toBe(true);
  });
});

describe("batched acks on the in-process bus", () => {
  test("acks of one tick settle together and clear the pending list", async () => {
    const bus = createLocalBus();
    try {
      await fill(bus, "tasks", 50);
      const group = bus.group("tasks", "workers", { from: "0" });
      const ds = await group.consumer("w1", { count: 50 }).fetch();
      expect(ds.length).toBe(50);
      const acks = ds.map((d) => d.ack());
      expect((await Promise.allSettled(acks)).every((r) => r.status === "fulfilled")).toBe(true);
      expect(await group.pending()).toEqual([]);
    } finally {
      await bus.close();
    }
  });
});
