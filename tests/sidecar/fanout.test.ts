/**
 * Fan-out through ampd on Redis: every subscription of a stream on one ampd
 * is served by one shared backend read (sdk/backend/shared_reader.ts).
 * Real processes: redis-server and dist/ampd. 20 subscriptions from
 * different cursors, on four connections, each get exactly the entries
 * after their own cursor, once and in order; a subscription without credit
 * holds nobody back and loses nothing; Redis sees far fewer XREADs than one
 * per subscription per burst.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "redis";
import { connect } from "../../sdk/client/connect.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";
import { Ampd } from "../_helpers/ampd.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";

const describeRedis = REDIS_SKIP_REASON === undefined ? describe : describe.skip;

let redis: RedisServer;
let ampd: Ampd;
let raw: ReturnType<typeof createClient>;
const clients: AmpClient[] = [];

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function publish(bus: AmpClient, stream: string, n: number): Promise<string[]> {
  const rs = await Promise.all(Array.from({ length: n }, (_, i) =>
    bus.streamAdd(stream, createMessage({ type: "obs.tick", sender: "pub", receiver: "broadcast", payload: { i } }))));
  return rs.map((r) => r.entryId);
}

/** A raw subscription (`port.subscribe` + `credit`), recording the entry ids pushed to it. */
async function subscribe(bus: AmpClient, o: { stream: string; from: string; credit: number; regrant: boolean }) {
  const got: string[] = [];
  let sub = -1;
  let granted = o.credit;
  // Re-grants by halves; pushes may come before subscribe() resolves with the id.
  const regrant = () => {
    while (o.regrant && sub >= 0 && granted - got.length <= o.credit / 2) {
      granted += o.credit / 2;
      void bus.port.credit(sub, o.credit / 2);
    }
  };
  const r = await bus.port.subscribe(o.stream, {
    from: o.from,
    credit: o.credit,
    onEntries: (entries) => {
      for (const [id] of entries) got.push(id);
      regrant();
    },
  });
  sub = r.sub;
  regrant();
  return { got, sub, grant: (n: number) => bus.port.credit(sub, n) };
}

type Sub = Awaited<ReturnType<typeof subscribe>>;

async function xreadCalls(): Promise<number> {
  const stats = String(await raw.sendCommand(["INFO", "commandstats"]));
  return Number(/cmdstat_xread:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

if (REDIS_SKIP_REASON === undefined) {
  beforeAll(async () => {
    redis = await RedisServer.start();
    ampd = await Ampd.start({ args: ["--backend", "redis", "--redis", redis.url, "--log-level", "warn"] });
    raw = createClient({ url: redis.url });
    await raw.connect();
    for (let i = 0; i < 5; i++) clients.push(await connect({ socket: ampd.socket, name: `fan-${i}` }));
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await raw?.quit().catch(() => {});
    await ampd?.dispose();
    await redis?.dispose();
  });
}

describeRedis("fan-out through ampd on Redis", () => {
  test("20 subscriptions from different cursors each get exactly the entries after their cursor, in order, once", async () => {
    const stream = `fanout.${crypto.randomUUID()}`;
    const pub = clients[4]!;
    const before = await publish(pub, stream, 100);
    // Cursors: the start, 18 points inside the stream, its last entry.
    const cursors = ["0", ...Array.from({ length: 18 }, (_, k) => before[k * 5]!), before[99]!];
    const subs: Sub[] = [];
    for (let k = 0; k < cursors.length; k++) {
      subs.push(await subscribe(clients[k % 4]!, { stream, from: cursors[k]!, credit: 64, regrant: true }));
    }
    await until("the catch-up", () => subs.every((s, k) => s.got.length === (k === 0 ? 100 : 99 - before.indexOf(cursors[k]!))));
    const calls0 = await xreadCalls();
    const after: string[] = [];
    for (let burst = 0; burst < 10; burst++) {
      after.push(...await publish(pub, stream, 50));
      await until("the burst", () => subs.every((s) => s.got.at(-1) === after.at(-1)));
    }
    const calls = (await xreadCalls()) - calls0;
    const all = [...before, ...after];
    subs.forEach((s, k) => {
      const from = k === 0 ? 0 : all.indexOf(cursors[k]!) + 1;
      expect(s.got).toEqual(all.slice(from));
    });
    // Reads of their own would take at least one XREAD per subscription per burst (200).
    expect(calls).toBeLessThan(100);
  }, 60_000);

  test("a subscription out of credit holds nobody back and, given credit, gets everything it missed, once and in order", async () => {
    const stream = `fanout.${crypto.randomUUID()}`;
    const pub = clients[4]!;
    const fast: Sub[] = [];
    for (let k = 0; k < 3; k++) fast.push(await subscribe(clients[k]!, { stream, from: "0", credit: 200, regrant: true }));
    const slow = await subscribe(clients[3]!, { stream, from: "0", credit: 10, regrant: false });
    const ids: string[] = [];
    // More than the shared window (4096 entries): the slow one must read the old part on its own.
    for (let i = 0; i < 6; i++) ids.push(...await publish(pub, stream, 1000));
    await until("the fast ones", () => fast.every((s) => s.got.length === ids.length), 60_000);
    expect(slow.got).toEqual(ids.slice(0, 10));
    await slow.grant(100_000);
    await until("the slow one", () => slow.got.length === ids.length, 60_000);
    for (const s of [...fast, slow]) expect(s.got).toEqual(ids);
  }, 120_000);
});
