/**
 * The bus benchmark: what the sidecar `ampd` costs and delivers, on Redis
 * and on in-memory streams, next to raw node-redis, NATS JetStream and core
 * NATS, all from the same runtime in the same run, the systems interleaved.
 *
 * Usage: `bun bench/bus.ts [--n=100000] [--rounds=3] [--inflight=1000] [--seconds=5] [--rate=10000]
 * [--n-large=N/10] [--subscribers=100] [--fanout-msgs=N/20] [--idle-agents=1000] [--no-nats]`
 * (also `npm run bench -- --bus`, which runs this file); quick check:
 * `bun bench/bus.ts --n=20000 --rounds=1`. `--seconds` defaults to 5 at
 * N = 100,000 and shrinks with N (1 s at 20,000). With `--durable` it runs
 * the durable-backend comparison instead (`_durable.ts`).
 *
 * It starts its own `redis-server` (free port, temp dir, no persistence),
 * a `nats-server -js` when one is found (free port, store in a temp dir;
 * `_nats.ts`; else the NATS rows are skipped with the reason printed), and
 * the compiled `dist/ampd` (built first when missing or stale) four times:
 * `--backend memory`, `--backend redis`, and two more on memory for the
 * scale rows, one of them with `--idle-agents` connections that said hello
 * and sit idle. Then, each round running every system one after the other,
 * the order rotated by one each round (`_systems.ts`):
 *
 * 1. acked publish of the seed message (~400 B), `--inflight` in flight:
 *    ampd (SDK `port.add`, pre-built frames), raw node-redis XADD and
 *    EVALSHA of ampd's add script, JetStream `js.publish` (PubAck awaited,
 *    `msgID` = opId, file storage), core NATS publish + flush (reference);
 * 2. the same with the 16 KiB result message (`--n-large` of them);
 * 3. group consume + ack of the seed entries the publish row stored: ampd
 *    `fetch()` + one batched ack, raw XREADGROUP + XACK, a JetStream pull
 *    consumer with acks;
 * 4. fan-out of `--fanout-msgs` messages to `--subscribers` subscriber
 *    connections (deliveries/s; `_fanout.ts`);
 * 5. publish-to-delivery latency at `--rate` (`_latency.ts`; its own rounds
 *    before the others, on fresh processes);
 * 6. idle RSS and start-up (spawn → first request answered, 5 starts each);
 * 7. ampd's CPU per add (pre-built frames) with 1 and with `--idle-agents`
 *    connected agents, and their ratio;
 * plus ampd's add path without a socket, in this process (`_addpath.ts`).
 * Every row prints min / median / max over the rounds, and the load average
 * at each round's start. Every process it starts is stopped on the way out,
 * also on failure or Ctrl-C.
 *
 * @module
 */
import type { AmpClient } from "../mod.ts";
import { buildAmpd } from "../tests/_helpers/ampd.ts";
import { inProcessRound } from "./_addpath.ts";
import { durableMain } from "./_durable.ts";
import { FrameConn } from "./_frames.ts";
import { ampdLatency, type Latency, type Pacing, rawRedisLatency } from "./_latency.ts";
import { prepare, result16k } from "./_messages.ts";
import { NATS_SKIP_REASON, natsClient, natsLatency, NatsServer, natsServerVersion, startNats } from "./_nats.ts";
import {
  ampdArgs,
  cleanupAll,
  cleanups,
  CpuMeter,
  log,
  loadAverage,
  numberFlag,
  peakRss,
  rawClient,
  redisInfo,
  rss,
  runSummary,
  sdkClient,
  startAmpd,
  startRedis,
} from "./_proc.ts";
import { Recorder, rotated } from "./_rows.ts";
import { report } from "./_bus_report.ts";
import { timeAmpdStart } from "./_startup.ts";
import { ampdSystem, coreNatsSystem, type Inputs, jetStreamSystem, rawRedisSystem, scaleSystem, type System } from "./_systems.ts";
import { timerNoise } from "./_stats.ts";

const N = numberFlag("n", 100_000);
const ROUNDS = Math.max(1, numberFlag("rounds", 3));
const INFLIGHT = numberFlag("inflight", 1000);
const RATE = numberFlag("rate", 10_000);
const SECONDS = numberFlag("seconds", Math.max(1, Math.min(5, (5 * N) / 100_000)));
const N_LARGE = numberFlag("n-large", Math.max(1000, Math.round(N / 10)));
const SUBSCRIBERS = numberFlag("subscribers", 100);
const FANOUT_MSGS = numberFlag("fanout-msgs", Math.max(500, Math.round(N / 20)));
const IDLE_AGENTS = numberFlag("idle-agents", 1000);
const STARTS = 5;
const TIMEOUT_MS = 120_000;
/** Why the NATS rows are skipped (`--no-nats`, or no nats-server binary), `undefined` when they run. */
const NATS_SKIP = process.argv.includes("--no-nats") ? "--no-nats given" : NATS_SKIP_REASON;
const PACING: Pacing = { rate: RATE, seconds: SECONDS, warm: 0.5, timeoutMs: TIMEOUT_MS };

/** The system names in the tables. */
const SYS = {
  mem: "ampd memory",
  redis: "ampd redis",
  raw: "redis (raw)",
  js: "JetStream",
  core: "core NATS",
  one: "ampd memory, 1 agent",
  many: `ampd memory, +${IDLE_AGENTS} idle agents`,
  inproc: "in process",
} as const;

/** Opens `n` connections, `batch` at a time. */
async function openMany<T>(n: number, open: (i: number) => Promise<T>, batch = 50): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += batch) out.push(...await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => open(i + k))));
  return out;
}

/** `n` copies of the 16 KiB result, each with its own id and opId. */
function prepareLarge(n: number) {
  const { id: _id, opId: _opId, ...rest } = result16k;
  return prepare(n, () => rest);
}

async function main(): Promise<void> {
  const started = performance.now();
  log(`building dist/ampd if missing or stale...`);
  const bin = await buildAmpd();
  log(`starting redis-server${NATS_SKIP ? "" : ", nats-server -js"} and 4 ampds...`);
  const redis = await startRedis();
  const { pid: redisPid, version: redisVersion } = await redisInfo(redis.url);
  const nats = NATS_SKIP ? undefined : await startNats();
  if (NATS_SKIP) log(NATS_SKIP);
  const memArgs = ampdArgs("memory", "");
  const redisArgs = ampdArgs("redis", redis.url);
  const [aMem, aRedis, aOne, aMany] = [await startAmpd(memArgs), await startAmpd(redisArgs), await startAmpd(memArgs), await startAmpd(memArgs)];
  await new Promise((r) => setTimeout(r, 500));
  const idleRss = { [SYS.mem]: rss(aMem.pid), [SYS.redis]: rss(aRedis.pid), ...(nats ? { "nats-server -js": rss(nats.pid) } : {}) };
  const natsPid: Record<string, number> = nats ? { nats: nats.pid } : {};

  const noise = await timerNoise();
  const load0 = loadAverage();
  log(`preparing ${N} seed messages, ${N_LARGE} of 16 KiB, ${FANOUT_MSGS} for fan-out...`);
  const rec = new Recorder({ n: N, timeoutMs: TIMEOUT_MS });
  const io: Inputs = { rec, seed: prepare(N), large: prepareLarge(N_LARGE), fan: prepare(FANOUT_MSGS), inflight: INFLIGHT, timeoutMs: TIMEOUT_MS };

  log(`connecting (${SUBSCRIBERS} subscriber connections per system, ${IDLE_AGENTS} idle agents)...`);
  const ampdConns = async (ampd: typeof aMem) => {
    const frames = await FrameConn.open(ampd.socket);
    cleanups.push(() => frames.close());
    const fans: AmpClient[] = await openMany(SUBSCRIBERS, (i) => sdkClient(ampd.socket, `bench-sub-${i}`));
    return { client: await sdkClient(ampd.socket, "bench-pub"), consumer: await sdkClient(ampd.socket, "bench-con"), frames, fans };
  };
  const memConns = await ampdConns(aMem);
  const redisConns = await ampdConns(aRedis);
  const raw = await rawClient(redis.url);
  const natsConns = nats
    ? { nc: await natsClient(nats.url, "bench-pub"), fans: await openMany(SUBSCRIBERS, (i) => natsClient(nats.url, `bench-sub-${i}`)) }
    : undefined;
  const oneFrames = await FrameConn.open(aOne.socket);
  const manyFrames = await FrameConn.open(aMany.socket);
  cleanups.push(() => oneFrames.close(), () => manyFrames.close());
  const idle = await openMany(IDLE_AGENTS, (i) => FrameConn.open(aMany.socket, `bench-idle-${i}`));
  cleanups.push(() => idle.forEach((c) => c.close()));
  // What the idle agents cost ampd with nothing sent: its CPU over 1 s, both ampds at once.
  const idleMeter = new CpuMeter({ one: aOne.pid, many: aMany.pid });
  idleMeter.start();
  await new Promise((r) => setTimeout(r, 1000));
  const idleCpu = idleMeter.stop();

  /** Every system over inputs `x`: the measured rounds, and (with no pids to meter) the warm-up. */
  const systemsOf = async (x: Inputs, metered: boolean): Promise<System[]> => {
    const pid = (p: Record<string, number>) => (metered ? p : {});
    const out: System[] = [
      await ampdSystem(x, { name: SYS.mem, pids: pid({ ampd: aMem.pid }), ...memConns }),
      await ampdSystem(x, { name: SYS.redis, pids: pid({ ampd: aRedis.pid, redis: redisPid }), ...redisConns }),
      await rawRedisSystem(x, { name: SYS.raw, pids: pid({ redis: redisPid }), raw }),
    ];
    if (natsConns) {
      out.push(await jetStreamSystem(x, { name: SYS.js, pids: pid(natsPid), ...natsConns }), coreNatsSystem(x, { name: SYS.core, pids: pid(natsPid), ...natsConns }));
    }
    out.push(
      scaleSystem(x, { name: SYS.one, pids: pid({ ampd: aOne.pid }), frames: oneFrames, socket: aOne.socket }),
      scaleSystem(x, { name: SYS.many, pids: pid({ ampd: aMany.pid }), frames: manyFrames, socket: aMany.socket }),
      { name: SYS.inproc, round: (r) => inProcessRound({ rec: x.rec, msgs: x.seed, round: r }, { system: SYS.inproc, table: "inproc" }) },
    );
    return out;
  };
  const systems = await systemsOf(io, true);

  log(`warm-up (JIT in every process, every path; not recorded)...`);
  const warm: Inputs = { ...io, rec: new Recorder({ n: 0, timeoutMs: TIMEOUT_MS }), seed: prepare(Math.min(10_000, N)), large: prepareLarge(500), fan: prepare(100) };
  for (const s of await systemsOf(warm, false)) await s.round(-1);

  // ----- 5. latency, its own rounds, first: the throughput rounds leave large heaps behind
  const lats = new Map<string, Latency[]>();
  const latRuns: { name: string; run: (r: number) => Promise<Latency> }[] = [
    { name: `${SYS.mem}, streamIter`, run: (r) => ampdLatency({ name: `${SYS.mem}, streamIter`, ampd: aMem, pids: { ampd: aMem.pid }, stream: `bench.latency.${r}` }, PACING) },
    { name: `${SYS.redis}, streamIter`, run: (r) => ampdLatency({ name: `${SYS.redis}, streamIter`, ampd: aRedis, pids: { ampd: aRedis.pid, redis: redisPid }, stream: `bench.latency.${r}` }, PACING) },
    { name: "raw node-redis XADD → XREAD BLOCK", run: (r) => rawRedisLatency({ name: "raw node-redis XADD → XREAD BLOCK", url: redis.url, pids: { redis: redisPid }, key: `ampbus:{bench.latency.raw.${r}}` }, PACING) },
  ];
  if (nats) {
    latRuns.push(
      { name: "core NATS publish → subscription", run: (r) => natsLatency({ name: "core NATS publish → subscription", url: nats.url, pids: natsPid, subject: `core.latency.${r}`, jetstream: false }, PACING) },
      { name: "JetStream js.publish (acked) → ordered push consumer", run: (r) => natsLatency({ name: "JetStream js.publish (acked) → ordered push consumer", url: nats.url, pids: natsPid, subject: `bench.latency.${r}`, jetstream: true }, PACING) },
    );
  }
  const latLoad: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    latLoad.push(loadAverage());
    log(`latency round ${r + 1}/${ROUNDS} (load average ${latLoad[r].toFixed(2)})`);
    for (const l of rotated(latRuns, r)) {
      const x = await l.run(r);
      lats.set(l.name, [...lats.get(l.name) ?? [], x]);
    }
    const c = await sdkClient(aMem.socket, "bench-trim");
    await c.trim(`bench.latency.${r}`, 0);
    await c.close();
  }

  // ----- 1-4, 7 and the in-process rows: every system each round, the order rotated
  const roundLoad: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = rotated(systems, r);
    roundLoad.push(loadAverage());
    log(`round ${r + 1}/${ROUNDS} (load average ${roundLoad[r].toFixed(2)}): ${order.map((s) => s.name).join(", ")}`);
    for (const s of order) await s.round(r);
  }
  const peak = { [SYS.mem]: peakRss(aMem.pid), [SYS.redis]: peakRss(aRedis.pid), ...(nats ? { "nats-server -js": peakRss(nats.pid) } : {}) };

  // ----- 6. start-up, the three kinds taking turns
  log(`start-up x${STARTS}: ampd memory, ampd redis${nats ? ", nats-server -js" : ""}`);
  const starts = new Map<string, { first: number; readyLine: number; note: number }[]>();
  const kinds: { name: string; time: () => Promise<{ first: number; readyLine: number; note: number }> }[] = [
    { name: SYS.mem, time: async () => { const t = await timeAmpdStart(bin, memArgs); return { first: t.hello, readyLine: t.readyLine, note: t.internal }; } },
    { name: SYS.redis, time: async () => { const t = await timeAmpdStart(bin, redisArgs); return { first: t.hello, readyLine: t.readyLine, note: t.internal }; } },
  ];
  if (nats) kinds.push({ name: "nats-server -js", time: async () => { const t = await NatsServer.timeStart(); return { first: t.ping, readyLine: t.readyLine, note: t.jsApi }; } });
  for (let i = 0; i < STARTS; i++) {
    for (const k of rotated(kinds, i)) starts.set(k.name, [...starts.get(k.name) ?? [], await k.time()]);
  }

  console.log(report({
    rec, lats, starts, idleRss, peak, idleCpu, noise, roundLoad, latLoad,
    sys: SYS,
    head: {
      bun: (process.versions as Record<string, string>).bun ?? process.version,
      redis: redisVersion,
      nats: nats ? natsServerVersion() : undefined,
      natsSkip: NATS_SKIP,
      n: N, nLarge: N_LARGE, seedBytes: io.seed.bytes[0].length, largeBytes: io.large.bytes[0].length,
      inflight: INFLIGHT, rounds: ROUNDS, subscribers: SUBSCRIBERS, fanoutMsgs: FANOUT_MSGS, idleAgents: IDLE_AGENTS,
      pacing: PACING, starts: STARTS,
    },
  }));
  console.log("");
  console.log(runSummary(started, load0));
}

try {
  await (process.argv.includes("--durable") ? durableMain() : main());
} finally {
  await cleanupAll();
}
