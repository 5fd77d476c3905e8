/**
 * The Redis Cluster test helper itself (tests/_helpers/redis_cluster.ts): a
 * real 3-master cluster forms, every slot is served, keys of different slots
 * live on different masters, one stream's keys (`{s}` hash tag, as
 * docs/storage.md lays them out) share one slot, and a master's replica takes
 * over when the master is killed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { CLUSTER_SKIP_REASON, RedisCluster } from "../_helpers/redis_cluster.ts";

const clusters: RedisCluster[] = [];
afterAll(async () => {
  for (const c of clusters) await c.dispose();
});

describe.skipIf(CLUSTER_SKIP_REASON !== undefined)("a real Redis Cluster (test helper)", () => {
  test("3 masters form a cluster that serves all 16384 slots; hash-tagged keys share a slot", async () => {
    const c = await RedisCluster.start({ masters: 3 });
    clusters.push(c);
    const slots = c.slots();
    expect(new Set(slots.map((r) => r.port)).size).toBe(3);
    expect(slots.reduce((n, r) => n + (r.to - r.from + 1), 0)).toBe(16384);
    const slotOf = (key: string) => Number(c.cli(c.nodes[0].port, "cluster", "keyslot", key).trim());
    expect(slotOf("ampbus:{tasks}")).toBe(slotOf("ampbus:{tasks}:dedupe:op-1"));
    const ports = new Set(["a", "b", "c", "d", "e", "f", "g", "h"].map((s) => slots.find((r) => r.from <= slotOf(`ampbus:{${s}}`) && slotOf(`ampbus:{${s}}`) <= r.to)!.port));
    expect(ports.size).toBeGreaterThan(1);
    expect(c.cli(c.nodes[0].port, "-c", "set", "ampbus:{h}", "1").trim()).toBe("OK"); // followed to the slot's master
    expect(c.cli(c.nodes[1].port, "-c", "get", "ampbus:{h}").trim()).toBe("1");
    await c.dispose();
  }, 60_000);

  test("with a replica per master, killing a master promotes its replica and the cluster is ok again", async () => {
    const c = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 });
    clusters.push(c);
    const before = c.slots();
    const victim = c.nodes.find((n) => n.port === before[0].port)!;
    await victim.kill();
    await c.waitOk(30_000);
    const after = c.slots();
    expect(after.reduce((n, r) => n + (r.to - r.from + 1), 0)).toBe(16384);
    expect(after.some((r) => r.port === victim.port)).toBe(false);
    await c.dispose();
  }, 90_000);
});
