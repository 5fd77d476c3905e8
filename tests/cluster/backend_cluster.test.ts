/**
 * RedisBackend on a real 3-master Redis Cluster: both backend contract
 * suites, exactly as on one Redis, plus what only a cluster brings: streams
 * spread over every master, reads and blocking reads over streams of
 * several slots (split by slot, merged in order), stream listing across
 * nodes, and the detection of a cluster from one node's URL.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisBackend } from "../../sidecar/backend/redis.ts";
import { slotOf } from "../../sidecar/backend/_redis_cluster.ts";
import { CLUSTER_SKIP_REASON, RedisCluster } from "../_helpers/redis_cluster.ts";
import { backendContract, freshStream, makeEntry, numberOf, sleep } from "../sidecar/backend_contract.ts";
import { groupsContract } from "../sidecar/backend_groups_contract.ts";

let cluster: RedisCluster;
const backends: RedisBackend[] = [];

async function open(options: { dedupeWindowMs?: number; claimTimeoutMs?: number; prefix?: string } = {}): Promise<RedisBackend> {
  const b = await RedisBackend.connect({ url: cluster.nodes[0].url, clusterNodes: cluster.urls, ...options });
  backends.push(b);
  return b;
}

if (CLUSTER_SKIP_REASON === undefined) {
  beforeAll(async () => {
    cluster = await RedisCluster.start({ masters: 3 });
  }, 90_000);
  afterAll(async () => {
    for (const b of backends) await b.close();
    await cluster?.dispose();
  });
}

backendContract("RedisBackend on a Redis Cluster", (o) => open(o), { skip: CLUSTER_SKIP_REASON });
groupsContract("RedisBackend on a Redis Cluster", (o) => open(o), { skip: CLUSTER_SKIP_REASON });

/** The port of the master serving `stream`'s slot. */
function masterOf(stream: string): number {
  const slot = slotOf(`ampbus:{${stream}}`);
  return cluster.slots().find((r) => r.from <= slot && slot <= r.to)!.port;
}

/** `n` fresh streams, at least one on every master. */
function spreadStreams(tag: string, n: number): string[] {
  const out: string[] = [];
  const masters = new Set<number>();
  for (let i = 0; out.length < n || masters.size < cluster.masters; i++) {
    const s = freshStream(`${tag}${i}`);
    out.push(s);
    masters.add(masterOf(s));
  }
  return out;
}

describe.skipIf(CLUSTER_SKIP_REASON !== undefined)("RedisBackend on a Redis Cluster: specifics", () => {
  test("one node's URL is enough: the cluster is detected, and every stream works whatever its slot", async () => {
    const b = await RedisBackend.connect({ url: cluster.nodes[1].url });
    backends.push(b);
    expect(b.clusterNodes?.length).toBe(3);
    expect(b.clusterNodes!.reduce((n, m) => n + m.slots, 0)).toBe(16384);
    const streams = spreadStreams("detect", 8);
    for (const [i, s] of streams.entries()) {
      const r = await b.add(s, makeEntry(i));
      expect(r.duplicate).toBe(false);
      const info = await b.info(s);
      expect(info.length).toBe(1);
    }
    expect(new Set(streams.map(masterOf)).size).toBe(3);
    expect(b.backendInfo().state).toBe("ready");
  });

  test("a read over streams of every master returns each stream's entries, in cursor order", async () => {
    const b = await open();
    const streams = spreadStreams("multi", 6);
    for (const [i, s] of streams.entries()) {
      for (let k = 0; k < 3; k++) await b.add(s, makeEntry(i * 10 + k));
    }
    const batches = await b.read(streams.map((stream) => ({ stream, after: "0" })), { count: 10 });
    expect(batches.map((x) => x.stream)).toEqual(streams);
    for (const [i, batch] of batches.entries()) expect(batch.entries.map(numberOf)).toEqual([i * 10, i * 10 + 1, i * 10 + 2]);
  });

  test("a blocking read over streams on different masters wakes for an add to any of them", async () => {
    const b = await open();
    const streams = spreadStreams("block", 3);
    const last = streams[streams.length - 1]!;
    for (const target of [streams[0]!, last]) {
      const t0 = Date.now();
      const pending = b.read(streams.map((stream) => ({ stream, after: "$" })), { block: 5000, count: 10 });
      await new Promise((r) => setTimeout(r, 100));
      await b.add(target, makeEntry(7));
      const got = await pending;
      expect(got.map((x) => x.stream)).toEqual([target]);
      expect(got[0]!.entries.map(numberOf)).toEqual([7]);
      expect(Date.now() - t0).toBeLessThan(4000); // woke for the add, not by the 5 s timeout
    }
  });

  test("streams() lists the streams of every master", async () => {
    const b = await open({ prefix: `list${Date.now()}:` });
    const streams = spreadStreams("ls", 9);
    for (const s of streams) await b.add(s, makeEntry(1));
    expect(await b.streams()).toEqual([...streams].sort());
  });

  test("a dead letter crosses slots safely: ampd dying between its two steps loses nothing and doubles nothing", async () => {
    const { GroupReader } = await import("../../sdk/backend/group_reader.ts");
    const b = await open({ claimTimeoutMs: 50 });
    let stream = freshStream("dlqsrc");
    while (masterOf(stream) === masterOf(`${stream}.dlq`)) stream = freshStream("dlqsrc");
    const ref = { stream, group: "g", consumer: "c1" };
    await b.createGroup(ref, { from: "0" });
    await b.add(stream, makeEntry(1));
    const policy = { claimTimeoutMs: 50, maxDeliveries: 1 };
    // First delivery, never acked.
    expect((await new GroupReader(b, policy).read({ ...ref, count: 10 })).length).toBe(1);
    await sleep(80);
    // An ampd that dies after the dead letter is stored (step 1, on the .dlq stream's master)
    // and before the source entry is acked (step 2, on the source's master).
    const dying = new Proxy(b, {
      get(target, p) {
        if (p === "ack") return () => Promise.reject(new Error("ampd died here"));
        const v = Reflect.get(target, p);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    await expect(new GroupReader(dying, policy).read({ ...ref, consumer: "c2", count: 10 })).rejects.toThrow("ampd died here");
    expect((await b.info(`${stream}.dlq`)).length).toBe(1);
    expect((await b.pending(ref)).length).toBe(1); // not lost: still pending at the source
    // The restarted ampd claims it again, moves it again (the dead letter's opId is fixed per
    // source entry, so it is stored once) and acks it.
    await sleep(80);
    expect(await new GroupReader(b, policy).read({ ...ref, consumer: "c3", count: 10 })).toEqual([]);
    expect((await b.info(`${stream}.dlq`)).length).toBe(1);
    expect((await b.pending(ref)).length).toBe(0);
  });
});
