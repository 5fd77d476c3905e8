/**
 * The sidecar protocol on the wire (docs/protocol.md), against the compiled
 * ampd: frames written by hand, replies decoded with @msgpack/msgpack, as a
 * client in another language would. Framing and request errors run on the
 * memory backend; the stream ops run on memory and on a real redis-server.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createMessage } from "../../sdk/envelope/builder.ts";
import { encode, encodeValue } from "../../sdk/codec/codec.ts";
import { Ampd, buildAmpd } from "../_helpers/ampd.ts";
import { errorOf, type Frame, RawConn, requestFrame } from "../_helpers/raw_conn.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let uniq = 0;
const fresh = (name: string) => `${name}.${Date.now().toString(36)}.${uniq++}`;

function msgBytes(fields: Record<string, unknown> = {}): Uint8Array {
  return encode(createMessage({ type: "obs.tick", sender: "tester", receiver: "broadcast", payload: { n: uniq++ }, ...fields } as never));
}

const conns: RawConn[] = [];
async function hello(ampd: Ampd): Promise<RawConn> {
  const c = await RawConn.hello(ampd.socket);
  conns.push(c);
  return c;
}

let memory: Ampd;
beforeAll(async () => {
  await buildAmpd();
  memory = await Ampd.start({ args: ["--backend", "memory"] });
}, 60_000);
afterAll(async () => {
  for (const c of conns) c.close();
  await memory?.dispose();
});

describe("hello", () => {
  test("a request before hello gets HELLO_REQUIRED and the connection goes on", async () => {
    const c = await RawConn.open(memory.socket);
    conns.push(c);
    const r = await c.call({ op: "ping", rid: 7 });
    expect(errorOf(r).code).toBe("HELLO_REQUIRED");
    const h = await c.call({ op: "hello", rid: 8, version: 1, client: "raw" });
    expect(h).toMatchObject({ rid: 8, ok: true, version: 1, server: "ampd", backend: "memory", maxFrame: 16 * 1024 * 1024 });
    expect(typeof h.serverVersion).toBe("string");
    expect((await c.call({ op: "ping", rid: 9 })).ok).toBe(true);
  });

  test("version 0 gets VERSION_UNSUPPORTED with the supported range; a newer client is offered 1", async () => {
    const c = await RawConn.open(memory.socket);
    conns.push(c);
    const r = await c.call({ op: "hello", rid: 1, version: 0, client: "old" });
    const e = errorOf(r);
    expect(e.code).toBe("VERSION_UNSUPPORTED");
    expect(e.details).toEqual({ min: 1, max: 1 });
    const h = await c.call({ op: "hello", rid: 2, version: 9, client: "new" });
    expect(h.ok).toBe(true);
    expect(h.version).toBe(1);
  });

  test("a second hello is BAD_REQUEST", async () => {
    const c = await hello(memory);
    expect(errorOf(await c.call({ op: "hello", rid: 1, version: 1, client: "again" })).code).toBe("BAD_REQUEST");
  });

  test("hello with a bad client name is BAD_ARGUMENT naming client", async () => {
    const c = await RawConn.open(memory.socket);
    conns.push(c);
    const e = errorOf(await c.call({ op: "hello", rid: 1, version: 1, client: "" }));
    expect(e.code).toBe("BAD_ARGUMENT");
    expect(e.details?.field).toBe("client");
  });
});

describe("framing and request errors", () => {
  test("1000 requests in one write: every reply arrives, matched by rid, adds stored in order", async () => {
    const c = await hello(memory);
    const stream = fresh("pipe");
    const parts: Uint8Array[] = [];
    for (let rid = 1; rid <= 1000; rid++) {
      parts.push(rid % 2 === 0 ? requestFrame({ op: "add", rid, stream, msg: msgBytes() }) : requestFrame({ op: "ping", rid }));
    }
    c.write(Buffer.concat(parts));
    await c.waitFor(() => c.frames.filter((f) => typeof f.rid === "number" && f.rid >= 1).length >= 1000, "1000 replies", 10_000);
    const replies = c.frames.filter((f) => typeof f.rid === "number" && (f.rid as number) >= 1);
    expect(replies.length).toBe(1000);
    expect(new Set(replies.map((f) => f.rid)).size).toBe(1000);
    expect(replies.every((f) => f.ok === true)).toBe(true);
    const adds = replies.filter((f) => (f.rid as number) % 2 === 0).sort((a, b) => (a.rid as number) - (b.rid as number));
    const ids = adds.map((f) => f.entryId as string);
    const read = await c.call({ op: "read", rid: 5000, streams: { [stream]: "0" }, count: 1000 });
    const stored = ((read.streams as Frame[])[0].entries as [string, Uint8Array][]).map((e) => e[0]);
    expect(stored).toEqual(ids); // the order the requests were sent in
  });

  test("unknown op gets UNKNOWN_OP naming op, and the connection goes on", async () => {
    const c = await hello(memory);
    const e = errorOf(await c.call({ op: "nope", rid: 1 }));
    expect(e.code).toBe("UNKNOWN_OP");
    expect(e.details?.field).toBe("op");
    expect(e.message).toContain("nope");
    expect(errorOf(await c.call({ op: "__proto__", rid: 2 })).code).toBe("UNKNOWN_OP");
    expect(errorOf(await c.call({ op: 42, rid: 3 })).code).toBe("UNKNOWN_OP");
    expect((await c.call({ op: "ping", rid: 4 })).ok).toBe(true);
  });

  const badArgs: [string, Record<string, unknown>, string][] = [
    ["add without stream", { op: "add", msg: new Uint8Array([0x80]) }, "stream"],
    ["add with a stream name holding a space", { op: "add", stream: "a b", msg: new Uint8Array([0x80]) }, "stream"],
    ["add with msg as a string", { op: "add", stream: "s", msg: "hello" }, "msg"],
    ["add with msg that is not MessagePack", { op: "add", stream: "s", msg: new Uint8Array([0xc1]) }, "msg"],
    ["add with maxLen -1", { op: "add", stream: "s", msg: new Uint8Array([0x80]), maxLen: -1 }, "maxLen"],
    ["read without streams", { op: "read" }, "streams"],
    ["read with streams as an array", { op: "read", streams: ["s"] }, "streams"],
    ["read with no streams", { op: "read", streams: {} }, "streams"],
    ["read with a bad position", { op: "read", streams: { s: "later" } }, 'streams["s"]'],
    ["read with count 0", { op: "read", streams: { s: "0" }, count: 0 }, "count"],
    ["read with count as a string", { op: "read", streams: { s: "0" }, count: "10" }, "count"],
    ["read with block 1.5", { op: "read", streams: { s: "0" }, block: 1.5 }, "block"],
    ["subscribe with credit -1", { op: "subscribe", stream: "s", credit: -1 }, "credit"],
    ["subscribe with from 12", { op: "subscribe", stream: "s", from: 12 }, "from"],
    ["credit without sub", { op: "credit", n: 1 }, "sub"],
    ["trim without maxLen", { op: "trim", stream: "s" }, "maxLen"],
    ["trim with approximate 1", { op: "trim", stream: "s", maxLen: 1, approximate: 1 }, "approximate"],
    ["info with a bad stream", { op: "info", stream: "" }, "stream"],
  ];
  test("missing or mistyped arguments get BAD_ARGUMENT naming the field", async () => {
    const c = await hello(memory);
    let rid = 100;
    for (const [what, req, field] of badArgs) {
      const r = await c.call({ ...req, rid: ++rid });
      const e = errorOf(r);
      expect({ what, code: e.code, field: e.details?.field }).toEqual({ what, code: "BAD_ARGUMENT", field });
      expect(e.message.length).toBeGreaterThan(10);
    }
    expect((await c.call({ op: "ping", rid: 1 })).ok).toBe(true);
  });

  test("a body that is not MessagePack, or not a map, gets BAD_REQUEST with rid nil; the connection goes on", async () => {
    const c = await hello(memory);
    const bodies = [
      new Uint8Array([0xc1]), // never used
      new Uint8Array([0x92, 0x01]), // array of 2, truncated
      encodeValue([1, 2, 3]), // valid, but not a map
      encodeValue("op"),
      new Uint8Array([0x81, 0x01, 0x02]), // a map with an int key
      new Uint8Array([0xd4, 0x01, 0x00]), // an extension type
      encodeValue({ op: "ping" }), // no rid
      encodeValue({ op: "ping", rid: -1 }),
      encodeValue({ op: "ping", rid: 2 ** 32 }),
      encodeValue({ op: "ping", rid: "1" }),
    ];
    for (const b of bodies) {
      const before = c.frames.length;
      c.write(Buffer.concat([new Uint8Array([0, 0, 0, b.length]), b]));
      const r = await c.waitFor((f) => c.frames.indexOf(f) >= before, "an error reply");
      expect(r.rid).toBeNull();
      expect(errorOf(r).code).toBe("BAD_REQUEST");
    }
    expect((await c.call({ op: "ping", rid: 4294967295 })).ok).toBe(true);
    expect(c.isClosed).toBe(false);
  });

  test("an oversized declared length gets BAD_FRAME at once, the connection is closed, others are unaffected", async () => {
    const other = await hello(memory);
    for (const len of [0xffffffff, 16 * 1024 * 1024 + 1]) {
      const c = await hello(memory);
      const t0 = Date.now();
      const head = Buffer.alloc(8);
      head.writeUInt32BE(len, 0); // and a few body bytes, never the rest
      c.write(head);
      const r = await c.reply(null);
      expect(errorOf(r).code).toBe("BAD_FRAME");
      expect(errorOf(r).message).toContain(String(len));
      await c.waitClosed();
      expect(Date.now() - t0).toBeLessThan(5000);
    }
    expect((await other.call({ op: "ping", rid: 1 })).ok).toBe(true);
    expect(memory.alive).toBe(true);
  });

  test("a zero length gets BAD_FRAME and the connection is closed", async () => {
    const c = await hello(memory);
    c.write(new Uint8Array([0, 0, 0, 0]));
    expect(errorOf(await c.reply(null)).code).toBe("BAD_FRAME");
    await c.waitClosed();
  });

  test("a frame split across many writes is put back together", async () => {
    const c = await hello(memory);
    const bytes = requestFrame({ op: "ping", rid: 77, padding: "x".repeat(3000) });
    for (let i = 0; i < bytes.length; i += 7) {
      c.write(bytes.subarray(i, i + 7));
      if (i % 700 === 0) await sleep(1);
    }
    expect((await c.reply(77)).ok).toBe(true);
  });

  test("more than 1024 subscriptions on one connection gets LIMIT_EXCEEDED", async () => {
    const c = await hello(memory);
    const stream = fresh("many");
    const parts: Uint8Array[] = [];
    for (let rid = 1; rid <= 1025; rid++) parts.push(requestFrame({ op: "subscribe", rid, stream, from: "0" }));
    c.write(Buffer.concat(parts));
    const last = await c.reply(1025, 10_000);
    expect(errorOf(last).code).toBe("LIMIT_EXCEEDED");
    expect((await c.reply(1024)).ok).toBe(true);
  });
});

/** The stream ops, run against one backend. */
function streamOps(name: string, ampd: () => Ampd) {
  describe(`stream ops (${name})`, () => {
    test("add: an invalid message gets INVALID_MESSAGE listing every problem with its path", async () => {
      const c = await hello(ampd());
      const bad = {
        v: 1, id: "", opId: "o", type: "task", receiver: "x", timestamp: -1, bogus: 1, tier: "diamond",
        spec: { preconditions: [], task: "t", postconditions: [], evidence: { prover: "p", method: "x", confidence: 2 } },
      };
      const e = errorOf(await c.call({ op: "add", rid: 1, stream: "s", msg: encodeValue(bad) }));
      expect(e.code).toBe("INVALID_MESSAGE");
      const issues = e.details?.issues as { path: (string | number)[]; message: string }[];
      const paths = issues.map((i) => i.path.join("."));
      for (const p of ["id", "sender", "timestamp", "bogus", "tier", "spec.evidence.confidence", "spec.evidence.method"]) {
        expect(paths).toContain(p);
      }
      for (const i of issues) expect(i.message.length).toBeGreaterThan(5);
      expect(e.message).toContain("7 problems");
    });

    test("add: a large message (past ampd's 4 KiB scan, decoded instead) is held to the same rules", async () => {
      const c = await hello(ampd());
      const big = "log line\n".repeat(1000);
      const stream = fresh("big");
      const ok = await c.call({ op: "add", rid: 1, stream, msg: msgBytes({ payload: big }) });
      expect(ok).toMatchObject({ ok: true, duplicate: false });
      const bad = { v: 1, id: "", opId: "o", type: "task", sender: "a", receiver: "x", timestamp: -1, payload: big };
      const e = errorOf(await c.call({ op: "add", rid: 2, stream, msg: encodeValue(bad) }));
      expect(e.code).toBe("INVALID_MESSAGE");
      expect((e.details?.issues as { path: string[] }[]).map((i) => i.path.join("."))).toEqual(["id", "timestamp"]);
      const v2 = { v: 2, id: "m", opId: "m", type: "t", sender: "a", receiver: "b", timestamp: 1, payload: big };
      expect(errorOf(await c.call({ op: "add", rid: 3, stream, msg: encodeValue(v2) })).code).toBe("UNKNOWN_VERSION");
      const cut = msgBytes({ payload: big }).subarray(0, 5000);
      const b = errorOf(await c.call({ op: "add", rid: 4, stream, msg: cut }));
      expect(b.code).toBe("BAD_ARGUMENT");
      expect(b.details?.field).toBe("msg");
      expect((await c.call({ op: "info", rid: 5, stream })).length).toBe(1);
    });

    test("add: envelope v 2 gets UNKNOWN_VERSION", async () => {
      const c = await hello(ampd());
      const m = { v: 2, id: "m", opId: "m", type: "t", sender: "a", receiver: "b", timestamp: 1 };
      expect(errorOf(await c.call({ op: "add", rid: 1, stream: "s", msg: encodeValue(m) })).code).toBe("UNKNOWN_VERSION");
    });

    test("add: the same opId again is duplicate with the first entryId; another stream is not", async () => {
      const c = await hello(ampd());
      const stream = fresh("dup");
      const bytes = msgBytes({ opId: fresh("op") });
      const first = await c.call({ op: "add", rid: 1, stream, msg: bytes });
      expect(first).toMatchObject({ ok: true, duplicate: false });
      expect(first.entryId).toMatch(/^\d+-\d+$/);
      const again = await c.call({ op: "add", rid: 2, stream, msg: bytes });
      expect(again).toMatchObject({ ok: true, duplicate: true, entryId: first.entryId });
      const elsewhere = await c.call({ op: "add", rid: 3, stream: stream + ".b", msg: bytes });
      expect(elsewhere.duplicate).toBe(false);
      const info = await c.call({ op: "info", rid: 4, stream });
      expect(info.length).toBe(1);
    });

    test("add stores the bytes exactly as sent; read returns them with count and positions", async () => {
      const c = await hello(ampd());
      const stream = fresh("rd");
      const sent = [msgBytes(), msgBytes(), msgBytes()];
      const ids: string[] = [];
      for (const [i, msg] of sent.entries()) ids.push((await c.call({ op: "add", rid: i + 1, stream, msg })).entryId as string);
      const all = await c.call({ op: "read", rid: 10, streams: { [stream]: "0", [fresh("empty")]: "0" } });
      const batches = all.streams as { stream: string; entries: [string, Uint8Array][] }[];
      expect(batches.length).toBe(1);
      expect(batches[0].stream).toBe(stream);
      expect(batches[0].entries.map((e) => e[0])).toEqual(ids);
      expect(batches[0].entries.map((e) => Buffer.from(e[1]).toString("hex"))).toEqual(sent.map((b) => Buffer.from(b).toString("hex")));
      const after = await c.call({ op: "read", rid: 11, streams: { [stream]: ids[0] }, count: 1 });
      expect((after.streams as Frame[])[0].entries).toEqual([[ids[1], expect.anything()]]);
      const none = await c.call({ op: "read", rid: 12, streams: { [stream]: "$" } });
      expect(none.streams).toEqual([]);
    });

    test("read with block wakes on an add from another connection", async () => {
      const reader = await hello(ampd());
      const writer = await hello(ampd());
      const stream = fresh("wake");
      const t0 = Date.now();
      reader.request({ op: "read", rid: 1, streams: { [stream]: "$" }, block: 20_000 });
      await reader.call({ op: "ping", rid: 2 }); // the read is now blocked
      await sleep(100);
      const added = await writer.call({ op: "add", rid: 1, stream, msg: msgBytes() });
      const r = await reader.reply(1, 10_000);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect((r.streams as Frame[])[0].entries).toEqual([[added.entryId, expect.anything()]]);
    });

    test("read with block times out with no entries", async () => {
      const c = await hello(ampd());
      const r = await c.call({ op: "read", rid: 1, streams: { [fresh("idle")]: "$" }, block: 200 });
      expect(r).toMatchObject({ ok: true, streams: [] });
    });

    test("subscribe with credit 3: the reply first, then exactly 3 entries until more credit", async () => {
      const c = await hello(ampd());
      const stream = fresh("sub");
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await c.call({ op: "add", rid: 100 + i, stream, msg: msgBytes() })).entryId as string);
      const r = await c.call({ op: "subscribe", rid: 1, stream, from: "0", credit: 3 });
      expect(r).toMatchObject({ ok: true, from: "0" });
      const sub = r.sub as number;
      const pushes = () => c.frames.filter((f) => f.sub === sub && !("rid" in f));
      const pushed = () => pushes().flatMap((f) => (f.entries as [string, Uint8Array][]).map((e) => e[0]));
      await c.waitFor(() => pushed().length >= 3, "3 pushed entries");
      await sleep(300);
      expect(pushed()).toEqual(ids.slice(0, 3));
      // No push for the subscription precedes its reply.
      expect(c.frames.indexOf(pushes()[0])).toBeGreaterThan(c.frames.indexOf(r));

      const cr = await c.call({ op: "credit", rid: 2, sub, n: 4 });
      expect(cr.ok).toBe(true);
      await c.waitFor(() => pushed().length >= 7, "7 pushed entries");
      await sleep(200);
      expect(pushed()).toEqual(ids.slice(0, 7));

      await c.call({ op: "credit", rid: 3, sub, n: 100 });
      await c.waitFor(() => pushed().length >= 10, "10 pushed entries");
      // Live entries follow, in order, while credit lasts.
      const more: string[] = [];
      for (let i = 0; i < 3; i++) more.push((await c.call({ op: "add", rid: 200 + i, stream, msg: msgBytes() })).entryId as string);
      await c.waitFor(() => pushed().length >= 13, "13 pushed entries");
      expect(pushed()).toEqual([...ids, ...more]);
      // 100 + 4 + 3 granted, 13 used.
      expect((await c.call({ op: "credit", rid: 4, sub, n: 1 })).credit).toBe(95);

      const un = await c.call({ op: "unsubscribe", rid: 5, sub });
      expect(un).toMatchObject({ ok: true, cursor: more[2] });
      expect(errorOf(await c.call({ op: "credit", rid: 6, sub, n: 1 })).code).toBe("UNKNOWN_SUBSCRIPTION");
      expect(errorOf(await c.call({ op: "unsubscribe", rid: 7, sub })).code).toBe("UNKNOWN_SUBSCRIPTION");
      const n = pushed().length;
      await c.call({ op: "add", rid: 300, stream, msg: msgBytes() });
      await sleep(200);
      expect(pushed().length).toBe(n);
    });

    test("subscribe with credit 0 pushes nothing; from $ resolves to the last entry", async () => {
      const c = await hello(ampd());
      const stream = fresh("sub0");
      const last = (await c.call({ op: "add", rid: 1, stream, msg: msgBytes() })).entryId;
      const r = await c.call({ op: "subscribe", rid: 2, stream });
      expect(r.from).toBe(last);
      const empty = await c.call({ op: "subscribe", rid: 3, stream: fresh("nothing"), from: "$", credit: 5 });
      expect(empty.from).toBe("0");
      const next = (await c.call({ op: "add", rid: 4, stream, msg: msgBytes() })).entryId;
      await sleep(200);
      expect(c.frames.some((f) => f.sub === r.sub && !("rid" in f))).toBe(false);
      await c.call({ op: "credit", rid: 5, sub: r.sub, n: 10 });
      const push = await c.waitFor((f) => f.sub === r.sub && !("rid" in f), "a push");
      expect((push.entries as [string][]).map((e) => e[0])).toEqual([next as string]);
    });

    test("subscriptions of another connection are unknown here", async () => {
      const a = await hello(ampd());
      const b = await hello(ampd());
      const r = await a.call({ op: "subscribe", rid: 1, stream: fresh("mine") });
      expect(errorOf(await b.call({ op: "unsubscribe", rid: 1, sub: r.sub })).code).toBe("UNKNOWN_SUBSCRIPTION");
    });

    test("trim and info", async () => {
      const c = await hello(ampd());
      const stream = fresh("trim");
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await c.call({ op: "add", rid: i + 1, stream, msg: msgBytes() })).entryId as string);
      const t = await c.call({ op: "trim", rid: 20, stream, maxLen: 4 });
      expect(t).toMatchObject({ ok: true, removed: 6 });
      const i = await c.call({ op: "info", rid: 21, stream });
      expect(i).toMatchObject({ ok: true, stream, length: 4, firstEntryId: ids[6], lastEntryId: ids[9] });
      const none = await c.call({ op: "info", rid: 22, stream: fresh("none") });
      expect(none).toMatchObject({ length: 0, firstEntryId: null, lastEntryId: null });

      const s = await c.call({ op: "info", rid: 23 });
      expect(s).toMatchObject({ ok: true, server: "ampd", protocol: 1, shuttingDown: false });
      expect((s.backend as Frame).kind).toBe(name);
      expect((s.backend as Frame).state).toBe("ready");
      for (const k of ["uptimeMs", "connections", "connectionsTotal", "requests", "errors", "badFrames", "badRequests", "added", "duplicates", "pushed"]) {
        expect(typeof s[k]).toBe("number");
      }
      expect(s.connections as number).toBeGreaterThanOrEqual(1);
      expect(s.added as number).toBeGreaterThanOrEqual(10);
      const p = await c.call({ op: "ping", rid: 24 });
      expect(Math.abs((p.time as number) - Date.now())).toBeLessThan(60_000);
    });
  });
}

let redis: RedisServer | undefined;
let onRedis: Ampd | undefined;
streamOps("memory", () => memory);
if (REDIS_SKIP_REASON === undefined) {
  beforeAll(async () => {
    redis = await RedisServer.start();
    onRedis = await Ampd.start({ args: ["--backend", "redis", "--redis", redis.url] });
  }, 30_000);
  afterAll(async () => {
    await onRedis?.dispose();
    await redis?.dispose();
  });
  streamOps("redis", () => onRedis!);
} else {
  test.skip(`stream ops (redis): ${REDIS_SKIP_REASON}`, () => {});
}
