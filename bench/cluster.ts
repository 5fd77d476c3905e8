/**
 * ampd on a Redis Cluster beside ampd on one Redis, in the same run: acked
 * publish (SDK `port.add`, `--inflight` in flight) over `--streams` streams,
 * then group consume of what was published (a fresh group per stream, one
 * consumer each, COUNT 100 and one batched ack per fetch), and the same on
 * the cluster with `--redis-wait 1`. Rounds are interleaved, the order
 * rotated each round.
 *
 * The target (issue 15) is ampd's own cost: CPU microseconds ampd spends per
 * message on the cluster within 1.3x of what it spends on one Redis. Wall
 * rates are given too, but on 2 cores the cluster's three masters and three
 * replicas compete with ampd and the client for the same CPUs.
 *
 * Run: `bun bench/cluster.ts [--n=20000] [--streams=16] [--rounds=5] [--inflight=64]`
 * (also `npm run bench -- --cluster`). Needs redis-server and redis-cli.
 *
 * @module
 */
import { createMessage, encode } from "../mod.ts";
import type { AmpClient } from "../mod.ts";
import { RedisCluster } from "../tests/_helpers/redis_cluster.ts";
import { check, fetchAndAck } from "./_groups.ts";
import { cleanupAll, cleanups, cpuSeconds, loadAverage, log, numberFlag, runSummary, sdkClient, startAmpd, startRedis } from "./_proc.ts";
import { median } from "./_stats.ts";
import { windowed } from "./_stats.ts";

const N = numberFlag("n", 20_000);
const STREAMS = numberFlag("streams", 16);
const ROUNDS = numberFlag("rounds", 5);
const INFLIGHT = numberFlag("inflight", 64);

interface Setup {
  name: string;
  pid: number;
  pub: AmpClient;
  sub: AmpClient;
}

interface Sample {
  publishRate: number;
  publishUsPerMsg: number;
  consumeRate: number;
  consumeUsPerMsg: number;
}

const messages: Uint8Array[] = Array.from({ length: N }, (_, i) =>
  encode(createMessage({
    type: "task",
    sender: "bench",
    receiver: "worker",
    opId: `cluster-bench-${i}`,
    payload: { i, task: "summarise the failing tests of the last build and propose a fix" },
  }))
);

async function round(s: Setup, r: number): Promise<Sample> {
  const streams = Array.from({ length: STREAMS }, (_, i) => `bench.cluster.${r}.${i}`);
  let c0 = cpuSeconds(s.pid);
  let t0 = performance.now();
  await windowed({ count: N, inflight: INFLIGHT }, (i) => s.pub.port.add(streams[i % STREAMS]!, messages[i]!));
  const publishS = (performance.now() - t0) / 1000;
  const publishCpu = cpuSeconds(s.pid) - c0;
  c0 = cpuSeconds(s.pid);
  t0 = performance.now();
  let acked = 0;
  await Promise.all(streams.map(async (stream) => {
    const group = `g${r}`;
    const g = s.sub.group(stream, group, { from: "0" });
    await g.ensure();
    const t = await fetchAndAck({ clients: [s.sub], cons: [g.consumer("c0", { count: 100, block: 1 })], stream, group });
    acked += t.acked;
  }));
  const consumeS = (performance.now() - t0) / 1000;
  const consumeCpu = cpuSeconds(s.pid) - c0;
  check(acked === N, `${s.name} round ${r}: consumed ${acked} of ${N}`);
  for (const stream of streams) await s.pub.trim(stream, 0);
  return {
    publishRate: N / publishS,
    publishUsPerMsg: (publishCpu * 1e6) / N,
    consumeRate: N / consumeS,
    consumeUsPerMsg: (consumeCpu * 1e6) / N,
  };
}

function mmm(xs: number[], digits = 0): string {
  const s = [...xs].sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(digits);
  return `${f(s[0]!)} / ${f(median(s))} / ${f(s[s.length - 1]!)}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const load0 = loadAverage();
  log(`starting one redis-server and a Redis Cluster of 3 masters + 3 replicas`);
  const single = await startRedis();
  const cluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 });
  cleanups.push(() => cluster.dispose());
  const seeds = cluster.urls.join(",");
  const setups: Setup[] = [];
  for (const [name, args] of [
    ["one Redis", ["--backend", "redis", "--redis", single.url]],
    ["cluster (3 masters)", ["--backend", "redis", "--redis-cluster", seeds]],
    ["cluster, --redis-wait 1", ["--backend", "redis", "--redis-cluster", seeds, "--redis-wait", "1"]],
  ] as const) {
    const ampd = await startAmpd(args);
    setups.push({ name, pid: ampd.pid, pub: await sdkClient(ampd.socket, "bench-pub"), sub: await sdkClient(ampd.socket, "bench-sub") });
  }
  const samples = new Map<string, Sample[]>(setups.map((s) => [s.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = setups.map((_, i) => setups[(i + r) % setups.length]!);
    for (const s of order) {
      // Streams are fresh per round and setup, so the same opIds are never answered duplicate.
      const sample = await round(s, r * 10 + setups.indexOf(s));
      samples.get(s.name)!.push(sample);
      log(`round ${r + 1}/${ROUNDS} ${s.name}: publish ${sample.publishRate.toFixed(0)}/s (${sample.publishUsPerMsg.toFixed(1)} µs ampd CPU/msg), consume ${sample.consumeRate.toFixed(0)}/s (${sample.consumeUsPerMsg.toFixed(1)} µs/msg)`);
    }
  }
  const rows = setups.map((s) => {
    const xs = samples.get(s.name)!;
    return [
      s.name,
      mmm(xs.map((x) => x.publishRate)),
      mmm(xs.map((x) => x.publishUsPerMsg), 1),
      mmm(xs.map((x) => x.consumeRate)),
      mmm(xs.map((x) => x.consumeUsPerMsg), 1),
    ];
  });
  const med = (name: string, f: (x: Sample) => number) => median(samples.get(name)!.map(f));
  const ratio = (name: string, f: (x: Sample) => number) => med(name, f) / med("one Redis", f);
  console.log(`## ampd on a Redis Cluster vs one Redis (${N} messages over ${STREAMS} streams, ${INFLIGHT} in flight, ${ROUNDS} rounds; min / median / max)\n`);
  console.log("| setup | acked publish msg/s | ampd CPU µs per publish | group consume msg/s | ampd CPU µs per consumed |");
  console.log("|---|---|---|---|---|");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  const pubRatio = ratio("cluster (3 masters)", (x) => x.publishUsPerMsg);
  const conRatio = ratio("cluster (3 masters)", (x) => x.consumeUsPerMsg);
  console.log("");
  console.log(`ampd's CPU per message, cluster / one Redis (medians): publish ${pubRatio.toFixed(2)}x, consume ${conRatio.toFixed(2)}x (target <= 1.3x: ${pubRatio <= 1.3 && conRatio <= 1.3 ? "met" : "missed"})`);
  console.log(`--redis-wait 1 on the cluster: publish rate ${(ratio("cluster, --redis-wait 1", (x) => x.publishRate) / ratio("cluster (3 masters)", (x) => x.publishRate)).toFixed(2)}x of the cluster without it, ampd CPU per publish ${(med("cluster, --redis-wait 1", (x) => x.publishUsPerMsg) / med("cluster (3 masters)", (x) => x.publishUsPerMsg)).toFixed(2)}x`);
  console.log(runSummary(started, load0));
}

try {
  await main();
} finally {
  await cleanupAll();
}
