/**
 * A real Redis Cluster for tests: `masters` redis-server processes (and
 * `replicasPerMaster` replicas of each) on free ports, each in its own temp
 * dir, joined by `redis-cli --cluster create` and waited for until every
 * node reports `cluster_state:ok` and agrees on the slots. Fault tests may
 * kill a node (`nodes[i].kill()`). `dispose()` stops every process and
 * removes the dirs. Needs `redis-server` and `redis-cli` (`npm test`
 * installs both, as root on Debian); under CI a missing one is a failure.
 */
import { spawnSync } from "node:child_process";
import { REDIS_SKIP_REASON, RedisServer } from "./redis_server.ts";

function runs(command: string, args: string[]): boolean {
  const r = spawnSync(command, args, { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

/** Why cluster suites are skipped, or undefined when they run. */
export const CLUSTER_SKIP_REASON: string | undefined = REDIS_SKIP_REASON ??
  (runs("redis-cli", ["--version"]) ? undefined : "redis-cli is not on PATH: skipping the Redis Cluster tests (apt-get install redis-tools; npm test does, as root on Debian)");

if (CLUSTER_SKIP_REASON !== undefined && process.env.CI) {
  throw new Error(`${CLUSTER_SKIP_REASON}, but CI is set: the cluster tests must run in CI`);
}

/** Options of `RedisCluster.start()`. */
export interface RedisClusterOptions {
  /** Masters; Redis Cluster needs at least 3. Defaults to 3. */
  masters?: number;
  /** Replicas of each master. Defaults to 0. */
  replicasPerMaster?: number;
  /** Milliseconds to wait for the cluster to form. Defaults to 20000. */
  formTimeoutMs?: number;
}

/** One `CLUSTER SLOTS` range: slots `from`..`to` and the port of the master serving them. */
export interface SlotRange {
  from: number;
  to: number;
  port: number;
}

/** A running Redis Cluster of child processes. */
export class RedisCluster {
  /** Every node, masters first (in `redis-cli --cluster create` order). */
  readonly nodes: RedisServer[];
  readonly masters: number;

  private constructor(nodes: RedisServer[], masters: number) {
    this.nodes = nodes;
    this.masters = masters;
  }

  /** `redis://127.0.0.1:<port>` of every node: the seed list a cluster client takes. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** Starts the nodes, forms the cluster and waits until it is ok everywhere. */
  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    if (CLUSTER_SKIP_REASON !== undefined) throw new Error(CLUSTER_SKIP_REASON);
    const masters = options.masters ?? 3;
    const replicas = options.replicasPerMaster ?? 0;
    if (masters < 3) throw new Error("a Redis Cluster needs at least 3 masters");
    const nodes: RedisServer[] = [];
    const cluster = new RedisCluster(nodes, masters);
    try {
      for (let i = 0; i < masters * (1 + replicas); i++) nodes.push(await RedisServer.start({ cluster: true }));
      const create = spawnSync("redis-cli", [
        "--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`),
        "--cluster-replicas", String(replicas), "--cluster-yes",
      ], { encoding: "utf8", timeout: 30_000 });
      if (create.status !== 0) throw new Error(`redis-cli --cluster create failed (${create.status}): ${create.stdout}${create.stderr}`);
      await cluster.waitOk(options.formTimeoutMs ?? 20_000);
      if (replicas > 0) await cluster.waitReplicated(options.formTimeoutMs ?? 20_000);
      return cluster;
    } catch (e) {
      await cluster.dispose();
      throw e;
    }
  }

  /** `redis-cli -p <port> <args>`'s output; throws when it fails. */
  cli(port: number, ...args: string[]): string {
    const r = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { encoding: "utf8", timeout: 10_000 });
    if (r.status !== 0) throw new Error(`redis-cli -p ${port} ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout;
  }

  /** The slot ranges and their masters, as node `port` sees them (`CLUSTER NODES`). */
  slots(port: number = this.nodes.find((n) => n.running)!.port): SlotRange[] {
    const out: SlotRange[] = [];
    // <id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot> <slot>...
    for (const line of this.cli(port, "cluster", "nodes").split("\n")) {
      const f = line.trim().split(" ");
      if (f.length < 8 || !f[2].split(",").includes("master") || f[2].includes("fail")) continue;
      const nodePort = Number(/:(\d+)@/.exec(f[1])?.[1]);
      for (const slot of f.slice(8)) {
        if (slot.startsWith("[")) continue; // a slot being migrated
        const [from, to] = slot.split("-").map(Number);
        out.push({ from, to: to ?? from, port: nodePort });
      }
    }
    return out.sort((a, b) => a.from - b.from);
  }

  /**
   * Resolves once every live node says `cluster_state:ok`, the slots cover all
   * 16384, and every slot's master is a node that runs (so after a kill, once
   * a replica has taken over).
   */
  async waitOk(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      try {
        const states = this.nodes.filter((n) => n.running).map((n) => /cluster_state:(\w+)/.exec(this.cli(n.port, "cluster", "info"))?.[1]);
        const slots = this.slots();
        const covered = slots.reduce((sum, r) => sum + (r.to - r.from + 1), 0);
        const live = new Set(this.nodes.filter((n) => n.running).map((n) => n.port));
        const dead = slots.filter((r) => !live.has(r.port)).length;
        last = `states ${states.join(",")}, ${covered} slots covered, ${dead} ranges on stopped nodes`;
        if (states.every((s) => s === "ok") && covered === 16384 && dead === 0) return;
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the Redis Cluster did not become ok within ${timeoutMs} ms (${last})`);
  }

  /**
   * Resolves once every replica's link to its master is up (its first sync
   * done): a replica that never synced cannot take over a failed master.
   */
  async waitReplicated(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      const infos = this.nodes.filter((n) => n.running).map((n) => this.cli(n.port, "info", "replication"));
      const replicas = infos.filter((i) => /role:slave/.test(i));
      const up = replicas.filter((i) => /master_link_status:up/.test(i)).length;
      last = `${up} of ${replicas.length} replicas synced`;
      if (replicas.length === this.nodes.length - this.masters && up === replicas.length) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the replicas did not sync within ${timeoutMs} ms (${last})`);
  }

  /** Stops every node and removes their directories. */
  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }
}
