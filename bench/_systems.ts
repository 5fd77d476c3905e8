/**
 * The systems the bus benchmark compares, each able to run one round of its
 * rows: ampd (memory or Redis backend), raw node-redis, NATS JetStream, core
 * NATS, and ampd with 1 or 1000 idle agents connected (what an add costs
 * ampd as connections grow). `bus.ts` runs one round of every system, then
 * the next round with the order rotated.
 *
 * Every row checks that it did what it claims: ampd's `info` counts every
 * add (no errors, no duplicates), JetStream acked each message once with no
 * duplicate, each group consumer saw every entry once and left nothing
 * pending, each fan-out subscriber got every message once.
 *
 * @module
 */
import { dropStreams } from "./_cleanup.ts";
import type { JetStreamClient, JetStreamManager, NatsConnection } from "nats";
import type { AmpClient } from "../mod.ts";
import { entryFields } from "../sidecar/backend/_redis_reply.ts";
import { ADD_SCRIPT } from "../sidecar/backend/_redis_scripts.ts";
import { addFrames, type FrameConn } from "./_frames.ts";
import { Fanout } from "./_fanout.ts";
import { check, fetchAndAck, groupPending, type Tally } from "./_groups.ts";
import type { Prepared } from "./_messages.ts";
import { corePublish, jsPublish, jsPullConsume, STREAM, subjectCount } from "./_nats.ts";
import { bufs, type Raw, sdkClient, type XEntries } from "./_proc.ts";
import type { Recorder } from "./_rows.ts";
import { windowed } from "./_stats.ts";

/** The tables; a row's name in the recorder is `<table>|<path>`. */
export const TABLE = {
  seed: "seed",
  large: "16k",
  group: "group",
  fanout: "fanout",
  scale: "scale",
} as const;

/** The paths (first column of the tables). */
export const PATH = {
  sdk: "ampd, SDK port.add",
  frames: "ampd, pre-built frames (minimal client)",
  xadd: "raw node-redis XADD, pipelined (no dedupe)",
  eval: "raw node-redis EVALSHA of ampd's add script (dedupe)",
  js: "JetStream js.publish, PubAck awaited, msgID set (file)",
  core: "core NATS publish + flush (no ack, not stored; reference)",
  group: "ampd group: fetch() COUNT 100 + one batched ack per fetch",
  xgroup: "raw XREADGROUP COUNT 100 + one XACK per read",
  pull: "JetStream pull consumer: fetch 100, ack each (last awaited)",
  fanAmpd: "ampd: a subscribe (credit 1000) per connection",
  fanJs: "JetStream: an ordered push consumer per connection",
  fanCore: "core NATS: a subscription per connection",
  scale: "ampd memory, pre-built frames",
} as const;

/** What every round gets: the messages and the counts. */
export interface Inputs {
  rec: Recorder;
  /** N numbered seed messages (~400 B). */
  seed: Prepared;
  /** Numbered 16 KiB results. */
  large: Prepared;
  /** Seed messages for the fan-out rows, each delivered to every subscriber. */
  fan: Prepared;
  inflight: number;
  timeoutMs: number;
}

/** One system of the comparison: its name in the tables and one round of its rows. */
export interface System {
  name: string;
  round(r: number): Promise<void>;
}

/** `tag`-suffixed opIds: JetStream dedupes a msgID across the whole stream, so each row and round needs its own. */
function msgIds(p: Prepared, tag: string): string[] {
  return p.headers.map((h) => `${h.opId}.${tag}`);
}

/** ampd on one backend: acked publish (SDK and pre-built frames, seed and 16 KiB), group consume, fan-out. */
export async function ampdSystem(
  io: Inputs,
  { name, pids, client, consumer, frames, fans }: {
    name: string;
    pids: Record<string, number>;
    client: AmpClient;
    consumer: AmpClient;
    frames: FrameConn;
    fans: readonly AmpClient[];
  },
): Promise<System> {
  const { rec, inflight } = io;
  const row = (table: string, path: string) => ({ backend: name, name: `${table}|${path}`, pids });
  return {
    name,
    async round(r) {
      const before = await client.info();
      const streams: string[] = [];
      for (const [table, msgs] of [[TABLE.seed, io.seed], [TABLE.large, io.large]] as const) {
        const sdkStream = `bench.${table}.sdk.${r}`;
        const framesStream = `bench.${table}.frames.${r}`;
        streams.push(sdkStream, framesStream);
        await rec.measure(row(table, PATH.sdk), async () => {
          await windowed({ count: msgs.bytes.length, inflight }, (i) => client.port.add(sdkStream, msgs.bytes[i]));
          return msgs.bytes.length;
        });
        const f = addFrames(framesStream, msgs.bytes);
        await rec.measure(row(table, PATH.frames), () => frames.publish(f, inflight));
      }
      // Group consume over the seed stream the SDK row filled: a fresh group from "0", one consumer.
      const stream = streams[0];
      const group = `g${r}`;
      const g = consumer.group(stream, group, { from: "0" });
      await g.ensure();
      const cons = [g.consumer("c0", { count: 100, block: 1 })];
      let t: Tally | undefined;
      await rec.measure(row(TABLE.group, PATH.group), async () => {
        t = await fetchAndAck({ clients: [consumer], cons, stream, group });
        return t.acked;
      });
      t!.check(`${name} group`, { expected: io.seed.bytes.length, pending: await groupPending(consumer, { stream, group }) });
      // Fan-out: every subscriber connection follows one new stream from "$".
      const fanStream = `bench.fanout.${r}`;
      streams.push(fanStream);
      const fan = await Fanout.ampd({ clients: fans, stream: fanStream, perSub: io.fan.bytes.length });
      await rec.measure(row(TABLE.fanout, PATH.fanAmpd), () =>
        fan.run(`${name} fan-out`, () => windowed({ count: io.fan.bytes.length, inflight }, (i) => client.port.add(fanStream, io.fan.bytes[i])), io.timeoutMs));
      await fan.close();
      const after = await client.info();
      const expected = 2 * (io.seed.bytes.length + io.large.bytes.length) + io.fan.bytes.length;
      const added = (after.added as number) - (before.added as number);
      const errors = (after.errors as number) - (before.errors as number);
      const dups = (after.duplicates as number) - (before.duplicates as number);
      check(added === expected && errors === 0 && dups === 0, `${name}: expected ${expected} adds, ampd counted added ${added}, errors ${errors}, duplicates ${dups}`);
      await dropStreams(client, streams);
    },
  };
}

/** Raw node-redis, no ampd: XADD and EVALSHA of ampd's add script, XREADGROUP + XACK. */
export async function rawRedisSystem(io: Inputs, { name, pids, raw }: { name: string; pids: Record<string, number>; raw: Raw }): Promise<System> {
  const { rec, inflight } = io;
  const sha = await raw.sendCommand<string>(["SCRIPT", "LOAD", ADD_SCRIPT]);
  const row = (table: string, path: string) => ({ backend: name, name: `${table}|${path}`, pids });
  const xadd = (key: string, m: Prepared) => m.bytes.map((b, i) => ["XADD", key, "*", ...entryFields(m.headers[i], b)]);
  return {
    name,
    async round(r) {
      const seedKey = `ampbus:{bench.raw.seed.${r}}`;
      const evalKey = `ampbus:{bench.raw.eval.${r}}`;
      const largeKey = `ampbus:{bench.raw.16k.${r}}`;
      const seedArgs = xadd(seedKey, io.seed);
      await rec.measure(row(TABLE.seed, PATH.xadd), () => windowed({ count: seedArgs.length, inflight }, (i) => raw.sendCommand(seedArgs[i])));
      const evalArgs = io.seed.bytes.map((b, i) => [
        "EVALSHA", sha, "2", evalKey, `${evalKey}:op:${io.seed.headers[i].opId}`, "600000", "", ...entryFields(io.seed.headers[i], b),
      ]);
      await rec.measure(row(TABLE.seed, PATH.eval), () => windowed({ count: evalArgs.length, inflight }, (i) => raw.sendCommand(evalArgs[i])));
      const largeArgs = xadd(largeKey, io.large);
      await rec.measure(row(TABLE.large, PATH.xadd), () => windowed({ count: largeArgs.length, inflight }, (i) => raw.sendCommand(largeArgs[i])));
      for (const [key, n] of [[seedKey, io.seed.bytes.length], [evalKey, io.seed.bytes.length], [largeKey, io.large.bytes.length]] as const) {
        const len = await raw.sendCommand<number>(["XLEN", key]);
        check(len === n, `${name}: ${key} holds ${len} entries, expected ${n}`);
      }
      // Group consume of the seed key: COUNT 100 per read, the read's ids acked in one XACK.
      await raw.sendCommand(["XGROUP", "CREATE", seedKey, "g", "0"]);
      const seen = new Set<string>();
      let acked = 0;
      await rec.measure(row(TABLE.group, PATH.xgroup), async () => {
        for (;;) {
          const reply = await raw.sendCommand<[Buffer, XEntries][] | null>(["XREADGROUP", "GROUP", "g", "c0", "COUNT", "100", "STREAMS", seedKey, ">"], bufs);
          const entries = reply?.[0]?.[1] ?? [];
          if (entries.length === 0) break;
          const ids = entries.map((e) => e[0].toString("latin1"));
          for (const id of ids) seen.add(id);
          acked += await raw.sendCommand<number>(["XACK", seedKey, "g", ...ids]);
        }
        return acked;
      });
      const pending = await raw.sendCommand<[number, ...unknown[]]>(["XPENDING", seedKey, "g"]);
      check(seen.size === io.seed.bytes.length && acked === seen.size && pending[0] === 0, `${name} XREADGROUP: ${seen.size} distinct of ${io.seed.bytes.length}, ${acked} acked, ${pending[0]} pending`);
      await raw.sendCommand(["DEL", seedKey, evalKey, largeKey]);
      await raw.sendCommand(["EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end", "0", `${evalKey}:op:*`]);
    },
  };
}

/** NATS JetStream (file storage): acked publish of seed and 16 KiB messages, a pull consumer with acks, push fan-out. */
export function jetStreamSystem(
  io: Inputs,
  { name, pids, nc, fans }: { name: string; pids: Record<string, number>; nc: NatsConnection; fans: readonly NatsConnection[] },
): Promise<System> {
  const { rec, inflight } = io;
  const row = (table: string, path: string) => ({ backend: name, name: `${table}|${path}`, pids });
  const js: JetStreamClient = nc.jetstream();
  return nc.jetstreamManager().then((jsm: JetStreamManager) => ({
    name,
    async round(r) {
      const seedSubject = `bench.seed.${r}`;
      for (const [table, msgs, subject] of [[TABLE.seed, io.seed, seedSubject], [TABLE.large, io.large, `bench.16k.${r}`]] as const) {
        const opIds = msgIds(msgs, `${table}.${r}`);
        await rec.measure(row(table, PATH.js), () => jsPublish(js, { subject, bytes: msgs.bytes, opIds, inflight }));
        const stored = await subjectCount(jsm, subject);
        check(stored === msgs.bytes.length, `${name}: ${subject} holds ${stored} messages, expected ${msgs.bytes.length}`);
      }
      await rec.measure(row(TABLE.group, PATH.pull), () =>
        jsPullConsume({ js, jsm }, { subject: seedSubject, durable: `pull${r}`, total: io.seed.bytes.length, batch: 100 }));
      const fanSubject = `bench.fanout.${r}`;
      const fan = await Fanout.jetstream({ conns: fans, subject: fanSubject, perSub: io.fan.bytes.length });
      const opIds = msgIds(io.fan, `fan.${r}`);
      await rec.measure(row(TABLE.fanout, PATH.fanJs), () =>
        fan.run(`${name} fan-out`, () => jsPublish(js, { subject: fanSubject, bytes: io.fan.bytes, opIds, inflight }), io.timeoutMs));
      await fan.close();
      await jsm.streams.purge(STREAM);
    },
  }));
}

/** Core NATS: publish + flush (nothing stored, nothing acked: the upper reference) and plain-subscription fan-out. */
export function coreNatsSystem(
  io: Inputs,
  { name, pids, nc, fans }: { name: string; pids: Record<string, number>; nc: NatsConnection; fans: readonly NatsConnection[] },
): System {
  const { rec, inflight } = io;
  const row = (table: string, path: string) => ({ backend: name, name: `${table}|${path}`, pids });
  return {
    name,
    async round(r) {
      for (const [table, msgs] of [[TABLE.seed, io.seed], [TABLE.large, io.large]] as const) {
        await rec.measure(row(table, PATH.core), () => corePublish(nc, { subject: `core.${table}.${r}`, bytes: msgs.bytes, inflight }));
      }
      const subject = `core.fanout.${r}`;
      const fan = await Fanout.core({ conns: fans, subject, perSub: io.fan.bytes.length });
      await rec.measure(row(TABLE.fanout, PATH.fanCore), () =>
        fan.run(`${name} fan-out`, () => corePublish(nc, { subject, bytes: io.fan.bytes, inflight }), io.timeoutMs));
      await fan.close();
    },
  };
}

/** An ampd (memory) with `idle` other agents connected (each said hello, then sits idle): pre-built frames of the seed. */
export function scaleSystem(
  io: Inputs,
  { name, pids, frames, socket }: { name: string; pids: Record<string, number>; frames: FrameConn; socket: string },
): System {
  return {
    name,
    async round(r) {
      const stream = `bench.scale.${r}`;
      const f = addFrames(stream, io.seed.bytes);
      await io.rec.measure({ backend: name, name: `${TABLE.scale}|${PATH.scale}`, pids }, () => frames.publish(f, io.inflight));
      // A connection of its own for the clean-up, closed again: while measuring, the publisher is the only busy one.
      const c = await sdkClient(socket, "bench-cleanup");
      await dropStreams(c, [stream]);
      await c.close();
    },
  };
}
