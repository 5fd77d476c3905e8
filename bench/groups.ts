/**
 * The consumer-group and request/reply benchmark: what ampd's delivery
 * guarantees cost, on Redis and on in-memory streams, next to raw node-redis
 * from the same runtime in the same run.
 *
 * Usage: `bun bench/groups.ts [--n=50000] [--count=100] [--rounds=1] [--rr-seconds=3] [--concurrency=32]`
 * (also `npm run bench -- --groups`, which runs this file).
 *
 * It starts its own `redis-server` (tests/_helpers/redis_server.ts: free port,
 * temp dir, no persistence) and the compiled `dist/ampd` (built first when
 * missing or older than its sources), on a socket in a temp directory, once
 * with `--backend memory` and once with `--backend redis`. It measures:
 *
 * - group consume with acks: N entries pre-filled once per backend; each row
 *   creates a fresh group from `"0"` on that stream and 1 or 4 consumers, each
 *   on its own connection, fetch and ack until all N are acked. Rows: the SDK
 *   iterator with `await d.ack()` per delivery; `fetch()` plus one batched
 *   `ack` per fetch; raw node-redis `XREADGROUP COUNT <count>` + `XACK`; and
 *   raw node-redis running ampd's own per-fetch commands (its claim script,
 *   its read-group script, `XACK`). After each row it checks that every entry
 *   was delivered once (N distinct ids, delivery count 1), that the acks
 *   counted N, and that the group has nothing pending;
 * - the claim step of a fetch alone: `claim()` of RedisBackend and
 *   MemoryBackend called in this process with 0, 1,000 and 10,000 entries
 *   pending (none idle long enough to be claimed), and the in-process memory
 *   consume with and without the claim (`GroupReader.read` vs `readGroup`);
 * - request/reply: `bus.request()` against a responder (`streamIter` on its
 *   inbox, or `listen()`, a group with acks), sequential and with
 *   `concurrency` requests in flight, round trips per second and latency
 *   p50/p99; next to a raw node-redis ping-pong (XADD to an inbox stream,
 *   XREAD BLOCK, XADD to a reply stream, XREAD BLOCK: the same exchange on
 *   Redis Streams without ampd, dedupe or validation).
 *
 * CPU of this process, ampd and redis-server is read from /proc per row.
 * Every process it starts is stopped on the way out, also on failure.
 *
 * @module
 */
import { dropStreams } from "./_cleanup.ts";
import { type AmpClient, encode, uuidv7 } from "../mod.ts";
import { MemoryBackend } from "../sdk/backend/memory.ts";
import { GroupReader } from "../sdk/backend/group_reader.ts";
import type { StreamBackend } from "../sdk/backend/types.ts";
import { RedisBackend } from "../sidecar/backend/redis.ts";
import { CLAIM_SCRIPT, LuaScript, READ_GROUP_SCRIPT } from "../sidecar/backend/_redis_scripts.ts";
import { buildAmpd } from "../tests/_helpers/ampd.ts";
import { check, fetchAndAck, groupPending, iterateAndAck, Tally } from "./_groups.ts";
import { numbered, type Prepared, prepare } from "./_messages.ts";
import {
  ampdArgs,
  bufs,
  cleanupAll,
  cleanups,
  CpuMeter,
  log,
  loadAverage,
  numberFlag,
  type Raw,
  rawClient,
  redisInfo,
  runSummary,
  sdkClient,
  startAmpd,
  startRedis,
  timeWithCpu,
  withTimeout,
  type XEntries,
} from "./_proc.ts";
import { cpuMedian, median, quantile, type Rounds, spread, timerNoise, windowed } from "./_stats.ts";
import { cpuCell, cpuLine, formatInt, formatTable, spreadText } from "./_table.ts";

const N = numberFlag("n", 50_000);
const COUNT = numberFlag("count", 100);
const ROUNDS = Math.max(1, numberFlag("rounds", 1));
const RR_SECONDS = numberFlag("rr-seconds", 3);
const CONC = numberFlag("concurrency", 32);
/** Request/reply: the first RR_WARM_S seconds of each row are not counted. */
const RR_WARM_S = 0.3;
const CONSUMERS = [1, 4] as const;
const PEL_SIZES = [0, 1000, 10_000] as const;
const TIMEOUT_MS = 90_000;

// ---------------------------------------------------------------------------
// Formats

/** CPU µs per item of one process: share of a core divided by items per second. */
const usPer = (share: number | undefined, rate: number) => (share === undefined ? "—" : (share / rate * 1e6).toFixed(1));

// ---------------------------------------------------------------------------
// Redis INFO commandstats: what each command cost inside Redis (commands called
// from scripts are counted too, and also inside their EVALSHA's time).

type CmdStats = Record<string, { calls: number; usec: number }>;

async function commandStats(c: Raw): Promise<CmdStats> {
  const text = await c.sendCommand<string>(["INFO", "commandstats"]);
  const out: CmdStats = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) out[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  return out;
}

function diffStats(a: CmdStats, b: CmdStats): CmdStats {
  const out: CmdStats = {};
  for (const [k, v] of Object.entries(b)) {
    const calls = v.calls - (a[k]?.calls ?? 0);
    if (calls > 0) out[k] = { calls, usec: v.usec - (a[k]?.usec ?? 0) };
  }
  return out;
}

// ---------------------------------------------------------------------------
// Results

interface Row extends Rounds {
  section: "consume" | "rr";
  name: string;
  backend: string;
  consumers: number;
  /** Request/reply only: latencies of the last round, ms. */
  p50?: number;
  p99?: number;
  /** Redis commandstats of the last round (Redis rows). */
  stats?: CmdStats;
  /** Group reads (fetches) of the last round. */
  fetches?: number;
}

const rows: Row[] = [];

function rowFor({ section, backend, name, consumers }: Pick<Row, "section" | "backend" | "name" | "consumers">): Row {
  let r = rows.find((x) => x.section === section && x.backend === backend && x.name === name && x.consumers === consumers);
  if (r === undefined) {
    r = { section, name, backend, consumers, rates: [], cpus: [] };
    rows.push(r);
  }
  return r;
}

interface Env {
  backend: "memory" | "redis";
  pids: Record<string, number>;
  stats?: Raw;
}

// ---------------------------------------------------------------------------
// Group consume

const NAME = {
  iter: "ampd, SDK iterator + await d.ack() each",
  batch: "ampd, SDK fetch() + one ack per fetch",
  rawRead: "raw node-redis XREADGROUP + XACK",
  rawScripts: "raw node-redis, ampd's claim + read scripts + XACK",
  memReader: "in process: GroupReader.read (claim + read) + ack",
  memRead: "in process: MemoryBackend.readGroup + ack",
} as const;

let groupSerial = 0;

/** Times one consume row: `setup` makes the consumers (untimed), `run` consumes; CPU metered. */
async function measureConsume(
  env: Env,
  { name, consumers, run, pending, ackCounted = true }: {
    name: string;
    consumers: number;
    /** Consumes all N entries; timed. */
    run: () => Promise<Tally>;
    /** The group's pending count afterwards (must be 0). */
    pending: () => Promise<number>;
    /** Whether `run` counted acks (the iterator row does not). Defaults to true. */
    ackCounted?: boolean;
  },
): Promise<void> {
  const row = rowFor({ section: "consume", backend: env.backend, name, consumers });
  const s0 = env.stats ? await commandStats(env.stats) : undefined;
  const { value: tally, seconds: s, cpu } = await timeWithCpu(env.pids, () => withTimeout(run(), { what: `${env.backend} ${name} x${consumers}`, ms: TIMEOUT_MS }));
  if (env.stats && s0) row.stats = diffStats(s0, await commandStats(env.stats));
  tally.check(`${env.backend} ${name} x${consumers}`, { expected: N, pending: await pending(), ackCounted });
  row.rates.push(N / s);
  row.cpus.push(cpu);
  row.fetches = tally.fetches;
  log(`  ${env.backend.padEnd(6)} ${name.padEnd(52)} x${consumers} ${formatInt(N / s).padStart(8)} msg/s  cpu ${cpuLine(cpu)}  (${tally.fetches} fetches; verified)`);
}

/** The SDK consumer rows through ampd: `consumers` connections, each its own consumer. */
async function ampdConsume(
  env: Env,
  { socket, admin, stream, consumers }: { socket: string; admin: AmpClient; stream: string; consumers: number },
): Promise<void> {
  // Iterator, one ack request per delivery (the README's pattern).
  {
    const group = `g${groupSerial++}`;
    const clients = await Promise.all(Array.from({ length: consumers }, (_, i) => sdkClient(socket, `bench-c${i}`)));
    const groups = clients.map((c) => c.group(stream, group, { from: "0" }));
    await Promise.all(groups.map((g) => g.ensure()));
    const cons = groups.map((g, i) => g.consumer(`c${i}`, { count: COUNT, block: 50 }));
    await measureConsume(env, {
      name: NAME.iter,
      consumers,
      ackCounted: false,
      pending: () => groupPending(admin, { stream, group }),
      run: () => iterateAndAck(cons, { total: N }),
    });
    await Promise.all(clients.map((c) => c.close()));
  }
  // fetch() and one batched ack of the fetched ids.
  {
    const group = `g${groupSerial++}`;
    const clients = await Promise.all(Array.from({ length: consumers }, (_, i) => sdkClient(socket, `bench-c${i}`)));
    const groups = clients.map((c) => c.group(stream, group, { from: "0" }));
    await Promise.all(groups.map((g) => g.ensure()));
    const cons = groups.map((g, i) => g.consumer(`c${i}`, { count: COUNT, block: 1 }));
    await measureConsume(env, {
      name: NAME.batch,
      consumers,
      pending: () => groupPending(admin, { stream, group }),
      run: () => fetchAndAck({ clients, cons, stream, group }),
    });
    await Promise.all(clients.map((c) => c.close()));
  }
}

/** Raw node-redis rows on the stream ampd filled: XREADGROUP + XACK, and ampd's scripts + XACK. */
async function rawConsume(env: Env, { url, key, consumers }: { url: string; key: string; consumers: number }): Promise<void> {
  const readGroupSha = new LuaScript(READ_GROUP_SCRIPT).sha;
  const claimSha = new LuaScript(CLAIM_SCRIPT).sha;
  {
    // Warm-up (untimed): node-redis parsing both reply shapes, 10 fetches each.
    const w = await rawClient(url);
    const group = `warm${groupSerial++}`;
    await w.sendCommand(["XGROUP", "CREATE", key, group, "0"]);
    await w.sendCommand(["SCRIPT", "LOAD", READ_GROUP_SCRIPT]);
    for (let i = 0; i < 10; i++) {
      await w.sendCommand(["XREADGROUP", "GROUP", group, "w", "COUNT", String(COUNT), "STREAMS", key, ">"], bufs);
      await w.sendCommand(["EVALSHA", readGroupSha, "1", key, group, "w", String(COUNT)], bufs);
    }
    await w.sendCommand(["XGROUP", "DESTROY", key, group]);
    await w.disconnect();
  }
  for (const name of [NAME.rawRead, NAME.rawScripts]) {
    const group = `g${groupSerial++}`;
    const admin = await rawClient(url);
    await admin.sendCommand(["XGROUP", "CREATE", key, group, "0"]);
    await admin.sendCommand(["SCRIPT", "LOAD", READ_GROUP_SCRIPT]);
    await admin.sendCommand(["SCRIPT", "LOAD", CLAIM_SCRIPT]);
    const clients = await Promise.all(Array.from({ length: consumers }, () => rawClient(url)));
    await measureConsume(env, {
      name,
      consumers,
      pending: async () => Number((await admin.sendCommand<[number, ...unknown[]]>(["XPENDING", key, group]))[0]),
      run: async () => {
      const t = new Tally();
      await Promise.all(clients.map(async (c, i) => {
        const consumer = `c${i}`;
        for (;;) {
          let entries: XEntries;
          if (name === NAME.rawRead) {
            const r = await c.sendCommand<[Buffer, XEntries][] | null>(
              ["XREADGROUP", "GROUP", group, consumer, "COUNT", String(COUNT), "STREAMS", key, ">"],
              bufs,
            );
            entries = r?.[0]?.[1] ?? [];
          } else {
            // What RedisGroups does per group.read: claim stale entries (none here), then read new ones.
            const cl = await c.sendCommand<[Buffer, XEntries, number[]]>(
              ["EVALSHA", claimSha, "1", key, group, consumer, "30000", "0-0", String(COUNT)],
              bufs,
            );
            check(cl[1].length === 0, "nothing is stale, so the claim script claims nothing");
            const r = await c.sendCommand<[number, XEntries | Buffer]>(
              ["EVALSHA", readGroupSha, "1", key, group, consumer, String(COUNT)],
              bufs,
            );
            entries = r[0] === 1 ? (r[1] as XEntries) : [];
          }
          t.fetches++;
          if (entries.length === 0) return;
          const ids = entries.map((e) => e[0].toString("latin1"));
          for (const id of ids) t.see(id, 1);
          const n = await c.sendCommand<number>(["XACK", key, group, ...ids]);
          t.acked += n;
        }
      }));
      return t;
      },
    });
    // Delivery counts: XREADGROUP ">" delivers each entry once by construction; the PEL is empty (checked).
    await Promise.all(clients.map((c) => c.disconnect()));
    await admin.disconnect();
  }
}

/** In process, memory: a fetch with and without the claim step (GroupReader.read vs readGroup), 1 consumer. */
async function inProcessConsume(msgs: Prepared): Promise<void> {
  const env: Env = { backend: "memory", pids: {} };
  const mem = new MemoryBackend();
  const stream = "inproc.groups";
  for (let i = 0; i < N; i++) await mem.add(stream, { headers: msgs.headers[i], msg: msgs.bytes[i] });
  const reader = new GroupReader(mem);
  // Warm-up (untimed): both paths once, so neither row pays the JIT for the other.
  for (const withClaim of [true, false]) {
    const group = `warm${groupSerial++}`;
    await mem.createGroup({ stream, group }, { from: "0" });
    for (;;) {
      const got = withClaim
        ? await reader.read({ stream, group, consumer: "c0", count: COUNT })
        : await mem.readGroup({ stream, group, consumer: "c0" }, { count: COUNT });
      if (got.length === 0) break;
      await mem.ack({ stream, group }, got.map((e) => e.entryId));
    }
  }
  // Alternating passes (median reported): a single pass of each is dominated by GC and JIT timing.
  for (const name of [NAME.memReader, NAME.memRead, NAME.memReader, NAME.memRead, NAME.memReader, NAME.memRead]) {
    const group = `g${groupSerial++}`;
    await mem.createGroup({ stream, group }, { from: "0" });
    await measureConsume(env, {
      name,
      consumers: 1,
      pending: async () => (await mem.groupInfo(stream)).find((g) => g.name === group)!.pending,
      run: async () => {
      const t = new Tally();
      for (;;) {
        const got = name === NAME.memReader
          ? await reader.read({ stream, group, consumer: "c0", count: COUNT })
          : await mem.readGroup({ stream, group, consumer: "c0" }, { count: COUNT });
        t.fetches++;
        if (got.length === 0) return t;
        for (const e of got) t.see(e.entryId, e.deliveries);
        const n = await mem.ack({ stream, group }, got.map((e) => e.entryId));
        t.acked += n;
      }
      },
    });
  }
  await mem.close();
}

// ---------------------------------------------------------------------------
// The claim step alone, against the size of the PEL

interface ClaimCost {
  backend: string;
  pel: number;
  /** µs per claim() call, median. */
  us: number;
  /** Redis round trips per claim() call (EVALSHA calls / claim calls). */
  trips?: number;
}

async function claimCost(url: string, stats: Raw, msgs: Prepared): Promise<ClaimCost[]> {
  const out: ClaimCost[] = [];
  const redis = await RedisBackend.connect({ url, prefix: "benchclaim:" });
  cleanups.push(() => redis.close());
  const mem = new MemoryBackend();
  const max = Math.max(...PEL_SIZES);
  // The largest PEL needs `max` entries; with --n below that, more messages of the same kind.
  const fill = msgs.bytes.length >= max ? msgs : prepare(max);
  for (const [bname, b] of [["memory", mem], ["redis", redis]] as [string, StreamBackend][]) {
    const stream = "claim.cost";
    await windowed({ count: max, inflight: 500 }, (i) => b.add(stream, { headers: fill.headers[i], msg: fill.bytes[i] }));
    for (const pel of PEL_SIZES) {
      const group = `pel${pel}`;
      await b.createGroup({ stream, group }, { from: "0" });
      // `pel` entries delivered to another consumer and not acked: pending, but not idle for 30 s.
      for (let k = 0; k < pel; k += 1000) await b.readGroup({ stream, group, consumer: "holder" }, { count: Math.min(1000, pel - k) });
      const calls = pel >= 10_000 ? 30 : 100;
      const times: number[] = [];
      const s0 = bname === "redis" ? await commandStats(stats) : undefined;
      for (let i = 0; i < calls; i++) {
        const t0 = performance.now();
        const got = await b.claim({ stream, group, consumer: "c0" }, { minIdleMs: 30_000, count: COUNT });
        times.push(performance.now() - t0);
        check(got.length === 0, "claim took nothing (no entry idle 30 s)");
      }
      let trips: number | undefined;
      if (s0) {
        const d = diffStats(s0, await commandStats(stats));
        trips = (d.evalsha?.calls ?? 0) / calls;
      }
      out.push({ backend: bname, pel, us: median(times) * 1000, trips });
      log(`  claim() ${bname} PEL ${pel}: ${(median(times) * 1000).toFixed(0)} µs${trips === undefined ? "" : `, ${trips.toFixed(1)} round trips`}`);
    }
  }
  await mem.close();
  await redis.close();
  return out;
}

// ---------------------------------------------------------------------------
// Request/reply

/**
 * Runs `conc` loops of `one()` for RR_WARM_S + RR_SECONDS; counts and times
 * only the round trips that start after the warm-up.
 */
async function rrLoop(
  env: Env,
  { name, conc, one }: { name: string; conc: number; one: (seq: number) => Promise<void> },
): Promise<void> {
  const row = rowFor({ section: "rr", backend: env.backend, name, consumers: conc });
  const lat: number[] = [];
  const tStart = performance.now();
  const warmEnd = tStart + RR_WARM_S * 1000;
  const end = warmEnd + RR_SECONDS * 1000;
  // Metered from the first round trip after the warm-up, so not with timeWithCpu().
  const meter = new CpuMeter(env.pids);
  let metering = false;
  let seq = 0;
  let counted = 0;
  const s0 = env.stats ? await commandStats(env.stats) : undefined;
  await withTimeout(Promise.all(Array.from({ length: conc }, async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      if (t0 >= warmEnd && !metering) {
        metering = true;
        meter.start();
      }
      await one(seq++);
      const t1 = performance.now();
      if (t0 >= warmEnd) {
        lat.push(t1 - t0);
        counted++;
      }
    }
  })), { what: `${env.backend} ${name}`, ms: TIMEOUT_MS });
  const cpu = meter.stop();
  if (env.stats && s0) {
    row.stats = diffStats(s0, await commandStats(env.stats));
    row.fetches = seq; // round trips, warm-up included: what the commandstats cover
  }
  const secs = (performance.now() - warmEnd) / 1000;
  const rate = counted / secs;
  lat.sort((a, b) => a - b);
  row.rates.push(rate);
  row.cpus.push(cpu);
  row.p50 = quantile(lat, 0.5);
  row.p99 = quantile(lat, 0.99);
  log(`  ${env.backend.padEnd(6)} ${name.padEnd(52)} x${conc} ${formatInt(rate).padStart(8)} rt/s  p50 ${row.p50.toFixed(3)} p99 ${row.p99.toFixed(3)} ms  cpu ${cpuLine(cpu)}`);
}

const RR = {
  iter: "ampd, request() ↔ responder on streamIter",
  kept: "(same, reply stream kept followed: one idle request open)",
  listen: "ampd, request() ↔ responder on listen() (group + ack)",
  raw: "raw node-redis XADD → XREAD BLOCK ping-pong",
} as const;

let rrSerial = 0;

async function ampdRequestReply(env: Env, socket: string): Promise<void> {
  for (const kind of ["iter", "kept", "listen"] as const) {
    for (const conc of kind === "kept" ? [1] : [1, CONC]) {
      const id = rrSerial++;
      const echo = `echo${id}`;
      const reqName = `req${id}`;
      const responder = await sdkClient(socket, echo);
      const requester = await sdkClient(socket, reqName);
      let failed: Error | undefined;
      let stop: () => void;
      let replies = 0;
      if (kind === "iter" || kind === "kept") {
        const it = responder.streamIter(`inbox.${echo}`, { from: "$" });
        await it.ready;
        stop = () => void it.return!();
        void (async () => {
          for await (const d of it) {
            replies++;
            responder.reply(d.message, { payload: d.message.payload }).catch((e) => (failed ??= e));
          }
        })().catch((e) => (failed ??= e));
      } else {
        const inbox = responder.listen(echo, { broadcast: false, count: 32 });
        stop = () => void inbox.return();
        void (async () => {
          for await (const d of inbox) {
            replies++;
            responder.reply(d.message, { payload: d.message.payload }).then(() => d.ack()).catch((e) => (failed ??= e));
          }
        })().catch((e) => (failed ??= e));
      }
      let answered = 0;
      if (kind === "kept") {
        // A request nobody answers keeps request()'s reply subscription open between round trips.
        const idle = numbered({ id: uuidv7(), opId: uuidv7(), sender: reqName, receiver: `nobody${id}`, payload: { seq: -1 } });
        requester.request(idle, { timeout: (RR_WARM_S + RR_SECONDS) * 1000 + 60_000 }).catch(() => {});
        await new Promise((r) => setTimeout(r, 50));
      }
      await rrLoop(env, { name: RR[kind], conc, one: async (seq) => {
        const msg = numbered({ id: uuidv7(), opId: uuidv7(), sender: reqName, receiver: echo, payload: { seq } });
        const d = await requester.request(msg, { timeout: 10_000 });
        check(d.message.replyTo === msg.id && (d.message.payload as { seq: number }).seq === seq, "reply matches its request");
        answered++;
      } });
      stop();
      if (failed) throw failed;
      check(replies >= answered, "the responder saw every request");
      await requester.close();
      await responder.close();
    }
  }
}

/**
 * The raw baseline: the same exchange on Redis Streams without ampd. The
 * requester XADDs to `inbox` (fields `corr` + the message bytes), the
 * responder reads it with XREAD BLOCK and XADDs the same bytes to `reply`,
 * the requester reads that with XREAD BLOCK and matches `corr`. Four
 * connections (two per side), as a blocked reader needs its own.
 */
async function rawRequestReply(env: Env, url: string): Promise<void> {
  const bytes = Buffer.from(encode(numbered()));
  for (const conc of [1, CONC]) {
    const id = rrSerial++;
    const inbox = `bench:rr:${id}:inbox`;
    const reply = `bench:rr:${id}:reply`;
    const [reqPub, reqSub, resPub, resSub] = await Promise.all([rawClient(url), rawClient(url), rawClient(url), rawClient(url)]);
    let running = true;
    let failed: Error | undefined;
    const waiting = new Map<string, () => void>();
    const readLoop = async (c: Raw, key: string, onEntry: (fields: Buffer[]) => void) => {
      let after = "0-0";
      while (running) {
        const r = await c.sendCommand<[Buffer, XEntries][] | null>(["XREAD", "COUNT", "1000", "BLOCK", "200", "STREAMS", key, after], bufs);
        const entries = r?.[0]?.[1] ?? [];
        for (const e of entries) onEntry(e[1]);
        if (entries.length > 0) after = entries[entries.length - 1][0].toString("latin1");
      }
    };
    const responder = readLoop(resSub, inbox, (f) => {
      resPub.sendCommand(["XADD", reply, "*", "corr", f[1], "msg", f[3]]).catch((e) => (failed ??= e));
    }).catch((e) => (failed ??= e));
    const requesterReads = readLoop(reqSub, reply, (f) => {
      const w = waiting.get(f[1].toString("latin1"));
      if (w) w();
    }).catch((e) => (failed ??= e));
    await rrLoop(env, { name: RR.raw, conc, one: async (seq) => {
      const corr = `${id}.${seq}`;
      const got = new Promise<void>((resolve) => waiting.set(corr, resolve));
      await reqPub.sendCommand(["XADD", inbox, "*", "corr", corr, "msg", bytes]);
      await got;
      waiting.delete(corr);
    } });
    running = false;
    await Promise.all([responder, requesterReads]);
    if (failed) throw failed;
    await Promise.all([reqPub, reqSub, resPub, resSub].map((c) => c.disconnect()));
  }
}

// ---------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const started = performance.now();
  log("building dist/ampd if missing or stale...");
  await buildAmpd();
  log("starting redis-server...");
  const redis = await startRedis();
  const { pid: rpid, version: redisVersion } = await redisInfo(redis.url);
  const stats = await rawClient(redis.url);
  const noise = await timerNoise();
  const load0 = loadAverage();

  log(`preparing ${N} messages...`);
  const msgs = prepare(N);

  for (let round = 0; round < ROUNDS; round++) {
    for (const backend of ["memory", "redis"] as const) {
      const ampd = await startAmpd(ampdArgs(backend, redis.url));
      const env: Env = { backend, pids: backend === "redis" ? { ampd: ampd.pid, redis: rpid } : { ampd: ampd.pid }, stats: backend === "redis" ? stats : undefined };
      const admin = await sdkClient(ampd.socket, "bench-admin");
      const stream = `bench.groups.${round}`;
      log(`${backend}: pre-filling ${N} entries (round ${round + 1}/${ROUNDS})`);
      await windowed({ count: N, inflight: 1000 }, (i) => admin.port.add(stream, msgs.bytes[i]));
      check((await admin.streamInfo(stream)).length === N, `${stream} holds ${N} entries`);
      for (const c of CONSUMERS) {
        await ampdConsume(env, { socket: ampd.socket, admin, stream, consumers: c });
        if (backend === "redis") await rawConsume(env, { url: redis.url, key: `ampbus:{${stream}}`, consumers: c });
      }
      await dropStreams(admin, [stream]); // with its group and dedupe keys, on Redis too
      log(`${backend}: request/reply (${RR_SECONDS} s per row after ${RR_WARM_S} s warm-up)`);
      await ampdRequestReply(env, ampd.socket);
      if (backend === "redis") await rawRequestReply(env, redis.url);
      await admin.close();
      await ampd.stop();
      await ampd.dispose();
    }
    log("in process: memory consume with and without the claim step");
    await inProcessConsume(msgs);
  }
  log("claim() alone against the PEL size");
  const claims = await claimCost(redis.url, stats, msgs);

  // ----- report
  const out: string[] = [];
  const bunVersion = (process.versions as Record<string, string>).bun ?? process.version;
  const procs = ["client", "ampd", "redis"];
  const cpuText = (r: Row) => cpuCell(procs, (k) => cpuMedian(r, k));
  const usText = (r: Row) => procs.map((k) => usPer(cpuMedian(r, k), median(r.rates))).join(" / ");
  out.push(`## Consumer groups and request/reply (Bun ${bunVersion}, redis-server ${redisVersion}, ${ROUNDS === 1 ? "1 round" : `median of ${ROUNDS} rounds`})`);
  out.push("");
  out.push(`### group consume with acks (${N} pre-filled entries of ${msgs.bytes[0].length} B, COUNT ${COUNT} per fetch; every entry checked delivered once, acked, nothing pending)`);
  const con = rows.filter((r) => r.section === "consume");
  out.push(formatTable(
    ["path", "backend", "consumers", "msg/s", ...(ROUNDS > 1 ? ["spread"] : []), "CPU client / ampd / redis", "CPU µs per msg client / ampd / redis"],
    con.map((r) => [r.name, r.backend, String(r.consumers), formatInt(median(r.rates)), ...(ROUNDS > 1 ? [spreadText(spread(r.rates))] : []), cpuText(r), usText(r)]),
  ));
  out.push("");
  out.push("### Redis side of the Redis rows (INFO commandstats; µs per call inside Redis; script-called commands also count in their EVALSHA)");
  const statRows = con.filter((r) => r.stats !== undefined);
  const st = (r: Row, k: string) => {
    const s = r.stats![k];
    return s === undefined ? "—" : `${formatInt(s.calls)} × ${(s.usec / s.calls).toFixed(1)}`;
  };
  out.push(formatTable(
    ["path", "consumers", "EVALSHA", "XAUTOCLAIM", "XREADGROUP", "XACK", "XINFO", "Redis µs per msg (all commands at top level)"],
    statRows.map((r) => {
      const s = r.stats!;
      const top = (s.evalsha?.usec ?? 0) + (s.xack?.usec ?? 0) + (s.evalsha ? 0 : (s.xreadgroup?.usec ?? 0));
      return [r.name, String(r.consumers), st(r, "evalsha"), st(r, "xautoclaim"), st(r, "xreadgroup"), st(r, "xack"), st(r, "xinfo"), (top / N).toFixed(2)];
    }),
  ));
  out.push("");
  out.push(`### claim() alone (the first step of every group.read), in this process, nothing idle long enough to claim; µs per call, median`);
  out.push(formatTable(
    ["backend", ...PEL_SIZES.map((p) => `PEL ${formatInt(p)}`)],
    ["memory", "redis"].map((b) => [
      b,
      ...PEL_SIZES.map((p) => {
        const c = claims.find((x) => x.backend === b && x.pel === p)!;
        return c.trips === undefined ? c.us.toFixed(0) : `${c.us.toFixed(0)} (${c.trips.toFixed(0)} round trip${c.trips === 1 ? "" : "s"})`;
      }),
    ]),
  ));
  out.push("");
  out.push(`### request/reply (round trips/s over ${RR_SECONDS} s after ${RR_WARM_S} s warm-up; latency in ms; requester and responder both in this process)`);
  out.push("");
  out.push(`Machine noise: an idle setTimeout(1) fired late by p50 ${noise.p50.toFixed(3)} ms, p99 ${noise.p99.toFixed(3)} ms.`);
  out.push("");
  const rr = rows.filter((r) => r.section === "rr");
  out.push(formatTable(
    ["path", "backend", "in flight", "round trips/s", ...(ROUNDS > 1 ? ["spread"] : []), "p50 ms", "p99 ms", "CPU client / ampd / redis", "CPU µs per round trip client / ampd / redis"],
    rr.map((r) => [r.name, r.backend, String(r.consumers), formatInt(median(r.rates)), ...(ROUNDS > 1 ? [spreadText(spread(r.rates))] : []), r.p50!.toFixed(3), r.p99!.toFixed(3), cpuText(r), usText(r)]),
  ));
  out.push("");
  out.push("Redis commands per round trip (INFO commandstats over each Redis row, warm-up included; calls per round trip × µs per call):");
  out.push("");
  out.push(formatTable(
    ["path", "in flight", "commands per round trip"],
    rr.filter((r) => r.stats !== undefined).map((r) => [
      r.name,
      String(r.consumers),
      Object.entries(r.stats!).filter(([k]) => k !== "info").sort((a, b) => b[1].calls - a[1].calls)
        .map(([k, v]) => `${k.toUpperCase()} ${(v.calls / r.fetches!).toFixed(2)} × ${(v.usec / v.calls).toFixed(1)}`).join(", "),
    ]),
  ));
  out.push("");
  out.push(runSummary(started, load0));
  console.log(out.join("\n"));
}

let code = 0;
try {
  await main();
} catch (e) {
  console.error(e);
  code = 1;
} finally {
  await cleanupAll();
}
// Exit now: a request left open on purpose (the kept-followed row) still holds a timer.
process.exit(code);
