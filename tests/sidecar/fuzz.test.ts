/**
 * Fuzz: thousands of random and mutated frames from several connections at a
 * running ampd, while a well-behaved client publishes N messages and a
 * subscriber follows them. ampd must survive, the good client must have every
 * add acknowledged, and the subscriber must get all N, in order, none lost.
 *
 * Seeded: `FUZZ_SEED=<n> bun test tests/sidecar/fuzz.test.ts` replays a run
 * (the seed is printed). Size: `FUZZ_FRAMES` sets the frames of the run on
 * memory (default 100 000, the CI size); the run on Redis sends a quarter of
 * that. Every op of the protocol is drawn, groups included.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { encode as msgpackEncode } from "@msgpack/msgpack";
import { createMessage } from "../../sdk/envelope/builder.ts";
import { encode, encodeValue } from "../../sdk/codec/codec.ts";
import type { Delivery } from "../../sdk/client/types.ts";
import { connect } from "../../sdk/client/connect.ts";
import { Ampd, buildAmpd } from "../_helpers/ampd.ts";
import { RawConn, requestFrame } from "../_helpers/raw_conn.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";
import { prng, type Rng } from "../_helpers/prng.ts";

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FUZZERS = 4;
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000);
const GOOD_MESSAGES = 600;


const OPS = [
  "hello", "add", "read", "subscribe", "credit", "unsubscribe", "trim", "info", "streams", "ping",
  "group.create", "group.read", "ack", "nack", "extend", "pending", "claim", "group.info",
  "nope", "", "__proto__", "constructor",
];
const FUZZ_STREAMS = ["fz.a", "fz.b", "fz.c", "inbox.fz", "broadcast.fz"];
const KEYS = [
  "op", "rid", "stream", "msg", "streams", "count", "block", "from", "credit", "sub", "n", "maxLen", "approximate", "version", "client", "token",
  "group", "consumer", "ids", "delay", "minIdle", "limit", "__proto__", "x",
];
const GROUPS = ["g1", "g2", ""];

/** Sets a key as an own property, even `__proto__`, as a decoded map would have it. */
function put(m: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(m, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function randomValue(r: Rng, depth = 0): unknown {
  switch (r.int(0, depth > 3 ? 7 : 10)) {
    case 0: return null;
    case 1: return r.next() < 0.5;
    case 2: return r.int(-5, 5);
    case 3: return r.pick([0, -1, 2 ** 32, 2 ** 53, -(2 ** 31), 1e300, 0.5, NaN, Infinity, 300_001, 1_000_001]);
    case 4: return r.pick(["", "0", "$", "1-1", "99999999999999999-0", "fz.a", "a b", "{x}", "ünï", "x".repeat(r.int(0, 300))]);
    case 5: return r.bytes(r.int(0, 40));
    case 6: return r.pick([...FUZZ_STREAMS, ...GROUPS, ["1-1", "0-1"], [`${Date.now()}-0`]]);
    case 7: return r.int(0, 2 ** 31);
    case 8: return Array.from({ length: r.int(0, 4) }, () => randomValue(r, depth + 1));
    default: {
      const m: Record<string, unknown> = {};
      for (let i = r.int(0, 4); i > 0; i--) put(m, r.pick([...KEYS, ...FUZZ_STREAMS]), randomValue(r, depth + 1));
      return m;
    }
  }
}

function validMsg(r: Rng): Uint8Array {
  return encode(createMessage({
    type: r.pick(["task", "obs.tick", "result"]),
    sender: "fuzzer",
    receiver: r.pick(["fz", "broadcast"]),
    payload: { r: r.int(0, 1e6), s: "ß".repeat(r.int(0, 5)) },
  }));
}

function mutate(r: Rng, b: Uint8Array): Uint8Array {
  const out = b.slice();
  for (let i = r.int(1, 4); i > 0 && out.length > 0; i--) {
    const at = r.int(0, out.length - 1);
    out[at] = r.next() < 0.5 ? out[at] ^ (1 << r.int(0, 7)) : r.int(0, 255);
  }
  return out;
}

function withLength(body: Uint8Array, declared = body.length): Uint8Array {
  const f = new Uint8Array(4 + body.length);
  new DataView(f.buffer).setUint32(0, declared >>> 0);
  f.set(body, 4);
  return f;
}

function nested(r: Rng): Uint8Array {
  const depth = r.pick([50, 101, 1000, 100_000]);
  const parts: number[] = [];
  const asArray = r.next() < 0.5;
  for (let i = 0; i < depth; i++) asArray ? parts.push(0x91) : parts.push(0x81, 0xa1, 0x61);
  parts.push(0xc0);
  return new Uint8Array(parts);
}

/** One fuzz frame, and whether it leaves the byte stream out of step (the fuzzer then reconnects). */
function fuzzFrame(r: Rng, rid: number): { bytes: Uint8Array; breaks: boolean; kind: string } {
  const kind = r.pick(["random", "random-body", "flipped", "truncated", "huge", "zero", "nested", "random-op", "random-op", "random-op", "mutated-add", "mutated-add", "valid-add", "nested-add"]);
  switch (kind) {
    case "random":
      return { kind, bytes: r.bytes(r.int(1, 300)), breaks: true };
    case "random-body":
      return { kind, bytes: withLength(r.bytes(r.int(1, 300))), breaks: false };
    case "flipped":
      return { kind, bytes: withLength(mutate(r, encodeValue({ op: r.pick(OPS), rid, stream: r.pick(FUZZ_STREAMS), msg: validMsg(r) }))), breaks: false };
    case "truncated": {
      const f = requestFrame({ op: "add", rid, stream: r.pick(FUZZ_STREAMS), msg: validMsg(r) });
      return { kind, bytes: f.subarray(0, r.int(1, f.length - 1)), breaks: true };
    }
    case "huge": {
      const body = r.bytes(r.int(0, 64));
      return { kind, bytes: withLength(body, r.pick([0xffffffff, 0x80000000, 16 * 1024 * 1024 + 1, r.int(16 * 1024 * 1024 + 1, 0xffffffff)])), breaks: true };
    }
    case "zero":
      return { kind, bytes: new Uint8Array([0, 0, 0, 0]), breaks: true };
    case "nested":
      return { kind, bytes: withLength(nested(r)), breaks: false };
    case "random-op": {
      const req: Record<string, unknown> = { op: r.pick(OPS), rid: r.next() < 0.9 ? rid : randomValue(r) };
      for (let i = r.int(0, 5); i > 0; i--) put(req, r.pick(KEYS.filter((k) => k !== "op" && k !== "rid")), randomValue(r));
      if (typeof req.block === "number") req.block = Math.min(req.block as number, 2000);
      if (typeof req.op === "string" && /group|ack|nack|extend|pending|claim/.test(req.op) && r.next() < 0.7) {
        // Mostly well-formed group requests, so that the group code itself is reached.
        req.stream ??= r.pick(FUZZ_STREAMS);
        req.group ??= r.pick(GROUPS.slice(0, 2));
        req.consumer ??= `c${r.int(0, 3)}`;
      }
      // @msgpack/msgpack, not the SDK's writer: it refuses keys such as __proto__, which a hostile client may send.
      return { kind, bytes: withLength(msgpackEncode(req)), breaks: false };
    }
    case "mutated-add":
      return { kind, bytes: requestFrame({ op: "add", rid, stream: r.pick(FUZZ_STREAMS), msg: mutate(r, validMsg(r)) }), breaks: false };
    case "nested-add": {
      const base = validMsg(r);
      const key = [0xa3, 0x73, 0x69, 0x67]; // "sig", holding a deeply nested value
      const body = nested(r);
      const m = new Uint8Array(base.length + key.length + body.length);
      m.set(base);
      m[0] = base[0] + 1; // one more entry in the fixmap
      m.set(key, base.length);
      m.set(body, base.length + key.length);
      return { kind, bytes: requestFrame({ op: "add", rid, stream: r.pick(FUZZ_STREAMS), msg: m }), breaks: false };
    }
    default:
      return { kind, bytes: requestFrame({ op: "add", rid, stream: r.pick(FUZZ_STREAMS), msg: validMsg(r) }), breaks: false };
  }
}

interface Figures {
  framesSent: number;
  bytesSent: number;
  errorReplies: Record<string, number>;
  okReplies: number;
  pushes: number;
  reconnects: number;
  closedByServer: number;
  kinds: Record<string, number>;
}

async function fuzzer(socket: string, r: Rng, frames: number, fig: Figures): Promise<void> {
  let conn: RawConn | undefined;
  let seen = 0;
  const collect = () => {
    if (conn === undefined) return;
    for (; seen < conn.frames.length; seen++) {
      const f = conn.frames[seen];
      if ("sub" in f && !("rid" in f)) fig.pushes++;
      else if (f.ok === true) fig.okReplies++;
      else {
        const code = (f.error as { code?: string })?.code ?? "?";
        fig.errorReplies[code] = (fig.errorReplies[code] ?? 0) + 1;
      }
    }
  };
  const reopen = async () => {
    collect();
    if (conn !== undefined) {
      if (conn.isClosed) fig.closedByServer++;
      conn.close();
      fig.reconnects++;
    }
    seen = 0;
    conn = r.next() < 0.7 ? await RawConn.hello(socket) : await RawConn.open(socket);
  };
  await reopen();
  for (let i = 0; i < frames; i++) {
    if (conn!.isClosed) await reopen();
    const f = fuzzFrame(r, i + 1);
    fig.kinds[f.kind] = (fig.kinds[f.kind] ?? 0) + 1;
    conn!.write(f.bytes);
    fig.framesSent++;
    fig.bytesSent += f.bytes.length;
    if (f.breaks) {
      // Give ampd a moment to answer (BAD_FRAME) before this connection goes.
      await new Promise((res) => setTimeout(res, 2));
      await reopen();
    } else if (i % 20 === 0) {
      await new Promise((res) => setTimeout(res, 1));
    }
  }
  await new Promise((res) => setTimeout(res, 100));
  collect();
  conn?.close();
}

function fuzzAgainst(name: string, args: () => string[], frames: number) {
  const perFuzzer = Math.ceil(frames / FUZZERS);
  test(`ampd on ${name} survives fuzzing and the good client loses nothing`, async () => {
    console.log(`fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED} bun test tests/sidecar/fuzz.test.ts)`);
    const ampd = await Ampd.start({ args: args() });
    try {
      const rssBefore = ampd.rss();
      let rssPeak = rssBefore;
      const sampler = setInterval(() => {
        if (ampd.alive) rssPeak = Math.max(rssPeak, ampd.rss());
      }, 200);
      const stream = `good.${SEED}.${name}`;
      const publisher = await connect({ socket: ampd.socket, name: "good-publisher", reconnect: false });
      const subscriber = await connect({ socket: ampd.socket, name: "good-subscriber", reconnect: false });
      const received: Delivery[] = [];
      const iter = subscriber.streamIter(stream, { from: "0", window: 64 });
      await iter.ready;
      let followError: unknown;
      const following = (async () => {
        for await (const d of iter) {
          received.push(d);
          if (received.length >= GOOD_MESSAGES) break;
        }
      })().catch((e) => (followError = e));

      const fig: Figures = { framesSent: 0, bytesSent: 0, errorReplies: {}, okReplies: 0, pushes: 0, reconnects: 0, closedByServer: 0, kinds: {} };
      const fuzzing = Promise.all(Array.from({ length: FUZZERS }, (_, k) => fuzzer(ampd.socket, prng(SEED + k), perFuzzer, fig)));

      // The good client publishes in small pipelined batches while the fuzzers run.
      const acked: string[] = [];
      const failures: unknown[] = [];
      const publishing = (async () => {
        for (let n = 0; n < GOOD_MESSAGES; n += 10) {
          const batch = Array.from({ length: Math.min(10, GOOD_MESSAGES - n) }, (_, i) =>
            publisher.streamAdd(stream, createMessage({ type: "obs.tick", sender: "good", receiver: "broadcast", payload: { n: n + i } })));
          for (const r of await Promise.allSettled(batch)) {
            if (r.status === "fulfilled" && !r.value.duplicate) acked.push(r.value.entryId);
            else failures.push(r.status === "rejected" ? r.reason : "duplicate");
          }
          await new Promise((res) => setTimeout(res, 2));
        }
      })();

      await Promise.all([fuzzing, publishing]);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([following, new Promise((res) => (timer = setTimeout(res, 10_000)))]);
      clearTimeout(timer);

      const lost = GOOD_MESSAGES - received.length;
      const errors = Object.values(fig.errorReplies).reduce((a, b) => a + b, 0);
      clearInterval(sampler);
      const rssAfter = ampd.rss();
      console.log(
        `fuzz on ${name}: ${fig.framesSent} frames (${(fig.bytesSent / 1024).toFixed(0)} KiB) from ${FUZZERS} fuzzers, ` +
          `${errors} error replies ${JSON.stringify(fig.errorReplies)}, ${fig.okReplies} ok replies, ${fig.pushes} pushes, ` +
          `${fig.reconnects} reconnects (${fig.closedByServer} closed by ampd); kinds ${JSON.stringify(fig.kinds)}`,
      );
      console.log(
        `fuzz on ${name}: good messages sent ${GOOD_MESSAGES}, acknowledged ${acked.length}, received ${received.length}, lost ${lost}; ` +
          `ampd RSS ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, ${(rssPeak / 2 ** 20).toFixed(0)} MiB at most, ${(rssAfter / 2 ** 20).toFixed(0)} MiB after`,
      );

      // ampd survived and still serves a new client.
      expect(ampd.alive).toBe(true);
      const probe = await RawConn.hello(ampd.socket);
      expect((await probe.call({ op: "ping", rid: 1 })).ok).toBe(true);
      const info = await probe.call({ op: "info", rid: 2 });
      probe.close();
      expect(info.badFrames as number).toBeGreaterThan(0);
      expect(info.badRequests as number).toBeGreaterThan(0);
      expect(ampd.stderr).not.toContain("INTERNAL");
      expect(ampd.stderr).not.toMatch(/internal error|RangeError|TypeError/);
      expect(fig.framesSent).toBeGreaterThanOrEqual(frames);
      expect(errors).toBeGreaterThan(fig.framesSent * 0.3);
      expect(fig.errorReplies.INTERNAL ?? 0).toBe(0);

      // The good client lost nothing.
      expect(followError).toBeUndefined();
      expect(failures).toEqual([]);
      expect(acked.length).toBe(GOOD_MESSAGES);
      expect(lost).toBe(0);
      expect(received.map((d) => d.entryId)).toEqual(acked);
      expect(received.map((d) => (d.message.payload as { n: number }).n)).toEqual(Array.from({ length: GOOD_MESSAGES }, (_, i) => i));
      // Bounded memory: nothing was allocated for the huge declared lengths.
      expect(rssPeak).toBeLessThan(rssBefore + 512 * 2 ** 20);

      await iter.return?.();
      await subscriber.close();
      await publisher.close();
    } finally {
      await ampd.dispose();
    }
  }, 300_000);
}

describe("fuzz", () => {
  beforeAll(async () => {
    await buildAmpd();
  }, 60_000);

  fuzzAgainst("memory", () => ["--backend", "memory"], FRAMES);

  if (REDIS_SKIP_REASON === undefined) {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      await redis?.dispose();
    });
    fuzzAgainst("redis", () => ["--backend", "redis", "--redis", redis.url], Math.ceil(FRAMES / 4));
  } else {
    test.skip(`fuzz on redis: ${REDIS_SKIP_REASON}`, () => {});
  }
});
