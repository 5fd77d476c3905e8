/**
 * The Python client (clients/python), written from docs/protocol.md alone,
 * against the compiled ampd and the TypeScript SDK: its unit tests; its
 * encoding and decoding of messages the SDK made, byte for byte; a Python and
 * a TypeScript agent handing a task back and forth; and a Python program
 * reading the Redis stream directly with redis-py from docs/storage.md.
 *
 * Needs Debian's python3-msgpack and python3-redis for /usr/bin/python3.
 * Skipped without them, except under CI, where their absence fails.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { readdirSync, readFileSync } from "node:fs";
import { Ampd, ROOT } from "../_helpers/ampd.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";
import { connect } from "../../sdk/client/connect.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";
import { encode, encodeValue } from "../../sdk/codec/codec.ts";
import { deserialize, serialize } from "../../sdk/codec/json.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";

const PYTHON = "/usr/bin/python3";
const PYTHONPATH = join(ROOT, "clients", "python");
const HERE = import.meta.dirname;

function pythonHas(modules: string[]): boolean {
  const r = spawnSync(PYTHON, ["-c", `import ${modules.join(", ")}`], { stdio: "ignore" });
  return r.status === 0;
}

const HAVE_MSGPACK = pythonHas(["msgpack"]);
const HAVE_REDIS = pythonHas(["msgpack", "redis"]);
if (process.env.CI && !(HAVE_MSGPACK && HAVE_REDIS)) {
  throw new Error(`${PYTHON} lacks msgpack or redis but CI is set: install python3-msgpack and python3-redis (npm test does, as root on Debian)`);
}
if (!(HAVE_MSGPACK && HAVE_REDIS)) {
  console.log(`skipping Python client tests: ${PYTHON} lacks msgpack or redis (apt-get install python3-msgpack python3-redis; npm test does, as root on Debian)`);
}

/** Runs a Python script to completion; stdin as given. */
function runPython(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(PYTHON, args, { cwd: PYTHONPATH, env: { ...process.env, PYTHONPATH, PYTHONDONTWRITEBYTECODE: "1" } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(options.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    })
  );
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe.skipIf(!HAVE_MSGPACK)("Python client", () => {
  test("its unittest suite passes", async () => {
    const r = await runPython(["-m", "unittest", "discover", "-s", "tests", "-v"]);
    expect(r.stderr).toMatch(/\nOK\n?$/);
    expect(r.stderr).not.toContain("skipped");
    expect(r.code).toBe(0);
  });

  test("decodes and re-encodes the golden vectors and SDK-made messages byte for byte", async () => {
    const dir = join(ROOT, "tests", "vectors");
    const vectors = readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")));
    const made: AISPMessage[] = [
      createMessage({ type: "obs.tick", sender: "ts", receiver: "broadcast", payload: { n: -1.5, big: 2 ** 40, neg: -(2 ** 33), zero: -0, list: [1, "€", null, new Uint8Array(300)], "𝔹": { z: 1, a: 2 } } }),
      createMessage({
        type: "task",
        sender: "ts",
        receiver: "py",
        conversationId: "c-1",
        spec: { preconditions: [], task: "t".repeat(70_000), postconditions: ["p"], evidence: { prover: "x", method: "static-analysis", confidence: 1 } },
        expiresAt: 2 ** 45,
      }),
    ];
    const inputs = [...vectors.map((v) => v.hex as string), ...made.map((m) => hex(encode(m)))];
    const r = await runPython([join(HERE, "codec.py")], { input: JSON.stringify({ hex: inputs }) });
    expect(r.stderr).toBe("");
    const out = (JSON.parse(r.stdout) as { decoded: { issues: unknown[]; json: unknown; hex: string; fromJson: string }[] }).decoded;
    expect(out).toHaveLength(inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      expect(out[i].issues).toEqual([]);
      expect(out[i].hex).toBe(inputs[i]);
      expect(out[i].fromJson).toBe(inputs[i]);
      // The Python JSON form is the SDK's: the SDK reads it back into the same bytes.
      expect(hex(encode(deserialize(JSON.stringify(out[i].json))))).toBe(inputs[i]);
      if (i < vectors.length) expect(out[i].json).toEqual(vectors[i].message);
    }
  });

  test("refuses every refused vector (big integers, invalid UTF-8...) with BAD_BYTES at the SDK's offset", async () => {
    const dir = join(ROOT, "tests", "vectors", "refused");
    const refused = readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")));
    expect(refused.length).toBeGreaterThanOrEqual(10);
    const r = await runPython([join(HERE, "codec.py")], { input: JSON.stringify({ hex: [], refused: refused.map((v) => v.hex) }) });
    expect(r.stderr).toBe("");
    const out = (JSON.parse(r.stdout) as { refused: { code?: string; offset?: number; message?: string }[] }).refused;
    for (let i = 0; i < refused.length; i++) {
      expect({ name: refused[i].name, code: out[i].code, offset: out[i].offset }).toEqual({ name: refused[i].name, ...refused[i].error });
      expect(out[i].message).toContain(`offset ${refused[i].error.offset}`);
    }
  });

  test("the encoder refuses an int a float 64 would round, and writes an exact one beyond 2^53 as float 64", async () => {
    const script = `
import json, ampbus
out = {"exact": ampbus.encode_value(2**60).hex()}
try:
    ampbus.encode_value({"n": [2**53 + 1]})
except ampbus.EncodeError as e:
    out["refused"] = str(e)
print(json.dumps(out))
`;
    const r = await runPython(["-c", script]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(out.exact).toBe(hex(encodeValue(2 ** 60)));
    expect(out.refused).toContain("/n/0");
    expect(out.refused).toContain("9007199254740993");
  });

  describe("through one ampd", () => {
    let ampd: Ampd;
    beforeAll(async () => {
      ampd = await Ampd.start({ args: ["--backend", "memory"] });
    });
    afterAll(async () => {
      await ampd?.dispose();
    });

    test("a Python and a TypeScript agent hand a task back and forth (request, reply, conversation, evidence)", async () => {
      const bus = await connect({ socket: ampd.socket, name: "ts-agents" });
      try {
        // ts-reviewer answers reviews, through its inbox group as listen() reads it.
        const reviewer = (async () => {
          for await (const d of bus.listen("ts-reviewer", { broadcast: false })) {
            await bus.reply(d.message, { type: "review.ok", sender: "ts-reviewer", payload: { approved: true, file: (d.message.payload as { file: string }).file } });
            await d.ack();
            return d.message;
          }
        })();
        const agent = runPython([join(HERE, "agent.py"), ampd.socket]);
        const task = createMessage({
          type: "task",
          sender: "ts-planner",
          receiver: "py-coder",
          conversationId: "conv-42",
          payload: { file: "sdk/codec/codec.ts" },
        });
        const reply = await bus.request(task, { timeout: 15_000 });
        const m = reply.message;
        expect(reply.stream).toBe("reply.ts-planner");
        expect(m.replyTo).toBe(task.id);
        expect(m.conversationId).toBe("conv-42");
        expect(m.sender).toBe("py-coder");
        expect(m.receiver).toBe("ts-planner");
        expect(m.payload).toEqual({ done: "sdk/codec/codec.ts", by: "python" });
        expect(m.tier).toBe("gold");
        expect(m.spec?.evidence).toEqual({ prover: "pytest", method: "test-execution", confidence: 0.9 });

        const asked = (await reviewer)!;
        const r = await agent;
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const out = JSON.parse(r.stdout);
        expect(out.task.id).toBe(task.id);
        expect(out.ask.id).toBe(asked.id);
        expect(asked.conversationId).toBe("conv-42");
        expect(asked.sender).toBe("py-coder");
        expect(out.answer.replyTo).toBe(asked.id);
        expect(out.answer.conversationId).toBe("conv-42");
        expect(out.answer.payload).toEqual({ approved: true, file: "sdk/codec/codec.ts" });
        // What Python printed is the SDK's JSON form of the same message.
        expect(serialize(deserialize(JSON.stringify(out.answer)))).toBe(JSON.stringify(out.answer));
      } finally {
        await bus.close();
      }
    }, 40_000);

    test("ampd's INVALID_MESSAGE reaches Python as an exception with code and issues", async () => {
      const script = `
import json, sys, ampbus
bus = ampbus.connect(sys.argv[1])
bad = ampbus.encode_message({"v": 1, "id": "x" * 200, "opId": "o", "type": "t", "sender": "s", "receiver": "r", "timestamp": 1, "tier": "tin"})
try:
    bus.call("add", stream="s", msg=bad)
except ampbus.InvalidMessageError as e:
    print(json.dumps({"code": e.code, "paths": sorted(i["path"][0] for i in e.issues)}))
try:
    bus.call("read", streams={"s": "0"}, count=0)
except ampbus.ServerError as e:
    print(json.dumps({"code": e.code, "field": e.details.get("field")}))
`;
      const r = await runPython(["-c", script, ampd.socket]);
      expect(r.stderr).toBe("");
      const [a, b] = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      expect(a).toEqual({ code: "INVALID_MESSAGE", paths: ["id", "tier"] });
      expect(b).toEqual({ code: "BAD_ARGUMENT", field: "count" });
    });
  });

  describe.skipIf(!HAVE_REDIS || REDIS_SKIP_REASON !== undefined)("the Redis stream, read directly", () => {
    let redis: RedisServer;
    let ampd: Ampd;
    beforeAll(async () => {
      redis = await RedisServer.start();
      ampd = await Ampd.start({ args: ["--backend", "redis", "--redis", redis.url] });
    });
    afterAll(async () => {
      await ampd?.dispose();
      await redis?.stop();
    });

    test("redis-py reads what the TypeScript SDK added, from docs/storage.md alone", async () => {
      const bus = await connect({ socket: ampd.socket, name: "ts" });
      const msgs = [
        createMessage({ type: "task", sender: "planner", receiver: "coder", spec: { preconditions: ["∃f ∈ Files: exists(f)"], task: "fix ≜ λf.repair(f)", postconditions: ["tests pass"] }, tier: "silver", expiresAt: 4_000_000_000_000, payload: { b: new Uint8Array([1, 2]) } }),
        createMessage({ type: "obs.tick", sender: "planner", receiver: "broadcast" }),
      ];
      const ids = [];
      for (const m of msgs) ids.push((await bus.streamAdd("py.direct", m)).entryId);
      await bus.close();
      const r = await runPython([join(HERE, "redis_read.py"), redis.url, "py.direct"]);
      expect(r.stderr).toBe("");
      const out = JSON.parse(r.stdout);
      expect(out.entries.map((e: { entryId: string }) => e.entryId)).toEqual(ids);
      expect(out.entries[0].names).toEqual(["id", "opId", "type", "sender", "receiver", "tier", "expiresAt", "msg"]);
      expect(out.entries[0].fields).toEqual({ id: msgs[0].id, opId: msgs[0].opId, type: "task", sender: "planner", receiver: "coder", tier: "silver", expiresAt: "4000000000000" });
      expect(out.entries[1].names).toEqual(["id", "opId", "type", "sender", "receiver", "msg"]);
      for (let i = 0; i < msgs.length; i++) expect(out.entries[i].message).toEqual(JSON.parse(serialize(msgs[i])));
      expect(out.dedupeKeys.sort()).toEqual(msgs.map((m) => `ampbus:{py.direct}:op:${m.opId}`).sort());
    });
  });
});
