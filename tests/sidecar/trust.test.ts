// Trust enforced by a real ampd (--keyring, --require-sig, --min-tier,
// --require-snap-sha): every refusal with its code and nothing stored, auth
// proofs that cannot be replayed, and keyring reloads on SIGHUP that revoke.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AmpClient,
  AISPMessageBuilder,
  BusError,
  compressMessage,
  connect,
  createMessage,
  encode,
  newAgentKey,
  parseKeyFile,
  proveAuth,
  sign,
  type SigningKey,
} from "../../mod.ts";
import { Ampd, runAmpd } from "../_helpers/ampd.ts";
import { RawConn } from "../_helpers/raw_conn.ts";
import { refusal } from "../_helpers/refusal.ts";

interface Made {
  name: string;
  key: SigningKey;
  entry: Record<string, string>;
}

async function make(name: string, alg: "ed25519" | "hmac-sha256" = "ed25519"): Promise<Made> {
  const m = await newAgentKey({ agent: name, kid: `${name}-1`, alg });
  return { name, key: (await parseKeyFile(m.keyFile)).key, entry: m.keyringKey };
}

function keyringOf(agents: Made[], rules: Record<string, Record<string, unknown>>): string {
  const out: Record<string, unknown> = {};
  for (const a of agents) out[a.name] = { keys: [a.entry], ...rules[a.name] };
  return JSON.stringify({ agents: out }, null, 2);
}

const precise = () =>
  new AISPMessageBuilder().setSender("planner").setReceiver("coder")
    .setPreconditions(["∀f ∈ CodeFiles: compiled(f) = ⊤"]).setTask("validate ≜ λf.runTests(f)")
    .setPostconditions(["∀t ∈ Tests: passed(t) = ⊤"]);

describe("ampd --keyring --require-sig --min-tier --require-snap-sha", () => {
  let ampd: Ampd;
  let planner: Made, coder: Made, ops: Made;
  let bus: AmpClient, coderBus: AmpClient, opsBus: AmpClient;
  let keyringPath: string;
  let keyringDir: string;
  const rules = {
    planner: { publish: ["inbox.*", "tasks.>"], subscribe: ["tasks.>"] },
    coder: { publish: ["reply.*"] },
    ops: { subscribe: [">"], admin: true },
  };

  beforeAll(async () => {
    [planner, coder, ops] = await Promise.all([make("planner"), make("coder", "hmac-sha256"), make("ops")]);
    keyringDir = mkdtempSync(join(tmpdir(), "ampd-keyring-"));
    keyringPath = join(keyringDir, "keyring.json");
    writeFileSync(keyringPath, keyringOf([planner, coder, ops], rules));
    ampd = await Ampd.start({ args: ["--backend", "memory", "--keyring", keyringPath, "--require-sig", "--min-tier", "inbox.*=bronze", "--require-snap-sha", "tasks.audited"] });
    bus = await connect({ socket: ampd.socket, agent: "planner", key: planner.key, reconnect: false });
    coderBus = await connect({ socket: ampd.socket, agent: "coder", key: coder.key, reconnect: false });
    opsBus = await connect({ socket: ampd.socket, agent: "ops", key: ops.key, reconnect: false });
  }, 20_000);

  afterAll(async () => {
    await Promise.all([bus?.close(), coderBus?.close(), opsBus?.close()]);
    await ampd?.dispose();
    rmSync(keyringDir, { recursive: true, force: true });
  });

  test("names its policy in the log", () => {
    expect(ampd.stderr).toContain("3 agents, every connection authenticates; signatures required; least tiers inbox.*=bronze; snapSha required on tasks.audited");
  });

  async function stored(stream: string): Promise<number> {
    return (await opsBus.port.streamInfo(stream)).length;
  }

  test("a signed task from its own agent is stored; readers see the sig", async () => {
    const r = await bus.send(precise().build());
    expect(r.duplicate).toBe(false);
    const got = await coderBus.streamRead("inbox.coder");
    expect(got.map((d) => d.message.sig?.kid)).toEqual(["planner-1"]);
  });

  test("impersonation: FORBIDDEN naming both agents, nothing stored", async () => {
    const before = await stored("inbox.coder");
    const e = await refusal(bus.send(precise().setSender("coder").build()));
    expect(e.code).toBe("FORBIDDEN");
    expect(e.message).toContain('agent planner may not send as "coder"');
    expect(e.details).toMatchObject({ agent: "planner", sender: "coder", op: "add" });
    expect(await stored("inbox.coder")).toBe(before);
  });

  test("forged, tampered, unsigned, another agent's key, unknown kid: BAD_SIGNATURE, nothing stored", async () => {
    const before = await stored("inbox.coder");
    const msg = precise().build();
    const signed = await sign(msg, planner.key);
    const cases: [string, Uint8Array][] = [
      ["MISMATCH", encode({ ...signed, sig: { ...signed.sig!, value: crypto.getRandomValues(new Uint8Array(64)) } })],
      ["MISMATCH", encode({ ...signed, spec: { ...signed.spec!, task: "rm -rf ≜ λf.f" } })],
      ["UNSIGNED", encode(msg)],
      ["NOT_SENDERS_KEY", encode(await sign(msg, coder.key))],
      ["UNKNOWN_KEY", encode({ ...signed, sig: { ...signed.sig!, kid: "planner-9" } })],
      ["KEY_MISMATCH", encode({ ...signed, sig: { ...signed.sig!, alg: "hmac-sha256", value: new Uint8Array(32) } })],
    ];
    for (const [reason, bytes] of cases) {
      const e = await refusal(bus.port.add("inbox.coder", bytes));
      expect([e.code, e.details?.reason]).toEqual(["BAD_SIGNATURE", reason]);
    }
    expect(await stored("inbox.coder")).toBe(before);
  });

  test("a compressed signed message is verified over its uncompressed bytes", async () => {
    const big = createMessage({ type: "event", sender: "planner", receiver: "coder", payload: "trace line\n".repeat(400) });
    const packed = await compressMessage(await sign(big, planner.key));
    expect(packed.compressed).toBeDefined();
    expect((await bus.port.add("inbox.coder", encode(packed))).duplicate).toBe(false);
    const tampered = { ...packed, compressed: { ...packed.compressed!, data: packed.compressed!.data.slice() } };
    tampered.compressed.data[tampered.compressed.data.length - 2] ^= 0x55;
    expect((await refusal(bus.port.add("inbox.coder", encode(tampered)))).code).toMatch(/BAD_SIGNATURE|CORRUPT_COMPRESSED|INVALID_MESSAGE/);
  });

  test("a tier lie is TIER_MISMATCH with both tiers; a lower claim is stored; below the least tier is TIER_TOO_LOW", async () => {
    const before = await stored("inbox.coder");
    const lie = new AISPMessageBuilder().setSender("planner").setReceiver("coder").setTask("fix it").setTier("platinum").build();
    const e = await refusal(bus.send(lie));
    expect(e.code).toBe("TIER_MISMATCH");
    expect(e.details).toMatchObject({ claimed: "platinum", graded: "reject" });
    const low = await refusal(bus.send(new AISPMessageBuilder().setSender("planner").setReceiver("coder").setTask("fix it").build()));
    expect(low.code).toBe("TIER_TOO_LOW");
    expect(low.details).toMatchObject({ tier: "reject", minTier: "bronze", stream: "inbox.coder" });
    expect(await stored("inbox.coder")).toBe(before);
    expect((await bus.send(precise().setTier("bronze").build())).duplicate).toBe(false);
  });

  test("a stream that requires snapSha refuses a message without one", async () => {
    const e = await refusal(bus.streamAdd("tasks.audited", precise().build()));
    expect(e.code).toBe("INVALID_MESSAGE");
    expect(e.issues?.[0].path).toEqual(["snapSha"]);
    expect((await bus.streamAdd("tasks.audited", precise().setSnapSha("abc1234").build())).duplicate).toBe(false);
  });

  test("publishing, reading, consuming and trimming without permission: FORBIDDEN with op, stream and rule", async () => {
    const pub = await refusal(coderBus.streamAdd("tasks.build", createMessage({ type: "event", sender: "coder", receiver: "x" })));
    expect(pub.details).toMatchObject({ op: "add", stream: "tasks.build", agent: "coder", rule: "no allow rule matches (allowed: reply.*)" });
    const read = await refusal(coderBus.streamRead("tasks.audited"));
    expect(read.details).toMatchObject({ op: "read", stream: "tasks.audited", access: "subscribe" });
    expect((await refusal(coderBus.port.groupCreate({ stream: "tasks.audited", group: "g" }, "0"))).details?.op).toBe("group.create");
    const n = await stored("tasks.audited");
    const trim = await refusal(bus.port.trim("tasks.audited", { maxLen: 0, approximate: false }));
    expect(trim.details).toMatchObject({ op: "trim", rule: "not an admin agent" });
    expect(await stored("tasks.audited")).toBe(n);
    expect(await opsBus.port.trim("tasks.audited", { maxLen: 0, approximate: false })).toBe(n);
    // streams lists only what the agent may touch
    const names = (await (coderBus.port as unknown as { request(op: string, a: object): Promise<{ streams: string[] }> }).request("streams", {})).streams;
    expect(names).toEqual(["inbox.coder"]);
    expect((await (opsBus.port as unknown as { request(op: string, a: object): Promise<{ streams: string[] }> }).request("streams", {})).streams).toContain("tasks.audited");
  });

  test("before auth only ping is served; a captured proof replayed on a new connection fails and closes it", async () => {
    const a = await RawConn.open(ampd.socket);
    const hello = await a.call({ op: "hello", rid: 0, version: 1, client: "raw", agent: "planner" });
    const nonce = hello.nonce as Uint8Array;
    expect(nonce).toBeInstanceOf(Uint8Array);
    expect(nonce.length).toBe(32);
    const early = await a.call({ op: "streams", rid: 1 });
    expect((early.error as { code: string }).code).toBe("AUTH_REQUIRED");
    expect((await a.call({ op: "ping", rid: 2 })).ok).toBe(true);
    const proof = await proveAuth(planner.key, { agent: "planner", nonce });
    expect((await a.call({ op: "auth", rid: 3, kid: "planner-1", proof })).ok).toBe(true);

    const b = await RawConn.open(ampd.socket);
    const hello2 = await b.call({ op: "hello", rid: 0, version: 1, client: "replayer", agent: "planner" });
    expect(hello2.nonce).not.toEqual(nonce);
    const replay = await b.call({ op: "auth", rid: 1, kid: "planner-1", proof });
    expect((replay.error as { code: string }).code).toBe("AUTH_FAILED");
    await b.closed;
    expect(b.frames.every((f) => f.ok !== true || f.rid === 0)).toBe(true);

    // The right bytes, but signed by a key the keyring does not have for this agent.
    const c = await RawConn.open(ampd.socket);
    const h3 = await c.call({ op: "hello", rid: 0, version: 1, client: "x", agent: "planner" });
    const wrong = await proveAuth(coder.key, { agent: "planner", nonce: h3.nonce as Uint8Array });
    const refused = (await c.call({ op: "auth", rid: 1, kid: "coder-1", proof: wrong })).error as { message: string };
    // The same answer for an unknown agent, a kid of another agent and a bad proof; ampd's log says which.
    expect(refused.message).toBe('cannot authenticate as planner with key "coder-1": the keyring has no such agent or key of it, or the proof is not its signature of this connection\'s auth bytes');
    expect(((replay.error as { message: string }).message).replace("planner-1", "coder-1")).toBe(refused.message);
    await c.closed;
    // The first refusal from a peer is logged with its reason (later ones are counted, and logged every tenth).
    expect(ampd.stderr).toContain('the proof does not verify with key "planner-1" of planner; closing');
    a.close();
  });

  test("SIGHUP: a bad keyring is refused and the old one kept; removing an agent closes its connection and refuses the next", async () => {
    writeFileSync(keyringPath, '{\n  "agents": {\n    "planner": { "keys": [{ "kid": "p", "alg": "ed25519", "publicKey": "AAAA" }] }\n  }\n}\n');
    process.kill(ampd.pid, "SIGHUP");
    await waitFor(() => ampd.stderr.includes("refused, keeping the one loaded"));
    expect(ampd.stderr).toContain("line 3: agents.planner.keys[0].publicKey: an Ed25519 public key is 32 bytes (this is 3)");
    expect((await coderBus.streamRead("inbox.coder")).length).toBeGreaterThan(0); // still served

    const revoked = coderBus;
    writeFileSync(keyringPath, keyringOf([planner, ops], rules));
    process.kill(ampd.pid, "SIGHUP");
    await waitFor(() => ampd.stderr.includes("closed 1 connections"));
    const why = await revoked.port.closed();
    expect((why as BusError).code).toBe("AUTH_REVOKED");
    expect(why?.message).toContain("agent coder is no longer in the keyring");
    const again = await refusal(connect({ socket: ampd.socket, agent: "coder", key: coder.key, reconnect: false }));
    expect(again.code).toBe("AUTH_FAILED");
    // Other agents' connections went on.
    expect((await bus.send(precise().build())).duplicate).toBe(false);
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("ampd trust flags at start-up", () => {
  test("--require-sig without --keyring is a usage error", async () => {
    const r = await runAmpd(["--require-sig", "--backend", "memory"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--require-sig needs --keyring");
  });
  test("a bad keyring stops ampd with the line and field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ampd-keyring-"));
    writeFileSync(join(dir, "k.json"), '{"agents": {"a": {"keys": [{"kid": "a1", "alg": "ed25519", "publicKey": "AAAA"}], "publsh": []}}}');
    const r = await runAmpd(["--keyring", join(dir, "k.json"), "--backend", "memory", "--socket", join(dir, "s.sock")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("line 1: agents.a.publsh: is not an agent field");
    expect(r.stderr).toContain("agents.a.keys[0].publicKey: an Ed25519 public key is 32 bytes");
  });
  test("--min-tier with a bad item is a usage error naming it", async () => {
    const r = await runAmpd(["--min-tier", "inbox.*=diamond", "--backend", "memory"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"inbox.*=diamond"');
  });
});
