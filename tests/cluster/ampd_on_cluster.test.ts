/**
 * ampd pointed at a Redis Cluster node: until it speaks the cluster
 * protocol, it refuses at start-up with a message that says so, rather than
 * report ready and then fail most streams with MOVED (a reachable Redis
 * reported as unavailable). A standalone Redis is unaffected (the other
 * Redis suites).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildAmpd, runAmpd } from "../_helpers/ampd.ts";
import { CLUSTER_SKIP_REASON, RedisCluster } from "../_helpers/redis_cluster.ts";

let cluster: RedisCluster | undefined;
beforeAll(async () => {
  await buildAmpd();
  if (CLUSTER_SKIP_REASON === undefined) cluster = await RedisCluster.start({ masters: 3 });
}, 90_000);
afterAll(async () => {
  await cluster?.dispose();
});

describe.skipIf(CLUSTER_SKIP_REASON !== undefined)("ampd on a Redis Cluster node", () => {
  test("exits 1 at start-up naming the cluster, never ready, never falling back to memory", async () => {
    const r = await runAmpd(["--redis", cluster!.nodes[0].url, "--fallback", "memory", "--backend", "auto"]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("ampd ready");
    expect(r.stderr).toContain("is a Redis Cluster node");
    expect(r.stderr).toContain("MOVED");
  }, 30_000);
});
