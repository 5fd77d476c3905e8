/**
 * `bun bench/bus.ts --durable`: ampd on `--backend sqlite --sync full`,
 * `--sync normal`, `memory`, and Redis twice (a redis-server with no
 * persistence and one with `appendonly yes` + `appendfsync always`, both
 * started here; SQLite files in a temp dir). All five ampds run side by
 * side; each round runs every row on every backend, one backend after the
 * other, the order rotated each round, so a ratio compares two rates taken
 * moments apart. Rows: acknowledged publish through the SDK with 1 and
 * `--inflight` requests in flight (and pre-built frames), group consume with
 * acks (batched per fetch, and one `await d.ack()` per delivery); each row
 * stops at N messages or `--row-seconds`. Also ampd's RSS after start
 * (before any load) and after the run, the disk's fsync cost, and the
 * targets of the SQLite backend. `--cpu-prof=DIR` runs every ampd from
 * source under `bun --cpu-prof` and leaves one `.cpuprofile` per backend in
 * DIR (read them with `bench/cpuprofile.ts`).
 *
 * @module
 */
import { dropStreams } from "./_cleanup.ts";
import { existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AmpClient } from "../mod.ts";
import { buildAmpd } from "../tests/_helpers/ampd.ts";
import { addFrames, FrameConn, type Frames } from "./_frames.ts";
import { check, fetchAndAck, groupPending, iterateAndAck, type Tally } from "./_groups.ts";
import { type Prepared, prepare } from "./_messages.ts";
import {
  ampdArgs,
  type AmpdProcess,
  cleanups,
  fsyncCost,
  log,
  loadAverage,
  numberFlag,
  peakRss,
  ProfiledAmpd,
  type Raw,
  rawClient,
  redisInfo,
  rss,
  runSummary,
  scratchDir,
  sdkClient,
  sqliteArgs,
  startAmpd,
  startRedis,
  stringFlag,
} from "./_proc.ts";
import { type Rate, Recorder } from "./_rows.ts";
import { cpuMedian, median, windowed } from "./_stats.ts";
import { cpuCell, formatInt, formatTable } from "./_table.ts";

const N = numberFlag("n", 100_000);
const ROUNDS = Math.max(1, numberFlag("rounds", 3));
const INFLIGHT = numberFlag("inflight", 1000);
const rec = new Recorder({ n: N, timeoutMs: 60_000 });
const mb = (b: number) => (b / (1024 * 1024)).toFixed(1);
const PROCS = ["client", "ampd", "redis"] as const;


/** The backends `--durable` compares; `--backends=a,b` picks some of them. */
const DURABLE_KINDS = ["sqlite-full", "sqlite-normal", "memory", "redis", "redis-aof"] as const;
type DurableKind = (typeof DURABLE_KINDS)[number];

/** What each kind is, in the tables. */
const KIND_TEXT: Record<DurableKind, string> = {
  "sqlite-full": "ampd --backend sqlite --sync full (fsync before each reply)",
  "sqlite-normal": "ampd --backend sqlite --sync normal",
  memory: "ampd --backend memory",
  redis: "ampd --backend redis, redis-server appendonly no",
  "redis-aof": "ampd --backend redis, redis-server appendonly yes, appendfsync always",
};

/** Seconds each `--durable` row may run; a row ends at N messages or at this, whichever is first. */
const ROW_SECONDS = numberFlag("row-seconds", 3);

const D = {
  pub1: "publish: SDK port.add, 1 in flight",
  pubN: `publish: SDK port.add, ${INFLIGHT} in flight`,
  frames: `publish: pre-built frames, ${INFLIGHT} in flight`,
  batch: "group consume: fetch() + one ack per fetch (COUNT 100)",
  iter: "group consume: iterator + await d.ack() each",
} as const;

/** One backend of the `--durable` run: its ampd, clients, and what its CPU columns meter. */
interface DurableEnv {
  kind: DurableKind;
  ampd: AmpdProcess;
  /** Publishes (SDK rows). */
  client: AmpClient;
  /** Consumes (group rows). */
  consumer: AmpClient;
  frames: FrameConn;
  pids: Record<string, number>;
  /** The redis-server behind it, for FLUSHALL between rounds (Redis kinds). */
  raw?: Raw;
  /** The SQLite store file (sqlite kinds). */
  data?: string;
  /** VmRSS 1 s after all ampds were ready, before any load. */
  idleRss: number;
}

/** The ampd flags of `kind`. */
function durableArgs(kind: DurableKind, where: { redis: string; redisAof: string; dataDir: string }): string[] {
  switch (kind) {
    case "sqlite-full":
      return sqliteArgs({ data: join(where.dataDir, "full.db"), sync: "full" });
    case "sqlite-normal":
      return sqliteArgs({ data: join(where.dataDir, "normal.db"), sync: "normal" });
    case "memory":
      return ampdArgs("memory", "");
    case "redis":
      return ampdArgs("redis", where.redis);
    case "redis-aof":
      return ampdArgs("redis", where.redisAof);
  }
}

/** One round of every `--durable` row on one backend; streams are new each round (so no opId repeats) and deleted after, with their dedupe keys. */
async function durableRound(
  env: DurableEnv,
  { round, msgs, frames }: { round: number; msgs: Prepared; frames: Frames & { stream: string } },
): Promise<void> {
  const { kind: backend, client, consumer, pids } = env;
  const s1 = `bench.d1.${round}`;
  const sN = `bench.dn.${round}`;
  const sF = frames.stream;
  const row = (name: string) => ({ backend, name, pids });
  const deadline = () => performance.now() + ROW_SECONDS * 1000;
  const before = await client.info();
  let sent = 0;
  // 1 in flight: each add's round trip is also timed.
  const times: number[] = [];
  await rec.measure(row(D.pub1), async () => {
    const n = await windowed({ count: N, inflight: 1, until: deadline() }, async (i) => {
      const t0 = performance.now();
      await client.port.add(s1, msgs.bytes[i]);
      times.push(performance.now() - t0);
    });
    sent += n;
    return n;
  });
  rec.ackTimes(row(D.pub1), times);
  let filled = 0;
  await rec.measure(row(D.pubN), async () => {
    filled = await windowed({ count: N, inflight: INFLIGHT, until: deadline() }, (i) => client.port.add(sN, msgs.bytes[i]));
    sent += filled;
    return filled;
  });
  await rec.measure(row(D.frames), async () => {
    const n = await env.frames.publish(frames, INFLIGHT, deadline());
    sent += n;
    return n;
  });
  const after = await client.info();
  const added = (after.added as number) - (before.added as number);
  const errors = (after.errors as number) - (before.errors as number);
  const dups = (after.duplicates as number) - (before.duplicates as number);
  if (added !== sent || errors !== 0 || dups !== 0) {
    throw new Error(`${backend}: expected ${sent} adds, ampd counted added ${added}, errors ${errors}, duplicates ${dups}`);
  }
  // Group consume, each row a fresh group from "0" over the `filled` entries of sN, one consumer.
  for (const name of [D.batch, D.iter]) {
    const group = `g${round}.${name === D.batch ? "batch" : "iter"}`;
    const g = consumer.group(sN, group, { from: "0" });
    await g.ensure();
    const cons = [g.consumer("c0", { count: 100, block: name === D.batch ? 1 : 50 })];
    let t: Tally | undefined;
    await rec.measure(row(name), async () => {
      t = name === D.batch
        ? await fetchAndAck({ clients: [consumer], cons, stream: sN, group }, { until: deadline() })
        : await iterateAndAck(cons, { total: filled, until: deadline() });
      return t.acked;
    });
    // What was handed out was delivered once and acked; the batched row leaves nothing pending.
    check(t!.acked <= filled, `${backend} ${name}: ${t!.acked} acked of ${filled} entries`);
    t!.check(`${backend} ${name}`, { expected: t!.acked, pending: name === D.batch ? await groupPending(consumer, { stream: sN, group }) : undefined });
  }
  await dropStreams(client, [s1, sN, sF]);
  if (env.raw) await env.raw.sendCommand(["FLUSHALL"]);
}

/** `bun bench/bus.ts --durable`: acked publish and group consume on each backend of DURABLE_KINDS, rounds interleaved; RSS; targets. */
export async function durableMain(): Promise<void> {
  const started = performance.now();
  const kinds = (stringFlag("backends")?.split(",") ?? [...DURABLE_KINDS]) as DurableKind[];
  for (const k of kinds) if (!DURABLE_KINDS.includes(k)) throw new Error(`--backends: unknown ${JSON.stringify(k)} (one of ${DURABLE_KINDS.join(", ")})`);
  const profileDir = stringFlag("cpu-prof");
  log(`building dist/ampd if missing or stale...`);
  await buildAmpd();
  log(`starting redis-server twice (appendonly no; appendonly yes + appendfsync always)...`);
  const redis = await startRedis();
  const redisAof = await startRedis({ appendonly: true, appendfsync: "always" });
  const rinfo = await redisInfo(redis.url);
  const ainfo = await redisInfo(redisAof.url);
  const dataDir = scratchDir("ampbus-bench-sqlite-");
  const fsync = fsyncCost(dataDir);
  log(`fsync of 512 B in ${dataDir}: p50 ${fsync.p50.toFixed(3)} ms, p99 ${fsync.p99.toFixed(3)} ms`);
  const load0 = loadAverage();

  const procs: Omit<DurableEnv, "client" | "consumer" | "frames">[] = [];
  for (const kind of kinds) {
    const args = durableArgs(kind, { redis: redis.url, redisAof: redisAof.url, dataDir });
    let ampd: AmpdProcess;
    try {
      ampd = profileDir
        ? await ProfiledAmpd.start(args, { profileDir, name: `ampd-${kind}.cpuprofile` })
        : await startAmpd(args);
    } catch (e) {
      if (!kind.startsWith("sqlite")) throw e;
      throw new Error(
        `ampd refused ${args.join(" ")}: has the SQLite backend (sidecar/backend/sqlite.ts) landed, and dist/ampd been rebuilt from it? ampd said: ${(e as Error).message}`,
      );
    }
    const url = kind === "redis" ? redis.url : kind === "redis-aof" ? redisAof.url : undefined;
    const redisPid = kind === "redis" ? rinfo.pid : kind === "redis-aof" ? ainfo.pid : undefined;
    procs.push({
      kind,
      ampd,
      pids: redisPid === undefined ? { ampd: ampd.pid } : { ampd: ampd.pid, redis: redisPid },
      raw: url === undefined ? undefined : await rawClient(url),
      data: args.includes("--data") ? args[args.indexOf("--data") + 1] : undefined,
      idleRss: 0,
    });
  }
  // Idle RSS: all of them started, nothing sent yet.
  await new Promise((r) => setTimeout(r, 1000));
  for (const e of procs) e.idleRss = rss(e.ampd.pid);
  log(`idle RSS: ${procs.map((e) => `${e.kind} ${mb(e.idleRss)} MB`).join(", ")}`);

  log(`preparing ${N} messages...`);
  const msgs = prepare(N);
  const msgBytes = msgs.bytes[0].length;
  const envs: DurableEnv[] = [];
  for (const s of procs) {
    const frames = await FrameConn.open(s.ampd.socket);
    cleanups.push(() => frames.close());
    const e: DurableEnv = { ...s, client: await sdkClient(s.ampd.socket, "bench-pub"), consumer: await sdkClient(s.ampd.socket, "bench-con"), frames };
    envs.push(e);
    // Warm-up (untimed): the JIT in ampd and in this process, on every path the rounds take.
    log(`${e.kind}: warm-up`);
    const warm = prepare(Math.min(20_000, N));
    await windowed({ count: warm.bytes.length, inflight: INFLIGHT }, (i) => e.client.port.add("bench.warmup", warm.bytes[i]));
    const g = e.consumer.group("bench.warmup", "warm", { from: "0" });
    await fetchAndAck({ clients: [e.consumer], cons: [g.consumer("w", { count: 100, block: 1 })], stream: "bench.warmup", group: "warm" });
    await dropStreams(e.client, ["bench.warmup"]);
    if (e.raw) await e.raw.sendCommand(["FLUSHALL"]);
  }

  const roundLoad: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Each round starts one backend later, so none always runs first (or right after the same neighbour).
    const order = envs.map((_, i) => envs[(i + r) % envs.length]);
    roundLoad.push(loadAverage());
    log(`round ${r + 1}/${ROUNDS} (load average ${roundLoad[r].toFixed(2)}): ${order.map((e) => e.kind).join(", ")}`);
    const frames = { ...addFrames(`bench.df.${r}`, msgs.bytes), stream: `bench.df.${r}` };
    for (const e of order) await durableRound(e, { round: r, msgs, frames });
  }

  // After the run: every stream deleted, 2 s idle.
  await new Promise((r) => setTimeout(r, 2000));
  const afterRss = new Map(envs.map((e) => [e.kind, { now: rss(e.ampd.pid), peak: peakRss(e.ampd.pid) }]));
  const aofRewrites = Number(/aof_rewrites:(\d+)/.exec(await envs.find((e) => e.kind === "redis-aof")?.raw?.sendCommand<string>(["INFO", "persistence"]) ?? "")?.[1] ?? NaN);
  const storeMb = (e: DurableEnv) => {
    if (e.data === undefined) return "";
    let bytes = 0;
    for (const f of [e.data, `${e.data}-wal`]) if (existsSync(f)) bytes += statSync(f).size;
    return mb(bytes);
  };
  const storeText = new Map(envs.map((e) => [e.kind, storeMb(e)]));
  for (const e of envs) {
    await e.client.close();
    await e.consumer.close();
    e.frames.close();
    await e.ampd.stop(); // a clean exit: the profiler (--cpu-prof) writes its file now
    await e.ampd.dispose();
  }

  // ----- report
  const out: string[] = [];
  const bunVersion = (process.versions as Record<string, string>).bun ?? process.version;
  out.push(`## Durable backends (Bun ${bunVersion}, redis-server ${rinfo.version}, ${msgBytes} B messages; ${ROUNDS === 1 ? "1 round" : `${ROUNDS} rounds, backends interleaved, order rotated each round`}; a row stops at ${formatInt(N)} messages or ${ROW_SECONDS} s)`);
  out.push("");
  out.push(`Disk under ${tmpdir()} (SQLite files, Redis AOF): a 512 B write + fdatasync takes p50 ${fsync.p50.toFixed(3)} ms, p99 ${fsync.p99.toFixed(3)} ms.`);
  out.push(`Load average at the start of each round: ${roundLoad.map((x) => x.toFixed(2)).join(", ")}.${profileDir ? ` ampd ran from source under bun --cpu-prof (profiles in ${profileDir}): figures are not comparable with a normal run.` : ""}`);
  out.push("");
  out.push("### backends");
  out.push(formatTable(["backend", "what"], kinds.map((k) => [k, KIND_TEXT[k]])));
  out.push("");
  out.push("### acknowledged publish and group consume (msg/s, median and min–max over rounds; CPU = median share of one core)");
  const cpuText = (r: Rate) => cpuCell(PROCS, (k) => cpuMedian(r, k));
  const minMax = (xs: readonly number[]) => `${formatInt(Math.min(...xs))}–${formatInt(Math.max(...xs))}`;
  const ackText = (r: Rate) => r.acks ? `${median(r.acks.map((a) => a.p50)).toFixed(3)} / ${median(r.acks.map((a) => a.p99)).toFixed(3)}` : "";
  const body: string[][] = [];
  for (const name of Object.values(D)) {
    for (const r of rec.rows.filter((x) => x.name === name)) {
      body.push([name, r.backend, formatInt(median(r.rates)), minMax(r.rates), ackText(r), cpuText(r)]);
    }
  }
  out.push(formatTable(["path", "backend", "msg/s", "min–max", "add ack p50 / p99 ms", "CPU client / ampd / redis"], body));
  out.push("");
  // Ratios of the same round: the two backends ran minutes apart at most, under the same load.
  const ratio = (a: { backend: DurableKind; name: string }, b: { backend: DurableKind; name: string }) => {
    const xs = rec.rounds(a);
    const ys = rec.rounds(b);
    if (xs.length === 0 || ys.length === 0) return undefined;
    const rs = xs.map((x, i) => x / ys[i]);
    return { median: median(rs), min: Math.min(...rs), max: Math.max(...rs) };
  };
  const ratioText = (q: { median: number; min: number; max: number }) => `${q.median.toFixed(2)}x (${q.min.toFixed(2)}–${q.max.toFixed(2)})`;
  out.push("### ratios, each round's rate over the baseline's in the same round (median (min–max) over rounds)");
  const ratioRows: string[][] = [];
  for (const name of Object.values(D)) {
    for (const sq of ["sqlite-full", "sqlite-normal"] as const) {
      const cells = (["memory", "redis", "redis-aof"] as const).map((b) => {
        const q = ratio({ backend: sq, name }, { backend: b, name });
        return q ? ratioText(q) : "—";
      });
      if (cells.some((c) => c !== "—")) ratioRows.push([name, sq, ...cells]);
    }
  }
  out.push(formatTable(["path", "backend", "vs memory", "vs redis (appendonly no)", "vs redis (appendfsync always)"], ratioRows));
  out.push("");
  out.push("### ampd RSS (MB)");
  const memIdle = envs.find((e) => e.kind === "memory")?.idleRss;
  out.push(formatTable(
    ["backend", "idle after start", "vs memory", "after the run (streams deleted, 2 s idle)", "peak (VmHWM)", "SQLite file + WAL after the run"],
    envs.map((e) => {
      const a = afterRss.get(e.kind)!;
      const d = memIdle === undefined ? "—" : `${e.idleRss >= memIdle ? "+" : ""}${mb(e.idleRss - memIdle)}`;
      return [e.kind, mb(e.idleRss), d, mb(a.now), mb(a.peak), storeText.get(e.kind)!];
    }),
  ));
  if (!Number.isNaN(aofRewrites)) out.push(`\nredis-server with appendfsync always rewrote its AOF ${aofRewrites} time(s) during the run (default auto-aof-rewrite settings).`);
  out.push("");
  out.push("### targets");
  const verdict = (ok: boolean, text: string) => `- ${ok ? "met" : "MISSED"}: ${text}`;
  const vsMem = ratio({ backend: "sqlite-full", name: D.pubN }, { backend: "memory", name: D.pubN });
  const sqlN = rec.get({ backend: "sqlite-full", name: D.pubN });
  if (vsMem && sqlN !== undefined) {
    const by = vsMem.median >= 0.8 ? "" : ` (missed by ${((1 - vsMem.median / 0.8) * 100).toFixed(0)}%)`;
    out.push(verdict(vsMem.median >= 0.8, `sqlite --sync full, ${INFLIGHT} in flight: ${formatInt(sqlN)} msg/s = ${ratioText(vsMem)} of memory's ${formatInt(rec.get({ backend: "memory", name: D.pubN })!)} (target >= 0.8x)${by}`));
  }
  const vsAof = ratio({ backend: "sqlite-full", name: D.pubN }, { backend: "redis-aof", name: D.pubN });
  if (vsAof && sqlN !== undefined) {
    const by = vsAof.median >= 3 ? "" : ` (missed by ${((1 - vsAof.median / 3) * 100).toFixed(0)}%)`;
    out.push(verdict(vsAof.median >= 3, `sqlite --sync full, ${INFLIGHT} in flight: ${formatInt(sqlN)} msg/s = ${ratioText(vsAof)} of Redis appendfsync always's ${formatInt(rec.get({ backend: "redis-aof", name: D.pubN })!)} (target >= 3x)${by}`));
  }
  if (memIdle !== undefined) {
    for (const e of envs.filter((x) => x.kind.startsWith("sqlite"))) {
      const d = e.idleRss - memIdle;
      out.push(verdict(d <= 5 * 1024 * 1024, `idle RSS ${e.kind} ${mb(e.idleRss)} MB vs memory ${mb(memIdle)} MB: ${d >= 0 ? "+" : ""}${mb(d)} MB (target within 5 MB)`));
    }
  }
  if (profileDir) out.push("", `CPU profiles: ${kinds.map((k) => join(profileDir, `ampd-${k}.cpuprofile`)).join(", ")} (bun bench/cpuprofile.ts FILE for the top self-time functions)`);
  out.push("");
  out.push(runSummary(started, load0));
  console.log(out.join("\n"));
}

