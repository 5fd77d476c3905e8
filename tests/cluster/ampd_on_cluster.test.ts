/**
 * ampd on a real Redis Cluster, through its socket: two ampd processes,
 * streams spread over all three masters, consumers in groups on both
 * sidecars; every acknowledged message delivered and none doubled. Then a
 * slot of a busy stream is moved to another master (`CLUSTER SETSLOT` and
 * `MIGRATE`, as `redis-cli --cluster reshard` does) under live traffic:
 * no client sees an error.
 *
 * Size: CLUSTER_N messages (default 20 000) over CLUSTER_STREAMS streams (default 16).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "../../sdk/client/connect.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import type { GroupDelivery } from "../../sdk/client/group.ts";
import { slotOf } from "../../sidecar/backend/_redis_cluster.ts";
import { Ampd, buildAmpd, runAmpd } from "../_helpers/ampd.ts";
import { CLUSTER_SKIP_REASON, RedisCluster } from "../_helpers/redis_cluster.ts";
import { DedupeStore, missing, numbered, printFigures, Processes, sleep, until } from "../faults/_fault.ts";

const N = Number(process.env.CLUSTER_N ?? 20_000);
const STREAMS = Number(process.env.CLUSTER_STREAMS ?? 16);

let cluster: RedisCluster | undefined;
const procs = new Processes();
beforeAll(async () => {
  await buildAmpd();
  if (CLUSTER_SKIP_REASON === undefined) cluster = await RedisCluster.start({ masters: 3 });
}, 90_000);
afterAll(async () => {
  await procs.disposeAll();
  await cluster?.dispose();
});

function startOnCluster(extra: string[] = []): Promise<Ampd> {
  return Ampd.start({ args: ["--redis-cluster", cluster!.urls.join(","), "--log-level", "info", ...extra] });
}

async function client(socket: string, name: string): Promise<AmpClient> {
  const bus = await connect({ socket, name });
  procs.track({ dispose: () => bus.close() });
  return bus;
}

function masterOf(stream: string): number {
  const slot = slotOf(`ampbus:{${stream}}`);
  return cluster!.slots().find((r) => r.from <= slot && slot <= r.to)!.port;
}

function drain(it: AsyncIterable<GroupDelivery>, handle: (d: GroupDelivery) => Promise<void>, errors: Error[]): Promise<void> {
  return (async () => {
    try {
      for await (const d of it) await handle(d);
    } catch (e) {
      errors.push(e as Error);
    }
  })();
}

describe.skipIf(CLUSTER_SKIP_REASON !== undefined)("ampd on a Redis Cluster", () => {
  test("one node's URL: ampd detects the cluster and says so", async () => {
    const ampd = procs.track(await Ampd.start({ args: ["--redis", cluster!.nodes[0].url, "--log-level", "info"] }));
    expect(ampd.stderr).toContain("a Redis Cluster of 3 masters");
    const bus = await client(ampd.socket, "probe");
    // Streams on every master work, not only the node named.
    const streams = Array.from({ length: 12 }, (_, i) => `cluster.detect.${i}`);
    expect(new Set(streams.map(masterOf)).size).toBe(3);
    for (const [i, s] of streams.entries()) expect((await bus.streamAdd(s, numbered("detect", i))).duplicate).toBe(false);
  }, 30_000);

  test("bad cluster flags are refused with the flag named (exit 2)", async () => {
    const both = await runAmpd(["--redis", "redis://127.0.0.1:1", "--redis-cluster", "redis://127.0.0.1:2"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("either --redis or --redis-cluster");
    const bad = await runAmpd(["--redis-cluster", "127.0.0.1:7000"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--redis-cluster must be redis:// or rediss:// URLs (was "127.0.0.1:7000")');
    const wait = await runAmpd(["--redis-cluster", "redis://127.0.0.1:7000", "--redis-wait", "many"]);
    expect(wait.code).toBe(2);
    expect(wait.stderr).toContain("--redis-wait must be a number of replicas");
  }, 30_000);

  test(`${N} messages over ${STREAMS} streams on all three masters, through two ampd, consumed in groups: every acknowledged message delivered once`, async () => {
    const a = procs.track(await startOnCluster());
    const b = procs.track(await startOnCluster());
    const pubs = [await client(a.socket, "pub-a"), await client(b.socket, "pub-b")];
    const subs = [await client(a.socket, "sub-a"), await client(b.socket, "sub-b")];
    const run = `c${Date.now()}`;
    const streams = Array.from({ length: STREAMS }, (_, i) => `cluster.load.${run}.${i}`);
    expect(new Set(streams.map(masterOf)).size).toBe(3);
    for (const s of streams) await subs[0]!.group(s, "workers", { from: "0" }).ensure();

    const store = new DedupeStore();
    const errors: Error[] = [];
    const consumers = streams.flatMap((s) =>
      subs.map((sub, k) => ({ c: sub.group(s, "workers").consumer(`w${k}`, { count: 32, block: 500 }), id: `w${k}` }))
    );
    const consuming = consumers.map(({ c, id }) =>
      drain(c, async (d) => {
        store.process(d, id);
        await d.ack();
        store.ackedOk.add(d.message.opId);
      }, errors)
    );

    const acked = new Set<string>();
    let failed = 0;
    let next = 0;
    const worker = async (pub: AmpClient) => {
      while (next < N) {
        const i = next++;
        const m = numbered(run, i);
        try {
          await pub.streamAdd(streams[i % STREAMS]!, m);
          acked.add(m.opId);
        } catch (e) {
          failed++;
          errors.push(e as Error);
        }
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 32 }, (_, k) => worker(pubs[k % 2]!)));
    const publishMs = performance.now() - t0;
    await until("every acknowledged message to be processed", () => missing(acked, store.processed).length === 0 || errors.length > 0, 120_000);
    for (const { c } of consumers) await c.return();
    await Promise.all(consuming);

    const lengths = await Promise.all(streams.map(async (s) => Number((await pubs[0]!.port.streamInfo(s)).length)));
    const stored = lengths.reduce((x, y) => x + y, 0);
    printFigures("cluster-two-ampd", {
      messages: N,
      streams: STREAMS,
      acked: acked.size,
      failed,
      stored,
      delivered: store.deliveries,
      processed: store.processed.size,
      doubled: store.dedupeHits,
      redelivered: store.redelivered,
      publishPerSec: Math.round(N / (publishMs / 1000)),
    });
    expect(errors).toEqual([]);
    expect(acked.size).toBe(N);
    expect(stored).toBe(N); // each stored once
    expect(missing(acked, store.processed)).toEqual([]);
    expect(store.processed.size).toBe(N);
    expect(store.dedupeHits).toBe(0); // none delivered twice
    const per = store.perConsumer();
    expect(per.w0 ?? 0).toBeGreaterThan(0);
    expect(per.w1 ?? 0).toBeGreaterThan(0);
  }, 240_000);

  test("moving a busy stream's slot to another master under live traffic: no client error, nothing lost", async () => {
    const ampd = procs.track(await startOnCluster());
    const pub = await client(ampd.socket, "reshard-pub");
    const sub = await client(ampd.socket, "reshard-sub");
    const stream = `cluster.reshard.${Date.now()}`;
    const slot = slotOf(`ampbus:{${stream}}`);
    await sub.group(stream, "g", { from: "0" }).ensure();
    const store = new DedupeStore();
    const errors: Error[] = [];
    const consumer = sub.group(stream, "g").consumer("w", { count: 32, block: 200 });
    const consuming = drain(consumer, async (d) => {
      store.process(d, "w");
      await d.ack();
    }, errors);
    const acked = new Set<string>();
    let stop = false;
    let i = 0;
    const publishing = (async () => {
      while (!stop) {
        const m = numbered("reshard", i++);
        try {
          await pub.streamAdd(stream, m);
          acked.add(m.opId);
        } catch (e) {
          errors.push(e as Error);
        }
        if (i % 20 === 0) await sleep(1);
      }
    })();
    await until("some traffic", () => acked.size > 200, 30_000);

    // Move the slot by hand, as redis-cli --cluster reshard does for each slot.
    const from = cluster!.nodes.find((n) => n.port === masterOf(stream))!;
    const to = cluster!.nodes.slice(0, cluster!.masters).find((n) => n.port !== from.port)!;
    const idOf = (port: number) => cluster!.cli(port, "cluster", "myid").trim();
    const fromId = idOf(from.port);
    const toId = idOf(to.port);
    cluster!.cli(to.port, "cluster", "setslot", String(slot), "importing", fromId);
    cluster!.cli(from.port, "cluster", "setslot", String(slot), "migrating", toId);
    await sleep(100); // traffic meets a slot being migrated (ASK, TRYAGAIN)
    let moved = 0;
    for (;;) {
      const keys = cluster!.cli(from.port, "cluster", "getkeysinslot", String(slot), "100").split("\n").filter((k) => k !== "");
      if (keys.length === 0) break;
      for (const key of keys) {
        cluster!.cli(from.port, "migrate", "127.0.0.1", String(to.port), key, "0", "5000");
        moved++;
        await sleep(5);
      }
    }
    for (const n of cluster!.nodes.slice(0, cluster!.masters)) cluster!.cli(n.port, "cluster", "setslot", String(slot), "node", toId);
    await until("the slot to be served by its new master everywhere", () => masterOf(stream) === to.port, 10_000);
    const before = acked.size;
    await until("traffic on the new master", () => acked.size > before + 200, 30_000);
    stop = true;
    await publishing;
    await until("every acknowledged message to be processed", () => missing(acked, store.processed).length === 0 || errors.length > 0, 30_000);
    await consumer.return();
    await consuming;
    printFigures("cluster-reshard", { slot, keysMoved: moved, acked: acked.size, processed: store.processed.size, errors: errors.length });
    expect(moved).toBeGreaterThan(1); // the stream and its dedupe keys
    expect(errors).toEqual([]);
    expect(missing(acked, store.processed)).toEqual([]);
    expect(Number((await pub.port.streamInfo(stream)).length)).toBe(acked.size);
  }, 120_000);
});
