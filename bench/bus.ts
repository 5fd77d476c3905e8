/**
 * The bus benchmark: what the sidecar `ampd` costs and delivers, on Redis
 * and on in-memory streams, measured against raw node-redis from the same
 * runtime in the same run.
 *
 * Usage: `bun bench/bus.ts [--n=100000] [--rounds=3] [--seconds=5] [--rate=10000] [--inflight=1000]`
 * (also `npm run bench -- --bus`, which runs this file), or
 * `bun bench/bus.ts --durable [--n=100000] [--rounds=3] [--row-seconds=3] [--inflight=1000] [--backends=...] [--cpu-prof=DIR]`
 * for the durable backends (below).
 *
 * It starts its own `redis-server` (tests/_helpers/redis_server.ts: free port,
 * temp dir, no persistence) and the compiled `dist/ampd` (built first when
 * missing or older than its sources), on sockets in temp directories, once
 * with `--backend memory` and once with `--backend redis`. It measures:
 *
 * - publish throughput with `inflight` requests in flight, each add a
 *   pre-encoded message with a unique opId (so dedupe never short-circuits):
 *   through ampd with the SDK's `SocketPort.add` and with a minimal client that
 *   writes pre-built frames and only counts replies; next to raw node-redis
 *   `XADD` of the same bytes with the same fields ampd stores
 *   (docs/storage.md), and raw `EVALSHA` of ampd's own add script;
 * - the sidecar's add path without any socket (decode + validate; the memory
 *   backend's add; a whole `Session` fed frames in process);
 * - consume throughput: N pre-filled entries read by a subscriber
 *   (`streamIter`, which decodes and validates each message, and a raw
 *   subscribe/credit loop that only counts), plus raw node-redis `XREAD`;
 * - publish-to-delivery latency at a fixed rate (one publisher connection,
 *   one subscriber connection, send time kept per sequence number), on a
 *   fresh ampd, and the same without ampd (node-redis XADD -> XREAD BLOCK);
 * - ampd's RSS idle and at its peak (VmRSS / VmHWM), and start-up time to a
 *   socket that answers `hello`, median of 5 starts.
 *
 * With `--durable` it measures instead, in one run, ampd on
 * `--backend sqlite --sync full`, `--sync normal`, `memory`, and Redis twice:
 * a redis-server with no persistence and one with `appendonly yes` +
 * `appendfsync always` (both started by the bench; SQLite files in a temp
 * dir). All five ampds run side by side; each round runs every row on every
 * backend, one backend after the other, the order rotated each round, so a
 * ratio compares two rates taken moments apart. Rows: acknowledged publish
 * through the SDK with 1 and `--inflight` requests in flight (and pre-built
 * frames), group consume with acks (batched per fetch, and one `await
 * d.ack()` per delivery); each row stops at N messages or `--row-seconds`.
 * Also ampd's RSS after start (before any load) and after the run, the
 * disk's fsync cost, and the targets of the SQLite backend. `--cpu-prof=DIR`
 * runs every ampd from source under `bun --cpu-prof` and leaves one
 * `.cpuprofile` per backend in DIR (read them with `bench/cpuprofile.ts`).
 *
 * Every process it starts is stopped on the way out, also on failure.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AmpClient } from "../mod.ts";
import { decode, decodeValue } from "../sdk/codec/codec.ts";
import { MemoryBackend } from "../sdk/backend/memory.ts";
import { entryFields } from "../sidecar/backend/_redis_reply.ts";
import { ADD_SCRIPT } from "../sidecar/backend/_redis_scripts.ts";
import { Logger } from "../sidecar/log.ts";
import { ServerState } from "../sidecar/server_state.ts";
import { Session } from "../sidecar/session.ts";
import { type Ampd, buildAmpd } from "../tests/_helpers/ampd.ts";
import { addFrames, FrameConn, type Frames, helloFrame } from "./_frames.ts";
import { check, fetchAndAck, groupPending, iterateAndAck, type Tally } from "./_groups.ts";
import { type Prepared, prepare } from "./_messages.ts";
import {
  ampdArgs,
  type AmpdProcess,
  bufs,
  cleanupAll,
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
  timeWithCpu,
  withTimeout,
  type XEntries,
} from "./_proc.ts";
import { cpuMedian, median, quantile, type Rounds, spread, timerNoise, windowed } from "./_stats.ts";
import { cpuCell, cpuLine, formatInt, formatTable, spreadText } from "./_table.ts";

const N = numberFlag("n", 100_000);
const ROUNDS = Math.max(1, numberFlag("rounds", 3));
const SECONDS = numberFlag("seconds", 5);
const RATE = numberFlag("rate", 10_000);
const INFLIGHT = numberFlag("inflight", 1000);
const STARTS = 5;
/** Latency samples from the first WARM_S seconds are dropped (JIT, connection warm-up). */
const WARM_S = 0.5;
const TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------
// Results

interface Rate extends Rounds {
  name: string;
  backend: string;
  /** Per round, when the row timed each request: its p50 and p99 in ms. */
  acks?: { p50: number; p99: number }[];
}

const mb = (b: number) => (b / (1024 * 1024)).toFixed(1);
const PROCS = ["client", "ampd", "redis"] as const;

/** What one backend's phases measure against. */
interface Env {
  backend: "memory" | "redis";
  ampd: Ampd;
  /** The SDK client the publish and consume rows use. */
  client: AmpClient;
  /** Processes metered besides this one: ampd, and redis-server on the Redis backend. */
  pids: Record<string, number>;
  /** redis-server's URL, on the Redis backend only (the raw node-redis rows). */
  redisUrl?: string;
}

/** One row's place in the tables and the processes its CPU columns meter. */
interface RowOf {
  backend: string;
  name: string;
  pids: Record<string, number>;
}

class Recorder {
  rows: Rate[] = [];
  #byKey = new Map<string, Rate>();

  /**
   * Times `fn` with CPU metering and records one round of a row: `fn`
   * resolves with the number of messages it handled, or with nothing for N.
   */
  async measure({ backend, name, pids }: RowOf, fn: () => Promise<number | void>): Promise<number> {
    const key = `${backend}|${name}`;
    let row = this.#byKey.get(key);
    if (row === undefined) {
      row = { name, backend, rates: [], cpus: [] };
      this.#byKey.set(key, row);
      this.rows.push(row);
    }
    const { value, seconds, cpu } = await timeWithCpu(pids, () => withTimeout(fn(), { what: `${backend} ${name}`, ms: TIMEOUT_MS }));
    const count = typeof value === "number" ? value : N;
    const rate = count / seconds;
    row.rates.push(rate);
    row.cpus.push(cpu);
    log(`  ${backend.padEnd(6)} ${name.padEnd(44)} ${formatInt(rate).padStart(10)} msg/s  cpu ${cpuLine(cpu)}${count === N ? "" : `  (${formatInt(count)} in ${seconds.toFixed(1)} s)`}`);
    return rate;
  }

  /** Adds the p50 and p99 of one round's request times (ms) to the row last measured as `backend`/`name`. */
  ackTimes({ backend, name }: { backend: string; name: string }, times: number[]): void {
    const r = this.#byKey.get(`${backend}|${name}`)!;
    const xs = [...times].sort((a, b) => a - b);
    (r.acks ??= []).push({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99) });
  }

  get({ backend, name }: { backend: string; name: string }): number | undefined {
    const r = this.#byKey.get(`${backend}|${name}`);
    return r ? median(r.rates) : undefined;
  }

  /** The row's rate of every round, in round order (empty when never measured). */
  rounds({ backend, name }: { backend: string; name: string }): number[] {
    return this.#byKey.get(`${backend}|${name}`)?.rates ?? [];
  }
}

const rec = new Recorder();

const ROW = {
  rawXadd: "raw node-redis XADD (no dedupe)",
  rawEval: "raw node-redis EVALSHA add script (dedupe)",
  sdk: "ampd, SDK SocketPort.add",
  frames: "ampd, pre-built frames (minimal client)",
  msgpack: "in process: MessagePack decode only (no validation)",
  decode: "in process: decode + validate only",
  memAdd: "in process: MemoryBackend.add only",
  session: "in process: Session (frames in, replies out)",
  iter: "ampd, streamIter (decode + validate)",
  credit: "ampd, raw subscribe/credit (count only)",
  xread: "raw node-redis XREAD COUNT 1000",
} as const;

interface Latency {
  backend: string;
  n: number;
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  ackP50: number;
  ackP99: number;
  cpu: Record<string, number>;
}

interface Resources {
  backend: string;
  idleRss: number;
  peakRss: number;
  startMedian: number;
  starts: number[];
  readyLine: number;
  internal: number;
}

// ---------------------------------------------------------------------------
// Phases

/** Publish rows, ROUNDS times; returns the stream of the last SDK round (the consume phase reads it). */
async function publishPhase(env: Env, msgs: Prepared): Promise<string> {
  const { backend, ampd, client, pids, redisUrl } = env;
  const raw = redisUrl ? await rawClient(redisUrl) : undefined;
  const sha = raw ? await raw.sendCommand<string>(["SCRIPT", "LOAD", ADD_SCRIPT]) : "";
  const frameConn = await FrameConn.open(ampd.socket);
  let lastSdkStream = "";
  for (let r = 0; r < ROUNDS; r++) {
    log(`${backend} publish round ${r + 1}/${ROUNDS} (${N} messages, ${INFLIGHT} in flight)`);
    if (raw && backend === "redis") await raw.sendCommand(["FLUSHALL"]);
    if (raw && backend === "redis") {
      const key = `ampbus:{bench.raw-xadd.${r}}`;
      const args = msgs.bytes.map((b, i) => ["XADD", key, "*", ...entryFields(msgs.headers[i], b)]);
      await rec.measure({ backend, name: ROW.rawXadd, pids }, () => windowed({ count: N, inflight: INFLIGHT }, (i) => raw.sendCommand(args[i])));
      const ekey = `ampbus:{bench.raw-eval.${r}}`;
      const eargs = msgs.bytes.map((b, i) => [
        "EVALSHA", sha, "2", ekey, `${ekey}:op:${msgs.headers[i].opId}`, "600000", "", ...entryFields(msgs.headers[i], b),
      ]);
      await rec.measure({ backend, name: ROW.rawEval, pids }, () => windowed({ count: N, inflight: INFLIGHT }, (i) => raw.sendCommand(eargs[i])));
    }
    const sdkStream = `bench.sdk.${r}`;
    const before = await client.info();
    await rec.measure({ backend, name: ROW.sdk, pids }, () => windowed({ count: N, inflight: INFLIGHT }, (i) => client.port.add(sdkStream, msgs.bytes[i])));
    const framesStream = `bench.frames.${r}`;
    const frames = addFrames(framesStream, msgs.bytes);
    await rec.measure({ backend, name: ROW.frames, pids }, () => frameConn.publish(frames, INFLIGHT));
    const after = await client.info();
    const added = (after.added as number) - (before.added as number);
    const errors = (after.errors as number) - (before.errors as number);
    const dups = (after.duplicates as number) - (before.duplicates as number);
    if (added !== 2 * N || errors !== 0 || dups !== 0) {
      throw new Error(`${backend}: expected ${2 * N} adds, ampd counted added ${added}, errors ${errors}, duplicates ${dups}`);
    }
    // The memory backend keeps every entry: drop the ones no later phase reads.
    if (backend === "memory") {
      await client.trim(framesStream, 0);
      if (r < ROUNDS - 1) await client.trim(sdkStream, 0);
    }
    lastSdkStream = sdkStream;
  }
  frameConn.close();
  return lastSdkStream;
}

/** The sidecar's add path without a socket, on the memory backend (same process as the bench). */
async function inProcessPhase(msgs: Prepared): Promise<void> {
  log(`in-process add path (${N} messages)`);
  for (let r = 0; r < ROUNDS; r++) {
    await rec.measure({ backend: "memory", name: ROW.msgpack, pids: {} }, async () => {
      for (let i = 0; i < N; i++) decodeValue(msgs.bytes[i]);
    });
    await rec.measure({ backend: "memory", name: ROW.decode, pids: {} }, async () => {
      for (let i = 0; i < N; i++) decode(msgs.bytes[i]);
    });
    const mem = new MemoryBackend();
    await rec.measure({ backend: "memory", name: ROW.memAdd, pids: {} }, async () => {
      for (let i = 0; i < N; i++) await mem.add(`inproc.${r}`, { headers: msgs.headers[i], msg: msgs.bytes[i].slice() });
    });
    await mem.close();
    const backend = new MemoryBackend();
    const state = new ServerState({ maxFrame: 16 * 1024 * 1024, version: "bench" }, backend, new Logger("error"));
    let out = 0;
    const session = new Session(1, { write: (b) => void (out += b.length), buffered: () => 0, close: () => {} }, state);
    session.onData(helloFrame("inproc"));
    const frames = addFrames(`inproc.s.${r}`, msgs.bytes);
    await rec.measure({ backend: "memory", name: ROW.session, pids: {} }, async () => {
      // Fed in 64 KiB chunks, as a socket would deliver them, letting replies settle in between.
      const CHUNK = 64 * 1024;
      for (let p = 0; p < frames.buf.length; p += CHUNK) {
        session.onData(frames.buf.subarray(p, Math.min(p + CHUNK, frames.buf.length)));
        await null;
      }
      await state.waitIdle();
      await new Promise((r) => setImmediate(r));
    });
    if (state.counters.added !== N || state.counters.errors !== 0) {
      throw new Error(`in-process session: added ${state.counters.added}, errors ${state.counters.errors}`);
    }
    session.onClose();
    await backend.close();
  }
}

/** Consume rows over `stream`'s N pre-filled entries, ROUNDS times. */
async function consumePhase(env: Env, stream: string): Promise<void> {
  const { backend, client, pids, redisUrl } = env;
  log(`${backend} consume (${N} pre-filled entries of ${stream})`);
  for (let r = 0; r < ROUNDS; r++) {
    await rec.measure({ backend, name: ROW.iter, pids }, async () => {
      let k = 0;
      for await (const _d of client.streamIter(stream, { from: "0", window: 1000 })) {
        if (++k === N) break;
      }
    });
    await rec.measure({ backend, name: ROW.credit, pids }, () =>
      new Promise<void>((resolve, reject) => {
        const WINDOW = 1000;
        let got = 0;
        let granted = 0;
        let subId = 0;
        const port = client.port;
        port.subscribe(stream, { from: "0", credit: WINDOW, onEntries: (entries) => {
          got += entries.length;
          if (got >= N) {
            void port.unsubscribe(subId).catch(() => {});
            resolve();
          } else if (got - granted >= WINDOW / 2) {
            const g = got - granted;
            granted += g;
            port.credit(subId, g).catch(reject);
          }
        } }).then((s) => (subId = s.sub), reject);
      }));
    if (redisUrl && backend === "redis") {
      const raw = await rawClient(redisUrl);
      const key = `ampbus:{${stream}}`;
      await rec.measure({ backend, name: ROW.xread, pids }, async () => {
        let after = "0";
        let k = 0;
        while (k < N) {
          const reply = await raw.sendCommand<[Buffer, XEntries][] | null>(["XREAD", "COUNT", "1000", "STREAMS", key, after], bufs);
          const entries = reply?.[0]?.[1] ?? [];
          if (entries.length === 0) throw new Error("XREAD: stream ended early");
          k += entries.length;
          after = entries[entries.length - 1][0].toString("latin1");
        }
      });
    }
  }
}

async function latencyPhase(env: Env): Promise<Latency> {
  const { backend, ampd, pids } = env;
  const total = Math.round(RATE * (SECONDS + WARM_S));
  const skip = Math.round(RATE * WARM_S);
  log(`${backend} latency: ${RATE} msg/s for ${SECONDS + WARM_S} s (first ${WARM_S} s dropped)`);
  const msgs = prepare(total, (i) => ({ payload: { seq: i } }));
  const pub = await sdkClient(ampd.socket, "bench-pub");
  const sub = await sdkClient(ampd.socket, "bench-sub");
  const stream = `bench.latency.${backend}`;
  const it = sub.streamIter(stream, { from: "$", window: 1000 });
  await it.ready;
  const sendAt = new Float64Array(total);
  const lat = new Float64Array(total).fill(NaN);
  const ack = new Float64Array(total).fill(NaN);
  let got = 0;
  const received = (async () => {
    for await (const d of it) {
      const seq = (d.message.payload as { seq: number }).seq;
      lat[seq] = performance.now() - sendAt[seq];
      if (++got === total) break;
    }
  })();
  let failed: Error | undefined;
  const { value: sendSeconds, cpu } = await timeWithCpu(pids, async () => {
    const sent = await pace(total, (seq) => {
      sendAt[seq] = performance.now();
      pub.port.add(stream, msgs.bytes[seq]).then(
        () => void (ack[seq] = performance.now() - sendAt[seq]),
        (e) => void (failed ??= e),
      );
    });
    await withTimeout(received, { what: `${backend} latency delivery`, ms: TIMEOUT_MS });
    return sent;
  });
  if (failed) throw failed;
  await pub.close();
  await sub.close();
  return latencyStats({ name: `ampd ${backend}, streamIter`, lat, ack, skip, rate: total / sendSeconds, cpu });
}

/**
 * Calls `send(0..total-1)` at RATE per second: on each timer tick, every
 * message due by now (so ~RATE/1000 per 1 ms tick). Resolves with the seconds taken.
 */
function pace(total: number, send: (seq: number) => void): Promise<number> {
  const t0 = performance.now();
  let i = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
      while (i < due) send(i++);
      if (i < total) setTimeout(tick, 1);
      else resolve((performance.now() - t0) / 1000);
    };
    tick();
  });
}

/** One latency row from per-message delivery (`lat`) and add-ack (`ack`) times, the first `skip` dropped. */
function latencyStats(
  { name, lat, ack, skip, rate, cpu }: { name: string; lat: Float64Array; ack: Float64Array; skip: number; rate: number; cpu: Record<string, number> },
): Latency {
  const xs = Array.from(lat.subarray(skip)).sort((a, b) => a - b);
  const as = Array.from(ack.subarray(skip)).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return {
    backend: name,
    n: xs.length,
    rate,
    p50: quantile(xs, 0.5),
    p90: quantile(xs, 0.9),
    p99: quantile(xs, 0.99),
    max: xs[xs.length - 1],
    ackP50: quantile(as, 0.5),
    ackP99: quantile(as, 0.99),
    cpu,
  };
}

/** The same measurement without ampd: node-redis XADD on one connection, XREAD BLOCK on another. */
async function rawRedisLatency(url: string, rpid: number): Promise<Latency> {
  const total = Math.round(RATE * (SECONDS + WARM_S));
  const skip = Math.round(RATE * WARM_S);
  log(`raw node-redis latency: XADD -> XREAD BLOCK, ${RATE} msg/s for ${SECONDS + WARM_S} s`);
  const msgs = prepare(total, (i) => ({ payload: { seq: i } }));
  const pub = await rawClient(url);
  const sub = await rawClient(url);
  const key = "ampbus:{bench.latency.raw}"; // on this run's own redis-server
  const sendAt = new Float64Array(total);
  const lat = new Float64Array(total).fill(NaN);
  const ack = new Float64Array(total).fill(NaN);
  // One publisher, so entries arrive in send order: the k-th entry is message k.
  const received = (async () => {
    let got = 0;
    let after = "0-0"; // the key is new: nothing before the first add
    while (got < total) {
      const reply = await sub.sendCommand<[Buffer, XEntries][] | null>(
        ["XREAD", "COUNT", "1000", "BLOCK", "5000", "STREAMS", key, after],
        bufs,
      );
      const entries = reply?.[0]?.[1] ?? [];
      const now = performance.now();
      for (const _e of entries) {
        lat[got] = now - sendAt[got];
        got++;
      }
      if (entries.length > 0) after = entries[entries.length - 1][0].toString("latin1");
    }
  })();
  let failed: Error | undefined;
  const { value: sendSeconds, cpu } = await timeWithCpu({ redis: rpid }, async () => {
    const sent = await pace(total, (seq) => {
      sendAt[seq] = performance.now();
      pub.sendCommand(["XADD", key, "*", ...entryFields(msgs.headers[seq], msgs.bytes[seq])]).then(
        () => void (ack[seq] = performance.now() - sendAt[seq]),
        (e) => void (failed ??= e),
      );
    });
    await withTimeout(received, { what: "raw redis latency delivery", ms: TIMEOUT_MS });
    return sent;
  });
  if (failed) throw failed;
  await pub.disconnect();
  await sub.disconnect();
  return latencyStats({ name: "raw node-redis XADD → XREAD BLOCK", lat, ack, skip, rate: total / sendSeconds, cpu });
}

/** Spawn to a socket that answers hello; also the time to the ready line and ampd's own "ready in" log. */
async function timeStart(bin: string, args: string[]): Promise<{ hello: number; readyLine: number; internal: number }> {
  const dir = mkdtempSync(join(tmpdir(), "ampbus-bench-start-"));
  const socket = join(dir, "ampd.sock");
  let child: ChildProcess | undefined;
  try {
    const t0 = performance.now();
    child = spawn(bin, [...args, "--socket", socket], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, REDIS_URL: "", AMPD_TOKEN: "" },
    });
    const c = child;
    let stderr = "";
    c.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        let out = "";
        c.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("ampd ready")) resolve();
        });
        c.once("exit", (code) => reject(new Error(`ampd exited with ${code} during start:\n${stderr}`)));
      }),
      { what: "ampd start", ms: 10_000 },
    );
    const readyLine = performance.now() - t0;
    const conn = await FrameConn.open(socket, "bench-start");
    const hello = performance.now() - t0;
    conn.close();
    const internal = Number(/ready in ([\d.]+) ms/.exec(stderr)?.[1] ?? NaN);
    c.kill("SIGTERM");
    await withTimeout(exited, { what: "ampd stop", ms: 10_000 });
    return { hello, readyLine, internal };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// --durable: the durable backends against memory and Redis, rounds interleaved

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

/** One round of every `--durable` row on one backend; streams are new each round (so no opId repeats) and trimmed after. */
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
  for (const s of [s1, sN, sF]) await client.trim(s, 0);
  if (env.raw) await env.raw.sendCommand(["FLUSHALL"]);
}

/** `bun bench/bus.ts --durable`: acked publish and group consume on each backend of DURABLE_KINDS, rounds interleaved; RSS; targets. */
async function durableMain(): Promise<void> {
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
    await e.client.trim("bench.warmup", 0);
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

  // After the run: everything trimmed, 2 s idle.
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
    ["backend", "idle after start", "vs memory", "after the run (trimmed, 2 s idle)", "peak (VmHWM)", "SQLite file + WAL after the run"],
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

// ---------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const started = performance.now();
  log(`building dist/ampd if missing or stale...`);
  const bin = await buildAmpd();
  log(`starting redis-server...`);
  const redis = await startRedis();
  const { pid: rpid, version: redisVersion } = await redisInfo(redis.url);

  const noise = await timerNoise();
  const load0 = loadAverage();
  log(`preparing ${N} messages...`);
  const msgs = prepare(N);
  const msgBytes = msgs.bytes[0].length;

  const lats: Latency[] = [];
  const res: Resources[] = [];

  for (const backend of ["memory", "redis"] as const) {
    const args = ampdArgs(backend, redis.url);
    const ampd = await startAmpd(args);
    await new Promise((r) => setTimeout(r, 500));
    const idleRss = rss(ampd.pid);
    const client = await sdkClient(ampd.socket, "bench");
    const env: Env = backend === "memory"
      ? { backend, ampd, client, pids: { ampd: ampd.pid } }
      : { backend, ampd, client, pids: { ampd: ampd.pid, redis: rpid }, redisUrl: redis.url };
    // Warm-up: JIT in ampd and in this process.
    const warm = prepare(Math.min(20_000, N));
    await windowed({ count: warm.bytes.length, inflight: INFLIGHT }, (i) => client.port.add("bench.warmup", warm.bytes[i]));
    if (backend === "memory") await client.trim("bench.warmup", 0);
    // Latency first, on a fresh sidecar: the publish runs below leave a large heap behind.
    lats.push(await latencyPhase(env));
    if (backend === "redis") lats.push(await rawRedisLatency(redis.url, rpid));
    if (backend === "memory") await client.trim(`bench.latency.${backend}`, 0);
    const stream = await publishPhase(env, msgs);
    const peakAfterPublish = peakRss(ampd.pid);
    await consumePhase(env, stream);
    await client.close();
    await ampd.stop();
    await ampd.dispose();
    const starts: { hello: number; readyLine: number; internal: number }[] = [];
    log(`${backend} start-up x${STARTS}`);
    for (let i = 0; i < STARTS; i++) starts.push(await timeStart(bin, args));
    res.push({
      backend,
      idleRss,
      peakRss: peakAfterPublish,
      starts: starts.map((s) => s.hello),
      startMedian: median(starts.map((s) => s.hello)),
      readyLine: median(starts.map((s) => s.readyLine)),
      internal: median(starts.map((s) => s.internal)),
    });
    if (backend === "memory") {
      await inProcessPhase(msgs);
    }
  }

  // ----- report
  const out: string[] = [];
  const bunVersion = (process.versions as Record<string, string>).bun ?? process.version;
  out.push(`## Bus benchmark (Bun ${bunVersion}, redis-server ${redisVersion}, ${N} messages of ${msgBytes} B per row, ${INFLIGHT} in flight, median of ${ROUNDS} rounds)`);
  out.push("");
  out.push("### publish (msg/s; CPU = share of one core, median over rounds)");
  const pubNames: string[] = [ROW.rawXadd, ROW.rawEval, ROW.sdk, ROW.frames, ROW.msgpack, ROW.decode, ROW.memAdd, ROW.session];
  const cpuText = (r: Rate) => cpuCell(PROCS, (k) => cpuMedian(r, k));
  const pubRows = rec.rows.filter((r) => pubNames.includes(r.name));
  out.push(formatTable(
    ["path", "backend", "msg/s", "spread", "CPU client / ampd / redis"],
    pubRows.map((r) => [r.name, r.backend, formatInt(median(r.rates)), spreadText(spread(r.rates)), cpuText(r)]),
  ));
  out.push("");
  out.push("### consume (N pre-filled entries, msg/s)");
  const conRows = rec.rows.filter((r) => !pubNames.includes(r.name));
  out.push(formatTable(
    ["path", "backend", "msg/s", "spread", "CPU client / ampd / redis"],
    conRows.map((r) => [r.name, r.backend, formatInt(median(r.rates)), spreadText(spread(r.rates)), cpuText(r)]),
  ));
  out.push("");
  out.push(`### publish-to-delivery latency (${RATE} msg/s for ${SECONDS} s after ${WARM_S} s warm-up; ms)`);
  out.push("");
  out.push(`Machine noise: an idle setTimeout(1) fired late by p50 ${noise.p50.toFixed(3)} ms, p99 ${noise.p99.toFixed(3)} ms, max ${noise.max.toFixed(2)} ms.`);
  out.push("");
  out.push(formatTable(
    ["path", "sent msg/s", "samples", "p50", "p90", "p99", "max", "add ack p50", "add ack p99", "CPU client / ampd / redis"],
    lats.map((l) => [
      l.backend, formatInt(l.rate), String(l.n), l.p50.toFixed(3), l.p90.toFixed(3), l.p99.toFixed(3), l.max.toFixed(2),
      l.ackP50.toFixed(3), l.ackP99.toFixed(3), cpuCell(PROCS, (k) => l.cpu[k]),
    ]),
  ));
  out.push("");
  out.push("### ampd resources");
  out.push(formatTable(
    ["backend", "RSS idle MB", "RSS peak MB (publish)", "ready→hello ms (median of 5)", "5 starts ms", "to ready line ms", "ampd's own 'ready in' ms"],
    res.map((r) => [
      r.backend, mb(r.idleRss), mb(r.peakRss), r.startMedian.toFixed(1), r.starts.map((x) => x.toFixed(0)).join(", "),
      r.readyLine.toFixed(1), r.internal.toFixed(1),
    ]),
  ));
  out.push("");
  out.push("### targets");
  const verdict = (ok: boolean, text: string) => `- ${ok ? "met" : "MISSED"}: ${text}`;
  const sdkRedis = rec.get({ backend: "redis", name: ROW.sdk })!;
  const framesRedis = rec.get({ backend: "redis", name: ROW.frames })!;
  const rawX = rec.get({ backend: "redis", name: ROW.rawXadd })!;
  const rawE = rec.get({ backend: "redis", name: ROW.rawEval })!;
  const best = Math.max(sdkRedis, framesRedis);
  out.push(verdict(best / rawX >= 0.9, `through ampd on Redis ${formatInt(sdkRedis)} msg/s (SDK) / ${formatInt(framesRedis)} (pre-built frames) = ${(sdkRedis / rawX).toFixed(2)}x / ${(framesRedis / rawX).toFixed(2)}x raw XADD ${formatInt(rawX)} msg/s (target >= 0.9x); vs raw EVALSHA ${formatInt(rawE)}: ${(sdkRedis / rawE).toFixed(2)}x / ${(framesRedis / rawE).toFixed(2)}x`));
  const sdkMem = rec.get({ backend: "memory", name: ROW.sdk })!;
  const framesMem = rec.get({ backend: "memory", name: ROW.frames })!;
  const bestMem = Math.max(sdkMem, framesMem);
  out.push(verdict(bestMem >= 1e6, `publish on memory ${formatInt(sdkMem)} msg/s (SDK) / ${formatInt(framesMem)} (pre-built frames) (target >= 1,000,000: ${(bestMem / 1e6).toFixed(2)}x of it)`));
  for (const l of lats.filter((x) => x.backend.startsWith("ampd"))) out.push(verdict(l.p99 <= 1, `latency p99 through ${l.backend} ${l.p99.toFixed(3)} ms at ${formatInt(l.rate)} msg/s (target <= 1 ms)`));
  for (const r of res) out.push(verdict(r.idleRss <= 60 * 1024 * 1024, `idle RSS on ${r.backend} ${mb(r.idleRss)} MB (target <= 60 MB)`));
  for (const r of res) out.push(verdict(r.startMedian < 200, `start-up on ${r.backend} ${r.startMedian.toFixed(1)} ms spawn→hello reply, median of ${STARTS} (target < 200 ms)`));
  out.push("");
  out.push(runSummary(started, load0));
  console.log(out.join("\n"));
}

try {
  await (process.argv.includes("--durable") ? durableMain() : main());
} finally {
  await cleanupAll();
}
