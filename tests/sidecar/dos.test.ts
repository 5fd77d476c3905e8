/**
 * One client must never hurt the others: hostile clients of the compiled
 * ampd (reply amplification, pipelining without reading, half-sent frames,
 * idle connections, token guessing, bad frames after good ones), each while
 * a good client goes on. Bounds are on ampd's resident memory (read from
 * /proc) and on seconds, with a wide margin for a shared 2-core machine.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect as netConnect, type Socket } from "node:net";
import { Ampd } from "../_helpers/ampd.ts";
import { errorOf, RawConn, requestFrame } from "../_helpers/raw_conn.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";
import { encode } from "../../sdk/codec/codec.ts";

const MiB = 1024 * 1024;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A socket that counts what it receives and never parses it. */
function rawSocket(path: string): Promise<{ s: Socket; received: () => number; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ path });
    let n = 0;
    s.on("data", (d: Buffer) => (n += d.length));
    s.on("error", () => {});
    const closed = new Promise<void>((r) => s.once("close", () => r()));
    s.once("connect", () => resolve({ s, received: () => n, closed }));
    s.once("error", reject);
  });
}

/** The good client: its ping round trip, in ms (fails after `timeoutMs`). */
async function pingMs(c: RawConn, rid: number, timeoutMs = 10_000): Promise<number> {
  const t0 = performance.now();
  const r = await c.call({ op: "ping", rid }, timeoutMs);
  expect(r.ok).toBe(true);
  return performance.now() - t0;
}

function lengthPrefix(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

describe("hostile clients of one ampd", () => {
  let ampd: Ampd;
  let good: RawConn;
  beforeAll(async () => {
    ampd = await Ampd.start({ args: ["--backend", "memory", "--token", "right", "--hello-timeout", "2s", "--frame-timeout", "2s"] });
    good = await RawConn.hello(ampd.socket, { token: "right" });
  });
  afterAll(async () => {
    good?.close();
    await ampd.dispose();
  });

  test("2M pipelined pings from a client that does not read: ampd stops reading it, RSS stays bounded, the good client goes on, and every ping is answered", async () => {
    const N = 2_000_000;
    const a = await rawSocket(ampd.socket);
    const before = ampd.rss();
    const hello = requestFrame({ op: "hello", rid: 0, version: 1, client: "flood", token: "right" });
    const one = requestFrame({ op: "ping", rid: 1 });
    const batch = new Uint8Array(one.length * 10_000);
    for (let i = 0; i < 10_000; i++) batch.set(one, i * one.length);
    a.s.pause(); // read nothing: the replies pile up on ampd's side
    a.s.write(hello);
    for (let i = 0; i < N / 10_000; i++) a.s.write(batch);
    let peak = 0;
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      await sleep(300);
      peak = Math.max(peak, ampd.rss() - before);
      latencies.push(await pingMs(good, 100 + i));
    }
    console.log(`flood of ${N} pings, not read: ampd RSS grew at most ${(peak / MiB).toFixed(1)} MiB; good client's ping ${Math.min(...latencies).toFixed(1)}..${Math.max(...latencies).toFixed(1)} ms`);
    // Before the outbox counted every reply, 1M of them grew ampd by 69 to 185 MB.
    expect(peak).toBeLessThan(64 * MiB);
    expect(Math.max(...latencies)).toBeLessThan(5000);
    // Nothing was dropped: reading now, the flooder gets all N + 1 replies.
    const expectBytes = (await countReplyBytes(ampd.socket, hello, one, 1)) * N + (await countReplyBytes(ampd.socket, hello, undefined, 0));
    a.s.resume();
    const deadline = Date.now() + 60_000;
    while (a.received() < expectBytes && Date.now() < deadline) await sleep(50);
    expect(a.received()).toBe(expectBytes);
    a.s.destroy();
  }, 120_000);

  test("10 MiB of unknown ops before hello: bounded memory, every one answered", async () => {
    const a = await rawSocket(ampd.socket);
    const before = ampd.rss();
    const one = requestFrame({ op: "nope", rid: 7 });
    const n = Math.floor((10 * MiB) / one.length);
    const buf = new Uint8Array(one.length * n);
    for (let i = 0; i < n; i++) buf.set(one, i * one.length);
    a.s.pause();
    a.s.write(buf);
    let peak = 0;
    for (let i = 0; i < 6; i++) {
      await sleep(250);
      peak = Math.max(peak, ampd.rss() - before);
    }
    console.log(`${n} unknown ops before hello, not read: ampd RSS grew at most ${(peak / MiB).toFixed(1)} MiB`);
    expect(peak).toBeLessThan(64 * MiB); // the old server: 670 MB
    expect(await pingMs(good, 200)).toBeLessThan(5000);
    a.s.destroy();
  }, 60_000);

  test("500 wrong tokens in one write: one is checked, the connection closes, the failures are counted and logged", async () => {
    const c = await RawConn.open(ampd.socket);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 500; i++) frames.push(requestFrame({ op: "hello", rid: i, version: 1, client: "guesser", token: `guess-${i}` }));
    c.write(Buffer.concat(frames));
    await c.waitClosed();
    const replies = c.frames.filter((f) => f.ok === false);
    expect(replies.length).toBe(1);
    expect(errorOf(replies[0]).code).toBe("AUTH_FAILED");
    // Guessing from new connections: each one gets one guess, and the peer is reported.
    for (let i = 0; i < 12; i++) {
      const g = await RawConn.open(ampd.socket);
      g.request({ op: "hello", rid: 1, version: 1, client: "guesser", token: `again-${i}` });
      await g.waitClosed();
    }
    const info = await good.call({ op: "info", rid: 300 });
    expect(info.authFailures as number).toBeGreaterThanOrEqual(13);
    expect(ampd.stderr).toMatch(/refused hellos or auths in \d+ s/);
  }, 30_000);

  test("a connection that never says hello is closed after --hello-timeout; one that stops mid-frame after --frame-timeout", async () => {
    const idle = await RawConn.open(ampd.socket);
    const half = await RawConn.hello(ampd.socket, { token: "right" });
    const frame = requestFrame({ op: "ping", rid: 5 });
    half.write(frame.subarray(0, 6)); // the length and two bytes: never finished
    const t0 = Date.now();
    await idle.waitClosed(8000);
    expect(errorOf(idle.frames[0]).code).toBe("HELLO_TIMEOUT");
    await half.waitClosed(8000);
    expect(errorOf(half.frames.at(-1)!).code).toBe("FRAME_TIMEOUT");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(await pingMs(good, 400)).toBeLessThan(5000);
  }, 30_000);

  test("an error reply is small, whatever it quotes (a 1 MiB rid, a 15 MiB op, before hello and without the token)", async () => {
    const a = await rawSocket(ampd.socket);
    a.s.write(requestFrame({ op: "ping", rid: "r".repeat(MiB) }));
    a.s.write(requestFrame({ op: "x".repeat(15 * MiB), rid: 1 }));
    a.s.write(requestFrame({ op: "hello", rid: 2, version: 1, client: "c".repeat(8 * MiB) }));
    await sleep(1500);
    // Three small errors; the old server answered 11 MB + 193 MB.
    expect(a.received()).toBeGreaterThan(0);
    expect(a.received()).toBeLessThan(3 * 16 * 1024);
    const c = await RawConn.open(ampd.socket);
    c.request({ op: "ping", rid: "r".repeat(MiB) });
    const e = errorOf(await c.reply(null));
    expect(e.code).toBe("BAD_REQUEST");
    expect(e.message.length).toBeLessThan(200);
    expect(e.message).toContain("rid must be an integer");
    c.close();
    a.s.destroy();
    expect(await pingMs(good, 10)).toBeLessThan(5000);
  }, 30_000);

  test("good frames before a bad one are answered: hello + add + a zero length in one write", async () => {
    const c = await RawConn.open(ampd.socket);
    const msg = encode(createMessage({ type: "notice", sender: "dos", receiver: "x", payload: { note: "stored before the bad frame" } }));
    c.write(Buffer.concat([
      requestFrame({ op: "hello", rid: 1, version: 1, client: "mixed", token: "right" }),
      requestFrame({ op: "add", rid: 2, stream: "dos.mixed", msg }),
      lengthPrefix(0),
    ]));
    await c.waitClosed();
    expect(c.frames.find((f) => f.rid === 1)?.ok).toBe(true);
    const added = c.frames.find((f) => f.rid === 2)!;
    expect(added.ok).toBe(true);
    expect(errorOf(c.frames.find((f) => f.rid === null)!).code).toBe("BAD_FRAME");
    const r = await good.call({ op: "read", rid: 500, streams: { "dos.mixed": "0" } });
    const batches = r.streams as { entries: [string, Uint8Array][] }[];
    expect(batches[0].entries.map((e) => e[0])).toEqual([added.entryId as string]);
  });
});

describe("half-sent frames from many connections", () => {
  test("500 connections each holding part of a big frame: ampd's memory stays within the budget, the over-budget ones are refused, the rest time out, a good client goes on", async () => {
    const ampd = await Ampd.start({ args: ["--backend", "memory", "--frame-timeout", "3s", "--partial-budget", "32MiB"] });
    try {
      const good = await RawConn.hello(ampd.socket);
      const before = ampd.rss();
      const piece = new Uint8Array(600 * 1024).fill(0x61);
      const conns: Awaited<ReturnType<typeof rawSocket>>[] = [];
      for (let i = 0; i < 500; i++) {
        const c = await rawSocket(ampd.socket);
        c.s.write(lengthPrefix(16 * MiB - 16));
        c.s.write(piece);
        conns.push(c);
      }
      let peak = 0;
      for (let i = 0; i < 8; i++) {
        await sleep(250);
        peak = Math.max(peak, ampd.rss() - before);
      }
      const ms = await pingMs(good, 1);
      const open = () => conns.filter((c) => !c.s.destroyed && !c.s.readableEnded).length;
      const closedEarly = 500 - open();
      console.log(`500 half-sent 16 MiB frames with 600 KiB each: RSS grew at most ${(peak / MiB).toFixed(0)} MiB; ${closedEarly} refused over the budget at once; good ping ${ms.toFixed(1)} ms`);
      // The old server held 619 MB for 1040 of them, and kept them all.
      expect(peak).toBeLessThan(200 * MiB);
      expect(closedEarly).toBeGreaterThan(400);
      expect(ms).toBeLessThan(5000);
      await Promise.race([Promise.all(conns.map((c) => c.closed)), sleep(10_000)]);
      expect(open()).toBe(0);
      const info = await good.call({ op: "info", rid: 2 });
      expect(info.overBudget as number).toBeGreaterThan(400);
      expect(info.timeouts as number).toBeGreaterThan(0);
      expect(info.connections).toBe(1);
      for (const c of conns) c.s.destroy();
      good.close();
    } finally {
      await ampd.dispose();
    }
  }, 90_000);
});

/** Bytes of the replies to `frame` (or to the hello alone), measured on a fresh connection. */
async function countReplyBytes(path: string, hello: Uint8Array, frame: Uint8Array | undefined, _n: number): Promise<number> {
  const c = await rawSocket(path);
  c.s.write(hello);
  await sleep(100);
  const afterHello = c.received();
  if (frame === undefined) {
    c.s.destroy();
    return afterHello;
  }
  c.s.write(frame);
  await sleep(100);
  const n = c.received() - afterHello;
  c.s.destroy();
  return n;
}

