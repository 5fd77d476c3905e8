/**
 * The commands of the compiled binary as agents: `ampd keygen`, `--agent` /
 * `--key` (and $AMPD_AGENT / $AMPD_KEY) against an ampd with --keyring, and
 * `ampd dlq replay` through ampd's `dlq.replay` op (admin only).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ampd, buildAmpd } from "../_helpers/ampd.ts";
import { connect } from "../../sdk/client/connect.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import { decode, encode } from "../../sdk/codec/codec.ts";
import { serialize } from "../../sdk/codec/json.ts";
import type { SocketPort } from "../../sdk/client/socket_port.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";
import { parseKeyFile } from "../../sdk/trust/auth.ts";
import { Keyring } from "../../sdk/trust/keyring.ts";

const COMMANDS = ["pub", "tail", "stats", "groups", "pending", "dlq", "bench"];

/** Runs `ampd <args>`; resolves with code and output. $AMPD_AGENT / $AMPD_KEY are cleared unless given in `env`. */
async function run(args: string[], options: { socket?: string; input?: string; env?: Record<string, string>; cwd?: string } = {}) {
  const bin = await buildAmpd();
  const env = { ...process.env, AMPD_SOCKET: options.socket ?? "", AMPD_TOKEN: "", AMPD_AGENT: "", AMPD_KEY: "", ...options.env };
  const child = spawn(bin, args, { env, cwd: options.cwd });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(options.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const code = await new Promise<number | null>((r) => child.once("close", r));
  clearTimeout(timer);
  return { code, stdout, stderr, lines: stdout.split("\n").filter((l) => l !== "") };
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "ampd-keys-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("ampd keygen", () => {
  test("writes a key file of mode 600 that parses, and prints its keyring entry", async () => {
    const dir = tempDir();
    const out = join(dir, "planner.key");
    const r = await run(["keygen", "--agent", "planner", "--out", out]);
    expect(r.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const { agent, key } = await parseKeyFile(readFileSync(out, "utf8"));
    expect(agent).toBe("planner");
    expect(key.alg).toBe("ed25519");
    expect(key.kid).toMatch(/^planner-\d{8}-[0-9a-f]{4}$/);
    expect(r.stderr).toContain(out);
    // stdout is the entry alone: pasted into "agents", it is a keyring.
    const ring = Keyring.from({ agents: JSON.parse(`{${r.stdout}}`) });
    expect(ring.keyOf(key.kid)).toMatchObject({ agent: "planner", alg: "ed25519" });
    expect(r.stdout).not.toContain("privateKey");
  }, 30_000);

  test("--json, --kid and --alg hmac-sha256", async () => {
    const dir = tempDir();
    const out = join(dir, "tester.key");
    const r = await run(["keygen", "--agent", "tester", "--kid", "tester-1", "--alg", "hmac-sha256", "--out", out, "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.lines[0]);
    expect(Object.keys(j)).toEqual(["file", "agent", "kid", "alg", "entry"]);
    expect(j).toMatchObject({ file: out, agent: "tester", kid: "tester-1", alg: "hmac-sha256" });
    const ring = Keyring.from({ agents: j.entry });
    expect(ring.keyOf("tester-1")).toMatchObject({ agent: "tester", alg: "hmac-sha256" });
    const file = JSON.parse(readFileSync(out, "utf8"));
    expect(file).toEqual({ agent: "tester", kid: "tester-1", alg: "hmac-sha256", secret: j.entry.tester.keys[0].secret });
    expect(statSync(out).mode & 0o777).toBe(0o600);
  }, 30_000);

  test("refuses to overwrite a file (exit 2) unless --force, which leaves it mode 600", async () => {
    const dir = tempDir();
    const out = join(dir, "k.key");
    writeFileSync(out, "keep me\n");
    chmodSync(out, 0o644);
    const r = await run(["keygen", "--agent", "a", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${out} exists`);
    expect(r.stderr).toContain("--force");
    expect(readFileSync(out, "utf8")).toBe("keep me\n");
    const f = await run(["keygen", "--agent", "a", "--out", out, "--force", "--json"]);
    expect(f.code).toBe(0);
    expect((await parseKeyFile(readFileSync(out, "utf8"))).agent).toBe("a");
    expect(statSync(out).mode & 0o777).toBe(0o600);
  }, 30_000);

  test("usage mistakes are exit 2 naming the flag; an unwritable file is exit 1", async () => {
    const dir = tempDir();
    const cases: [string[], string][] = [
      [["keygen", "--out", join(dir, "x")], "--agent NAME is required"],
      [["keygen", "--agent", "a"], "--out FILE is required"],
      [["keygen", "--agent", "a b", "--out", join(dir, "x")], "--agent must be"],
      [["keygen", "--agent", "a", "--alg", "rsa", "--out", join(dir, "x")], "--alg must be one of ed25519, hmac-sha256"],
      [["keygen", "--agent", "a", "--kid", "k k", "--out", join(dir, "x")], "--kid must be"],
      [["keygen", "--agent", "a", "--out", join(dir, "x"), "--socket", "s"], "unknown flag --socket"],
    ];
    for (const [args, text] of cases) {
      const r = await run(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(text);
    }
    const r = await run(["keygen", "--agent", "a", "--out", join(dir, "no", "such", "x.key")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot write");
  }, 30_000);

  test("--help shows every flag with examples", async () => {
    const r = await run(["keygen", "--help"]);
    expect(r.code).toBe(0);
    for (const f of ["--agent", "--out", "--kid", "--alg", "--force", "--json"]) expect(r.stdout).toContain(f);
    expect(r.stdout).toContain("Examples:");
    expect(r.stdout).toContain("ampd keygen --agent planner --out planner.key");
    expect(r.stdout).toContain("Exit codes: 0 ok, 1 runtime failure");
    expect((await run(["--help"])).stdout).toContain("ampd keygen ");
  }, 30_000);

  for (const c of COMMANDS) {
    test(`ampd ${c} --help shows --agent and --key, with an example`, async () => {
      const r = await run([c, "--help"]);
      expect(r.stdout).toContain("--agent NAME");
      expect(r.stdout).toContain("--key FILE");
      expect(r.stdout).toMatch(/\n {2}(AMPD_KEY=\S+ ampd |ampd .*--key )/);
    }, 30_000);
  }
});

describe("commands as agents of an ampd with --keyring", () => {
  let ampd: Ampd;
  let dir: string;
  let keys: Record<string, string>;
  let planner: AmpClient;
  let worker: AmpClient;
  let ring: { agents: Record<string, { keys: unknown[] }> };
  /** The dead letter of a signed message, from the dlq test. */
  let signedLetter: string | undefined;

  beforeAll(async () => {
    dir = tempDir();
    keys = {};
    const agents: Record<string, unknown> = {};
    const rules: Record<string, object> = {
      planner: { publish: ["jobs", "notes"], subscribe: ["jobs"] },
      w: { subscribe: ["jobs", "notes"] }, // may read, may not publish
      ops: { publish: ["jobs.dlq"], subscribe: [">"], admin: true },
    };
    for (const [name, alg] of [["planner", "ed25519"], ["w", "hmac-sha256"], ["ops", "ed25519"]]) {
      keys[name] = join(dir, `${name}.key`);
      const r = await run(["keygen", "--agent", name, "--alg", alg, "--out", keys[name], "--json"]);
      expect(r.code).toBe(0);
      agents[name] = { ...JSON.parse(r.lines[0]).entry[name], ...rules[name] };
    }
    ring = { agents: agents as typeof ring.agents };
    writeFileSync(join(dir, "keyring.json"), JSON.stringify(ring, null, 2));
    ampd = await Ampd.start({ args: ["--keyring", join(dir, "keyring.json"), "--claim-timeout", "50ms", "--max-deliveries", "1"] });
    const as = async (name: string) => connect({ socket: ampd.socket, agent: name, key: (await parseKeyFile(readFileSync(keys[name], "utf8"))).key, reconnect: false });
    planner = await as("planner");
    worker = await as("w");
  }, 60_000);
  afterAll(async () => {
    await planner?.close();
    await worker?.close();
    await ampd?.dispose();
  }, 30_000);

  test("pub --key: the sender is the key's agent and the message is signed; tail --agent --key reads it", async () => {
    const p = await run(["pub", "notes", "--key", keys.planner, "--type", "note", "--receiver", "w", "--payload", '{"n":1}', "--json"], { socket: ampd.socket });
    expect(p.stderr).toBe("");
    expect(p.code).toBe(0);
    const pub = JSON.parse(p.lines[0]);
    const t = await run(["tail", "notes", "--agent", "w", "--key", keys.w, "--from", "0", "--count", "1", "--json"], { socket: ampd.socket });
    expect(t.code).toBe(0);
    const m = JSON.parse(t.lines[0]).message;
    expect(m).toMatchObject({ id: pub.id, type: "note", sender: "planner", receiver: "w", payload: { n: 1 } });
    expect(m.sig.kid).toMatch(/^planner-/);
    // From the environment, and JSON lines on stdin get the agent as sender.
    const e = await run(["pub", "notes", "--json"], { socket: ampd.socket, env: { AMPD_KEY: keys.planner }, input: JSON.stringify({ type: "note", receiver: "w" }) + "\n" });
    expect(e.stderr).toBe("");
    expect(e.code).toBe(0);
    const got = await worker.streamRead({ notes: pub.entryId }, { count: 1 });
    expect(got[0].message).toMatchObject({ id: JSON.parse(e.lines[0]).id, sender: "planner" });
    expect(got[0].message.sig).toBeDefined();
  }, 30_000);

  test("without --key, the error says to pass --agent and --key (exit 2)", async () => {
    for (const extra of [[], ["--agent", "planner"]]) {
      const r = await run(["pub", "notes", "--type", "note", "--receiver", "w", ...extra], { socket: ampd.socket });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("has a keyring: pass --agent NAME --key FILE");
    }
    const t = await run(["stats", "--json"], { socket: ampd.socket });
    expect(t.code).toBe(2);
    expect(t.stderr).toContain("--key");
  }, 30_000);

  test("a key of an agent that may not publish there is FORBIDDEN (exit 1)", async () => {
    const r = await run(["pub", "notes", "--key", keys.w, "--type", "note", "--receiver", "planner"], { socket: ampd.socket });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("FORBIDDEN");
    expect(r.stderr).toContain("agent w may not publish to notes");
    const s = await run(["pub", "notes", "--key", keys.planner, "--sender", "ops", "--type", "note", "--receiver", "w"], { socket: ampd.socket });
    expect(s.code).toBe(1);
    expect(s.stderr).toContain("FORBIDDEN");
  }, 30_000);

  test("a missing, unreadable or bad key file is exit 2 naming the file and the field", async () => {
    const bad = join(dir, "bad.key");
    writeFileSync(bad, JSON.stringify({ agent: "planner", kid: "k", alg: "ed25519", privateKey: "AAAA" }), { mode: 0o600 });
    const notJson = join(dir, "notjson.key");
    writeFileSync(notJson, "hello", { mode: 0o600 });
    const cases: [string[], Record<string, string>, string[]][] = [
      [["--key", join(dir, "nope.key")], {}, [`--key ${join(dir, "nope.key")}: cannot read the key file: no such file`]],
      [["--key", dir], {}, [`--key ${dir}: cannot read the key file`]],
      [["--key", bad], {}, [`--key ${bad}`, "privateKey"]],
      [["--key", notJson], {}, [`--key ${notJson}`, "JSON"]],
      [[], { AMPD_KEY: bad }, [`$AMPD_KEY ${bad}`, "privateKey"]],
      [["--key", keys.planner, "--agent", "a b"], {}, ["--agent must be"]],
    ];
    for (const [flags, env, texts] of cases) {
      const r = await run(["pub", "notes", "--type", "note", "--receiver", "w", ...flags], { socket: ampd.socket, env });
      expect({ flags, code: r.code }).toEqual({ flags, code: 2 });
      for (const t of texts) expect(r.stderr).toContain(t);
    }
  }, 30_000);

  test("a key that is not the agent's is refused by ampd (exit 1)", async () => {
    const r = await run(["pub", "notes", "--agent", "ops", "--key", keys.planner, "--type", "note", "--receiver", "w"], { socket: ampd.socket });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("refused agent ops");
    expect(r.stderr).toContain("AUTH_FAILED");
    expect(r.stderr).toContain("the key file is planner's");
  }, 30_000);

  test("dlq replay: an admin replays (via ampd), a non-admin is FORBIDDEN, a made-up dead letter is not replayed", async () => {
    const signed = createMessage({ type: "job", sender: "planner", receiver: "w", payload: { i: 0 } });
    const unsigned = createMessage({ type: "job", sender: "planner", receiver: "w", payload: { i: 1 } });
    await planner.streamAdd("jobs", signed); // the client signs it
    await planner.port.add("jobs", encode(unsigned)); // the port sends it as it is
    await worker.port.groupCreate({ stream: "jobs", group: "workers" }, "0");
    expect(await worker.port.groupRead({ stream: "jobs", group: "workers", consumer: "w1" }, { count: 10 })).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 120));
    // Both are stale past maxDeliveries 1: they move to jobs.dlq.
    expect(await worker.port.groupRead({ stream: "jobs", group: "workers", consumer: "w2" }, { count: 10 })).toHaveLength(0);

    const d = await run(["dlq", "jobs", "--json", "--key", keys.ops], { socket: ampd.socket });
    expect(d.code).toBe(0);
    const letters = d.lines.map((l) => JSON.parse(l));
    expect(letters.map((l) => l.message.id)).toEqual([signed.id, unsigned.id]);
    const [ls, lu] = letters;
    signedLetter = ls.dlqEntryId;

    for (const who of [keys.planner, keys.w]) {
      const r = await run(["dlq", "replay", "jobs", "--all", "--key", who], { socket: ampd.socket });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("FORBIDDEN");
      expect(r.stderr).toContain("dlq.replay");
    }
    expect((await worker.streamInfo("jobs")).length).toBe(2);

    const one = await run(["dlq", "replay", "jobs", "--id", lu.dlqEntryId, "--json", "--key", keys.ops], { socket: ampd.socket });
    expect(one.stderr).toBe("");
    expect(one.code).toBe(0);
    const replayed = JSON.parse(one.lines[0]);
    expect(Object.keys(replayed)).toEqual(["dlqEntryId", "stream", "entryId", "duplicate"]);
    expect(replayed).toMatchObject({ dlqEntryId: lu.dlqEntryId, stream: "jobs", duplicate: false });
    const back = await worker.port.groupRead({ stream: "jobs", group: "workers", consumer: "w3" }, { count: 10 });
    expect(back.map((e) => e[0])).toEqual([replayed.entryId]);
    const m = decode(back[0][1]);
    expect(m).toMatchObject({ id: unsigned.id, sender: "planner", opId: `replay:${lu.dlqEntryId}:${unsigned.opId}` });

    // --all: the signed one keeps its bytes (duplicate within the window), the unsigned one is stored once.
    const all = await run(["dlq", "replay", "jobs", "--all", "--key", keys.ops], { socket: ampd.socket });
    expect(all.code).toBe(0);
    expect(all.lines).toEqual([`${ls.dlqEntryId} -> jobs ${ls.entryId} duplicate`, `${lu.dlqEntryId} -> jobs ${replayed.entryId} duplicate`]);

    const missing = await run(["dlq", "replay", "jobs", "--id", `${lu.dlqEntryId},1-1`, "--key", keys.ops], { socket: ampd.socket });
    expect(missing.code).toBe(1); // not found
    expect(missing.stderr).toContain("no dead letter 1-1 in jobs.dlq");

    // A "dead letter" an agent added (even an admin) is not ampd's: it is not replayed as planner's.
    const forged = createMessage({
      type: "dead-letter",
      sender: "ops",
      receiver: "w",
      payload: { reason: "x", stream: "jobs", entryId: "1-0", group: "g", consumer: "c", deliveries: 9, message: encode(createMessage({ type: "job", sender: "planner", receiver: "w" })) },
    });
    const f = await run(["pub", "jobs.dlq", "--key", keys.ops], { socket: ampd.socket, input: serialize(forged) + "\n" });
    expect(f.code).toBe(0);
    const forgedId = f.lines[0].split(" ")[1];
    const r = await run(["dlq", "replay", "jobs", "--id", forgedId, "--key", keys.ops], { socket: ampd.socket });
    expect(r.code).toBe(1); // refused: not a dead letter of ampd's
    expect(r.stderr).toContain("not written by ampd");
    expect((await worker.streamInfo("jobs")).length).toBe(3);
  }, 30_000);

  test("dlq replay still checks the original's signature: after planner's key is replaced, its signed dead letter is BAD_SIGNATURE", async () => {
    expect(signedLetter).toBeDefined();
    const fresh = await run(["keygen", "--agent", "planner", "--kid", "planner-new", "--out", join(dir, "planner-new.key"), "--json"]);
    ring.agents.planner.keys = JSON.parse(fresh.lines[0]).entry.planner.keys;
    writeFileSync(join(dir, "keyring.json"), JSON.stringify(ring, null, 2));
    process.kill(ampd.pid, "SIGHUP");
    const t0 = Date.now();
    while (!ampd.stderr.includes("reloaded") && Date.now() - t0 < 5_000) await new Promise((r) => setTimeout(r, 20));
    const before = (await run(["stats", "--json", "--interval", "0", "--stream", "jobs", "--key", keys.ops], { socket: ampd.socket })).lines[0];
    const r = await run(["dlq", "replay", "jobs", "--id", signedLetter!, "--key", keys.ops], { socket: ampd.socket });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("BAD_SIGNATURE");
    expect(r.stderr).toContain(`dead letter ${signedLetter} of jobs`);
    expect(r.stderr).toContain("nothing was replayed");
    const after = (await run(["stats", "--json", "--interval", "0", "--stream", "jobs", "--key", keys.ops], { socket: ampd.socket })).lines[0];
    expect(JSON.parse(after).streams).toEqual(JSON.parse(before).streams);
  }, 30_000);
});

describe("dlq.replay without a keyring", () => {
  let ampd: Ampd;
  let bus: AmpClient;
  beforeAll(async () => {
    ampd = await Ampd.start({ args: ["--backend", "memory", "--claim-timeout", "50ms", "--max-deliveries", "1"] });
    bus = await connect({ socket: ampd.socket, name: "keys-test", reconnect: false });
  }, 30_000);
  afterAll(async () => {
    await bus?.close();
    await ampd?.dispose();
  }, 30_000);

  test("replays with --all --count, and names bad arguments", async () => {
    const msgs = [0, 1, 2].map((i) => createMessage({ type: "job", sender: "p", receiver: "w", payload: { i } }));
    for (const m of msgs) await bus.streamAdd("q", m);
    await bus.port.groupCreate({ stream: "q", group: "g" }, "0");
    await bus.port.groupRead({ stream: "q", group: "g", consumer: "c1" }, { count: 10 });
    await new Promise((r) => setTimeout(r, 120));
    await bus.port.groupRead({ stream: "q", group: "g", consumer: "c2" }, { count: 10 });
    const two = await run(["dlq", "replay", "q", "--all", "--count", "2", "--json"], { socket: ampd.socket });
    expect(two.code).toBe(0);
    expect(two.lines.map((l) => JSON.parse(l).duplicate)).toEqual([false, false]);
    const three = await run(["dlq", "replay", "q", "--all", "--json"], { socket: ampd.socket });
    expect(three.lines.map((l) => JSON.parse(l).duplicate)).toEqual([true, true, false]);
    expect((await bus.streamInfo("q")).length).toBe(6);

    const r = await run(["dlq", "replay", "q", "--id", "1-1", "--count", "3"], { socket: ampd.socket });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--count goes with --all");
    for (const [req, field] of [[{ stream: "q" }, "ids"], [{ stream: "q", all: true, ids: ["1-1"] }, "all"], [{ stream: "q", ids: ["x"] }, "ids"], [{ stream: "q", ids: ["1-1"], count: 2 }, "count"]] as const) {
      const e = await (bus.port as SocketPort).request("dlq.replay", { ...req }).then(() => undefined, (x) => x);
      expect({ req, code: e?.code, field: e?.details?.field }).toEqual({ req, code: "BAD_ARGUMENT", field });
    }
  }, 30_000);
});
