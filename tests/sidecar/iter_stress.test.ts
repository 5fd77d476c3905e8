/**
 * Hundreds of `streamIter()` iterators against one compiled ampd, created
 * while messages are being added, each checked to see every entry after
 * the point it started from (its `ready` id), in order, with no gap.
 *
 * ampd may send a subscription's first push right behind the `subscribe`
 * reply, so the client can read both in one chunk. A client that registers
 * the push handler only once `await request("subscribe")` has returned finds
 * no handler for that push and drops it; with a small credit window the
 * iterator then waits forever. Iterators from `"0"` on streams that already
 * hold entries, on connections kept busy by hundreds of others, hit that case
 * in nearly every run.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ampd, buildAmpd } from "../_helpers/ampd.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import type { DeliveryIterator } from "../../sdk/client/types.ts";
import { connect, type ConnectOptions } from "../../sdk/client/connect.ts";

/** Iterators per round; a round's iterators are all open at once. */
const PER_ROUND = 100;
const ROUNDS = 3;
/** Streams per round: many iterators share each one. */
const STREAMS = 10;
/** Entries in each stream before its iterators are created. */
const PREFILL = 3;
/** A small credit window: a lost first push then uses up all of it. */
const WINDOW = 4;
/** How long a round's iterators may take to reach the last entry. */
const ROUND_DEADLINE_MS = 15_000;

function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number);
  const [bm, bs] = b.split("-").map(Number);
  return am - bm || as - bs;
}

/** The writer's messages; the last one of each stream says so, and its followers stop there. */
const message = (i: number, last = false) => createMessage({ type: "obs.tick", sender: "stress-writer", receiver: "broadcast", payload: { i, last } });

interface Follower {
  stream: string;
  it: DeliveryIterator;
  start: string;
  received: string[];
  done: Promise<void>;
}

/** Follows `stream` until the message marked last is delivered. */
function follow(bus: AmpClient, stream: string, from: string): Follower {
  const it = bus.streamIter(stream, { from, window: WINDOW });
  const f: Follower = { stream, it, start: "", received: [], done: Promise.resolve() };
  f.done = (async () => {
    f.start = await it.ready;
    for await (const d of it) {
      f.received.push(d.entryId);
      if ((d.message.payload as { last: boolean }).last) break;
    }
  })();
  return f;
}

/**
 * One round: streams pre-filled, `PER_ROUND` iterators spread over the
 * clients (half from `"0"`, half from `"$"`) while a writer keeps adding,
 * then one last entry per stream once every iterator is ready. Returns one
 * line per iterator that missed, repeated or reordered an entry.
 */
async function round(clients: AmpClient[], writer: AmpClient, prefix: string, midway?: () => Promise<void>): Promise<string[]> {
  const streams = Array.from({ length: STREAMS }, (_, i) => `${prefix}.${i}`);
  const ids = new Map<string, string[]>(streams.map((s) => [s, []]));
  let n = 0;
  const add = async (stream: string, last = false) => {
    const r = await writer.streamAdd(stream, message(n++, last));
    ids.get(stream)!.push(r.entryId);
  };
  for (const s of streams) for (let i = 0; i < PREFILL; i++) await add(s);

  // Entries keep arriving while the iterators subscribe.
  let writing = true;
  const writes = (async () => {
    for (let i = 0; writing; i++) await add(streams[i % STREAMS]);
  })();

  const followers: Follower[] = [];
  for (let i = 0; i < PER_ROUND; i++) {
    const stream = streams[i % STREAMS];
    followers.push(follow(clients[i % clients.length], stream, i % 2 === 0 ? "0" : "$"));
  }
  await Promise.all(followers.map((f) => f.it.ready));
  await midway?.();
  writing = false;
  await writes;
  await Promise.all(streams.map((s) => add(s, true)));

  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, ROUND_DEADLINE_MS)));
  await Promise.race([Promise.all(followers.map((f) => f.done)), deadline]);
  clearTimeout(timer);
  // Iterators still waiting end here, with what they had.
  await Promise.all(followers.map((f) => f.it.return?.()));
  await Promise.all(followers.map((f) => f.done));

  const problems: string[] = [];
  for (const [i, f] of followers.entries()) {
    const all = ids.get(f.stream)!.sort(compareIds);
    const expected = f.start === "0" ? all : all.slice(all.indexOf(f.start) + 1);
    if (f.start !== "0" && !all.includes(f.start)) problems.push(`iterator ${i} on ${f.stream}: ready at ${f.start}, not an entry of the stream`);
    else if (f.received.join() !== expected.join()) {
      const missing = expected.filter((id) => !f.received.includes(id));
      problems.push(
        `iterator ${i} on ${f.stream} after ${f.start}: received ${f.received.length} of ${expected.length}` +
          (missing.length > 0 ? `, first missing ${missing[0]} (${missing.length} missing)` : ", out of order or repeated"),
      );
    }
  }
  return problems;
}

/**
 * `ROUNDS` rounds through three connections to ampd (and one for the writer);
 * every iterator of every round must see everything. `midway` runs in each
 * round once its iterators are ready, while the writer is still adding.
 */
async function stress(options: ConnectOptions, prefix: string, midway?: () => Promise<void>): Promise<void> {
  const clients = await Promise.all([0, 1, 2].map((i) => connect({ ...options, name: `stress-${i}` })));
  const writer = await connect({ ...options, name: "stress-writer" });
  try {
    const problems: string[] = [];
    for (let r = 0; r < ROUNDS; r++) problems.push(...(await round(clients, writer, `${prefix}.r${r}`, midway)));
    expect(problems.slice(0, 20)).toEqual([]);
    expect(problems.length).toBe(0);
  } finally {
    await Promise.all([...clients, writer].map((c) => c.close()));
  }
}

beforeAll(async () => {
  await buildAmpd();
}, 120_000);

describe(`${PER_ROUND * ROUNDS} iterators through one ampd see every entry`, () => {
  test("on memory, over the Unix socket", async () => {
    const ampd = await Ampd.start({ args: ["--backend", "memory"] });
    try {
      await stress({ socket: ampd.socket }, `stress-m${Date.now().toString(36)}`);
      expect(ampd.stderr).not.toMatch(/ERROR/);
    } finally {
      expect(await ampd.stop()).toBe(0);
      await ampd.dispose();
    }
  }, 60_000);

  test("on memory, over WebSocket (/ws/bus)", async () => {
    const ampd = await Ampd.start({ args: ["--backend", "memory", "--http", "127.0.0.1:0"] });
    try {
      const m = /^ampd http (\S+)$/m.exec(ampd.stdout);
      if (!m) throw new Error(`ampd printed no http line:\n${ampd.stdout}\n${ampd.stderr}`);
      await stress({ url: m[1].replace(/^http/, "ws") }, `stress-w${Date.now().toString(36)}`);
      expect(ampd.stderr).not.toMatch(/ERROR/);
    } finally {
      expect(await ampd.stop()).toBe(0);
      await ampd.dispose();
    }
  }, 60_000);

  if (REDIS_SKIP_REASON === undefined) {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      await redis?.dispose();
    });

    test("on Redis, over the Unix socket", async () => {
      const ampd = await Ampd.start({ args: ["--backend", "redis", "--redis", redis.url] });
      try {
        await stress({ socket: ampd.socket }, `stress-r${Date.now().toString(36)}`);
        expect(ampd.stderr).not.toMatch(/ERROR/);
      } finally {
        expect(await ampd.stop()).toBe(0);
        await ampd.dispose();
      }
    }, 60_000);

    // Every connection drops with each restart: each iterator re-subscribes after the last
    // entry it got, where entries are waiting, so the first push again comes right behind the reply.
    test("on Redis, re-subscribing through ampd restarts", async () => {
      const dir = mkdtempSync(join(tmpdir(), "iter-stress-"));
      const socket = join(dir, "ampd.sock");
      const args = ["--backend", "redis", "--redis", redis.url];
      let ampd = await Ampd.start({ args, socket });
      let restarts = 0;
      const restart = async () => {
        expect(await ampd.stop()).toBe(0);
        await ampd.dispose();
        ampd = await Ampd.start({ args, socket });
        restarts++;
      };
      try {
        await stress({ socket }, `stress-rr${Date.now().toString(36)}`, restart);
        expect(restarts).toBe(ROUNDS);
        expect(ampd.stderr).not.toMatch(/ERROR/);
      } finally {
        expect(await ampd.stop()).toBe(0);
        await ampd.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  } else {
    test.skip(`on Redis: ${REDIS_SKIP_REASON}`, () => {});
  }
});
