/**
 * NATS for the bus benchmark: a private `nats-server -js` (free port on
 * 127.0.0.1, its JetStream store in a fresh dir under `os.tmpdir()`, stopped
 * on the way out, also on failure or Ctrl-C), connections to it, and the
 * NATS side of each row: JetStream acked publish (`js.publish` awaited for
 * its PubAck, `msgID` = the message's opId, so the server dedupes as ampd
 * does), core NATS publish + flush (the upper reference: nothing stored,
 * nothing acked), a JetStream pull consumer with acks, and publish-to-delivery
 * latency. The fan-out rows are in `_fanout.ts`.
 *
 * Where no `nats-server` binary is found (PATH, then /usr/sbin),
 * `NATS_SKIP_REASON` says so and the bench skips its NATS rows.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { freePort } from "../tests/_helpers/redis_server.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AckPolicy,
  connect,
  consumerOpts,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  nanos,
  StorageType,
} from "nats";
import { check } from "./_groups.ts";
import { counts, type Latency, type Pacing, pace, Samples } from "./_latency.ts";
import { prepare } from "./_messages.ts";
import { cleanups, log, timeWithCpu, withTimeout } from "./_proc.ts";
import { windowed } from "./_stats.ts";

function findNatsServer(): string | undefined {
  for (const bin of ["nats-server", "/usr/sbin/nats-server", "/usr/local/bin/nats-server"]) {
    if (bin.startsWith("/") && !existsSync(bin)) continue;
    const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
    if (r.error === undefined && r.status === 0) return bin;
  }
  return undefined;
}

/** The `nats-server` binary the bench runs, or `undefined` when there is none. */
export const NATS_SERVER_BIN: string | undefined = findNatsServer();

/** Why the NATS rows are skipped, or `undefined` when they run. */
export const NATS_SKIP_REASON: string | undefined = NATS_SERVER_BIN
  ? undefined
  : "no nats-server on PATH or in /usr/sbin: the NATS rows are skipped (apt-get install nats-server, or a release from github.com/nats-io/nats-server)";

/** The version `nats-server --version` prints (`v2.9.10`), `?` when there is no binary. */
export function natsServerVersion(): string {
  if (!NATS_SERVER_BIN) return "?";
  return /v[\d.]+/.exec(spawnSync(NATS_SERVER_BIN, ["--version"], { encoding: "utf8" }).stdout ?? "")?.[0] ?? "?";
}

/** The JetStream stream every JetStream row writes to (subjects `bench.>`), file storage. */
export const STREAM = "BENCH";

/** Spawn-to-ready times of one `nats-server -js` start, in ms. */
export interface NatsStart {
  /** Spawn → "Server is ready" on its log. */
  readyLine: number;
  /** Spawn → a client connected and its PING answered. */
  ping: number;
  /** Spawn → a JetStream API request (account info) answered. */
  jsApi: number;
}

/**
 * A `nats-server -js` child process on a free port, its store in a fresh
 * temp dir.
 *
 * @example
 * ```ts
 * const server = await NatsServer.start();
 * const nc = await connect({ servers: server.url });
 * await server.dispose();
 * ```
 */
export class NatsServer {
  readonly port: number;
  readonly dir: string;
  readonly #child: ChildProcess;
  readonly #exit: Promise<void>;
  /** `performance.now()` of the spawn and of the "Server is ready" log line. */
  readonly spawnedAt: number;
  readyAt = 0;

  private constructor({ port, dir, child, spawnedAt }: { port: number; dir: string; child: ChildProcess; spawnedAt: number }) {
    this.port = port;
    this.dir = dir;
    this.#child = child;
    this.spawnedAt = spawnedAt;
    this.#exit = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  /** `nats://127.0.0.1:<port>`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** Starts one and waits for "Server is ready" in its log (not registered for cleanup: see `startNats()`). */
  static async start(): Promise<NatsServer> {
    if (!NATS_SERVER_BIN) throw new Error(NATS_SKIP_REASON);
    const dir = mkdtempSync(join(tmpdir(), "ampbus-nats-"));
    const port = await freePort();
    const spawnedAt = performance.now();
    const child = spawn(NATS_SERVER_BIN, ["-js", "-sd", dir, "-a", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
    const server = new NatsServer({ port, dir, child, spawnedAt });
    let err = "";
    try {
      await withTimeout(new Promise<void>((resolve, reject) => {
        child.stderr!.on("data", (d: Buffer) => {
          err += d.toString();
          if (server.readyAt === 0 && err.includes("Server is ready")) {
            server.readyAt = performance.now();
            resolve();
          }
        });
        child.once("exit", (code) => reject(new Error(`nats-server exited with ${code} at start:\n${err}`)));
      }), { what: "nats-server start", ms: 10_000 });
    } catch (e) {
      await server.dispose();
      throw e;
    }
    return server;
  }

  /**
   * Spawns a fresh server and times it to its ready line, to a connection's
   * PING answered and to a JetStream API request answered; then removes it.
   */
  static async timeStart(): Promise<NatsStart> {
    const s = await NatsServer.start();
    try {
      const nc = await connect({ servers: s.url, name: "bench-start" });
      await nc.flush();
      const ping = performance.now() - s.spawnedAt;
      await (await nc.jetstreamManager()).getAccountInfo();
      const jsApi = performance.now() - s.spawnedAt;
      await nc.close();
      return { readyLine: s.readyAt - s.spawnedAt, ping, jsApi };
    } finally {
      await s.dispose();
    }
  }

  /** Kills it if it still runs and removes its store. */
  async dispose(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGKILL");
    await this.#exit;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts the bench's `nats-server -js`, registered for cleanup, with the file-storage stream `STREAM` on `bench.>`. */
export async function startNats(): Promise<NatsServer> {
  const server = await NatsServer.start();
  cleanups.push(() => server.dispose());
  const nc = await natsClient(server.url, "bench-setup");
  const jsm = await nc.jetstreamManager();
  // Dedupe by msgID over 2 min (the default window), as ampd's dedupe of an opId.
  await jsm.streams.add({ name: STREAM, subjects: ["bench.>"], storage: StorageType.File, duplicate_window: nanos(120_000) });
  await nc.close();
  return server;
}

/** A NATS connection to `url`, registered for cleanup. */
export async function natsClient(url: string, name: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, name, noEcho: true, maxReconnectAttempts: 0 });
  cleanups.push(() => nc.close().catch(() => {}));
  return nc;
}

/**
 * JetStream acked publish: `msgs` to `subject`, at most `inflight` PubAcks
 * awaited at once, each with `msgID` = the message's opId. Fails when the
 * server calls any of them a duplicate or two share a sequence number.
 */
export async function jsPublish(
  js: JetStreamClient,
  { subject, bytes, opIds, inflight }: { subject: string; bytes: readonly Uint8Array[]; opIds: readonly string[]; inflight: number },
): Promise<number> {
  const seqs = new Set<number>();
  let dups = 0;
  const n = await windowed({ count: bytes.length, inflight }, async (i) => {
    const ack = await js.publish(subject, bytes[i], { msgID: opIds[i] });
    if (ack.duplicate) dups++;
    seqs.add(ack.seq);
  });
  check(dups === 0 && seqs.size === n, `JetStream publish to ${subject}: ${dups} duplicates, ${seqs.size} distinct sequence numbers for ${n} messages`);
  return n;
}

/** Core NATS publish (no ack, nothing stored): `inflight` messages, then a flush (a PING answered), and again. */
export async function corePublish(nc: NatsConnection, { subject, bytes, inflight }: { subject: string; bytes: readonly Uint8Array[]; inflight: number }): Promise<number> {
  for (let i = 0; i < bytes.length; i += inflight) {
    const end = Math.min(bytes.length, i + inflight);
    for (let k = i; k < end; k++) nc.publish(subject, bytes[k]);
    await nc.flush();
  }
  return bytes.length;
}

/** The stream's message count on `subject` now. */
export async function subjectCount(jsm: JetStreamManager, subject: string): Promise<number> {
  const info = await jsm.streams.info(STREAM, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

/**
 * A JetStream pull consumer over the `total` entries of `subject` (a
 * durable consumer created here, explicit acks): `fetch` of `batch`, every
 * message acked, the last of each batch awaited (`ackAck`, so the batch's
 * acks are in before the next fetch), until `total` are acked. Checks each
 * entry came once and nothing is left pending.
 */
export async function jsPullConsume(
  { js, jsm }: { js: JetStreamClient; jsm: JetStreamManager },
  { subject, durable, total, batch }: { subject: string; durable: string; total: number; batch: number },
): Promise<number> {
  await jsm.consumers.add(STREAM, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: subject,
    max_ack_pending: Math.max(1000, batch),
  });
  const consumer = await js.consumers.get(STREAM, durable);
  const seen = new Set<number>();
  let redelivered = 0;
  while (seen.size < total) {
    const want = Math.min(batch, total - seen.size);
    const iter = await consumer.fetch({ max_messages: want, expires: 5000 });
    let got = 0;
    for await (const m of iter) {
      seen.add(m.seq);
      if (m.redelivered) redelivered++;
      if (++got === want) await m.ackAck();
      else m.ack();
    }
    check(got > 0, `JetStream pull consumer ${durable}: a fetch of ${want} came back empty after ${seen.size} of ${total}`);
  }
  const info = await jsm.consumers.info(STREAM, durable);
  check(redelivered === 0, `JetStream pull consumer ${durable}: ${redelivered} redeliveries`);
  check(info.num_ack_pending === 0 && info.num_pending === 0, `JetStream pull consumer ${durable}: ${info.num_ack_pending} unacked, ${info.num_pending} not delivered after the run`);
  await jsm.consumers.delete(STREAM, durable);
  return seen.size;
}

/**
 * Publish-to-delivery latency through NATS at a fixed rate: core NATS
 * (`nc.publish` → a subscription on another connection) or JetStream
 * (`js.publish` acked → an ordered push consumer on another connection).
 * One publisher, so the k-th delivery is message k.
 */
export async function natsLatency(
  { name, url, pids, subject, jetstream }: { name: string; url: string; pids: Record<string, number>; subject: string; jetstream: boolean },
  p: Pacing,
): Promise<Latency> {
  const { total, skip } = counts(p);
  log(`${name} latency: ${p.rate} msg/s for ${p.seconds + p.warm} s`);
  const msgs = prepare(total, (i) => ({ payload: { seq: i } }));
  const pub = await natsClient(url, "bench-lat-pub");
  const subConn = await natsClient(url, "bench-lat-sub");
  const s = new Samples(total);
  let got = 0;
  let done!: () => void;
  const received = new Promise<void>((resolve) => (done = resolve));
  const onMsg = () => {
    s.delivered(got++);
    if (got === total) done();
  };
  let stop: () => Promise<unknown>;
  if (jetstream) {
    const opts = consumerOpts().orderedConsumer().deliverNew().callback((err) => (err ? undefined : onMsg()));
    const sub = await subConn.jetstream().subscribe(subject, opts);
    stop = () => sub.destroy();
  } else {
    const sub = subConn.subscribe(subject, { callback: (err) => (err ? undefined : onMsg()) });
    stop = async () => sub.unsubscribe();
  }
  await subConn.flush();
  const js = pub.jetstream();
  let failed: Error | undefined;
  const { value: sendSeconds, cpu } = await timeWithCpu(pids, async () => {
    const sent = await pace({ total, rate: p.rate }, (seq) => {
      s.sent(seq);
      if (jetstream) {
        js.publish(subject, msgs.bytes[seq], { msgID: msgs.headers[seq].opId }).then(() => s.acked(seq), (e) => void (failed ??= e));
      } else {
        pub.publish(subject, msgs.bytes[seq]);
      }
    });
    await withTimeout(received, { what: `${name} latency delivery`, ms: p.timeoutMs }).catch((e: Error) => {
      throw new Error(`${e.message} (${got} of ${total} delivered)`);
    });
    return sent;
  });
  if (failed) throw failed;
  await stop();
  await pub.close();
  await subConn.close();
  return s.stats({ name, skip, rate: total / sendSeconds, cpu });
}
