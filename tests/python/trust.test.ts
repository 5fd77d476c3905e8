/**
 * The Python client (clients/python) on an ampd with a keyring and
 * `--require-sig` (docs/security.md): Python agents authenticate with an
 * Ed25519 key and with an HMAC secret, and exchange signed tasks both ways
 * with a TypeScript agent; each side verifies the other's signatures. Then
 * what ampd refuses, each with its code, with nothing stored: a client
 * without a key, a key that is not the agent's, a message speaking for
 * another agent, an unsigned, a tampered and an over-claimed message, an
 * outsider reading or writing inboxes it has no rule for; and a keyring
 * reload that revokes a connected Python agent.
 *
 * Needs Debian's python3-msgpack and python3-cryptography for /usr/bin/python3
 * (scripts/ensure_system.mjs installs them). Skipped without them, except
 * under CI, where their absence fails.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ampd, ROOT } from "../_helpers/ampd.ts";
import {
  type AmpClient,
  type AISPMessage,
  connect,
  createMessage,
  decode,
  decompressMessage,
  fromBase64,
  importKey,
  Keyring,
  newAgentKey,
  parseKeyFile,
  type SignatureAlgorithm,
  sign,
  verify,
  type VerifyingKey,
} from "../../mod.ts";
import { deserialize } from "../../sdk/codec/json.ts";

const PYTHON = "/usr/bin/python3";
const PYTHONPATH = join(ROOT, "clients", "python");
const AGENT_PY = join(import.meta.dirname, "trust_agent.py");

const HAVE_PYTHON = spawnSync(PYTHON, ["-c", "import msgpack; from cryptography.hazmat.primitives.asymmetric import ed25519"], { stdio: "ignore" }).status === 0;
if (process.env.CI && !HAVE_PYTHON) {
  throw new Error(`${PYTHON} lacks msgpack or cryptography but CI is set: install python3-msgpack and python3-cryptography (npm test does, as root on Debian)`);
}
if (!HAVE_PYTHON) {
  console.log(`skipping the Python trust tests: ${PYTHON} lacks msgpack or cryptography (apt-get install python3-msgpack python3-cryptography; npm test does, as root on Debian)`);
}

interface PythonRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs trust_agent.py; `onLine` sees each stdout line as it comes. */
function runAgent(args: string[], o: { onLine?: (line: string) => void; timeoutMs?: number } = {}): Promise<PythonRun> {
  const child = spawn(PYTHON, [AGENT_PY, ...args], { cwd: PYTHONPATH, env: { ...process.env, PYTHONPATH, PYTHONDONTWRITEBYTECODE: "1" } });
  let stdout = "";
  let stderr = "";
  let seen = 0;
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    const lines = stdout.split("\n");
    for (; seen < lines.length - 1; seen++) o.onLine?.(lines[seen]);
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 30_000);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    })
  );
}

/** The one JSON line a mode prints (after any `ready`), once the script exited cleanly. */
function outputOf(r: PythonRun): Record<string, any> {
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

interface Agent {
  name: string;
  kid: string;
  alg: SignatureAlgorithm;
  keyFile: string;
  keyringKey: Record<string, string>;
}

const PY_AGENTS = ["py-ed", "py-hmac"] as const;

describe.skipIf(!HAVE_PYTHON)("keys made by Python", () => {
  test("are key files and keyring entries the TypeScript SDK reads, and sign as it signs", async () => {
    const made = outputOf(await runAgent(["newkeys"])) as unknown as { keyFile: string; entry: Record<string, string>; signed: unknown }[];
    expect(made.map((m) => m.entry.alg)).toEqual(["ed25519", "hmac-sha256"]);
    for (const m of made) {
      const { agent, key } = await parseKeyFile(m.keyFile);
      expect(agent).toBe("py-made");
      expect(key.kid).toBe(m.entry.kid);
      const ring = Keyring.from({ agents: { "py-made": { keys: [m.entry] } } });
      expect(ring.keyOf(m.entry.kid)?.agent).toBe("py-made");
      const raw = fromBase64(m.entry.alg === "ed25519" ? m.entry.publicKey : m.entry.secret)!;
      const verifying = await importKey({ alg: m.entry.alg as SignatureAlgorithm, kid: m.entry.kid, use: "verify", raw });
      const signed = deserialize(JSON.stringify(m.signed));
      expect(await verify(signed, [verifying])).toBe(true);
      // Ed25519 and HMAC are deterministic: the same key signs the same message into the same bytes.
      const { sig, ...unsigned } = signed;
      expect((await sign(unsigned, key)).sig).toEqual(sig!);
    }
  });
});

describe.skipIf(!HAVE_PYTHON)("Python agents on an ampd with a keyring and --require-sig", () => {
  let dir: string;
  let ampd: Ampd;
  let keyringPath: string;
  const agents: Record<string, Agent> = {};
  let keyring: { agents: Record<string, Record<string, unknown>> };

  const writeKeyring = (k: unknown) => {
    writeFileSync(keyringPath, JSON.stringify(k, null, 2));
    chmodSync(keyringPath, 0o600); // it holds HMAC secrets
  };

  async function connectAs(name: string): Promise<AmpClient> {
    const { agent, key } = await parseKeyFile(await Bun.file(agents[name].keyFile).text());
    return await connect({ socket: ampd.socket, agent, key, reconnect: false });
  }

  /** The agent's key as the keyring has it: the Ed25519 public key, or the HMAC secret. */
  async function keyringKeyOf(name: string): Promise<VerifyingKey> {
    const k = agents[name].keyringKey;
    const raw = fromBase64(k.alg === "ed25519" ? k.publicKey : k.secret)!;
    return await importKey({ alg: k.alg as SignatureAlgorithm, kid: k.kid, use: "verify", raw });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ampbus-py-trust-"));
    keyringPath = join(dir, "keyring.json");
    const made: [string, SignatureAlgorithm][] = [["ts-planner", "ed25519"], ["py-ed", "ed25519"], ["py-hmac", "hmac-sha256"], ["outsider", "ed25519"], ["ops", "ed25519"]];
    for (const [name, alg] of made) {
      const kid = `${name}-1`;
      const k = await newAgentKey({ agent: name, kid, alg });
      const keyFile = join(dir, `${name}.key`);
      writeFileSync(keyFile, k.keyFile, { mode: 0o600 });
      agents[name] = { name, kid, alg, keyFile, keyringKey: k.keyringKey };
    }
    const py = { publish: ["inbox.ts-planner", "reply.ts-planner", "scratch.>"] };
    keyring = {
      agents: {
        "ts-planner": { keys: [agents["ts-planner"].keyringKey], publish: PY_AGENTS.flatMap((p) => [`inbox.${p}`, `reply.${p}`]) },
        "py-ed": { keys: [agents["py-ed"].keyringKey], ...py },
        "py-hmac": { keys: [agents["py-hmac"].keyringKey], ...py },
        outsider: { keys: [agents.outsider.keyringKey] }, // a key, and no rule for anyone's inbox
        ops: { keys: [agents.ops.keyringKey], subscribe: [">"], admin: true }, // the test's eyes
      },
    };
    writeKeyring(keyring);
    ampd = await Ampd.start({ args: ["--backend", "memory", "--keyring", keyringPath, "--require-sig"] });
  });

  afterAll(async () => {
    await ampd?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Lengths of streams, as the admin agent sees them. */
  async function lengths(streams: string[]): Promise<Record<string, number>> {
    const ops = await connectAs("ops");
    try {
      const out: Record<string, number> = {};
      for (const s of streams) out[s] = (await ops.streamInfo(s)).length;
      return out;
    } finally {
      await ops.close();
    }
  }

  for (const py of PY_AGENTS) {
    test(`${py} and a TypeScript agent exchange signed tasks both ways, each verifying the other`, async () => {
      const bus = await connectAs("ts-planner");
      try {
        const pyKey = await keyringKeyOf(py);
        // ts-planner answers the Python agent's task, after checking its signature.
        const answering = (async () => {
          for await (const d of bus.listen("ts-planner", { broadcast: false })) {
            const verified = await verify(d.message, [pyKey]);
            const inflated = await decompressMessage(d.message);
            await bus.reply(d.message, { type: "result", sender: "ts-planner", payload: { size: (inflated.payload as { pad: string }).pad.length } });
            await d.ack();
            return { message: d.message, verified };
          }
          throw new Error("the inbox ended");
        })();
        const agent = runAgent(["agent", ampd.socket, agents[py].keyFile, keyringPath]);
        const task = createMessage({ type: "task", sender: "ts-planner", receiver: py, conversationId: `conv-${py}`, payload: { n: 41 } });
        const reply = await bus.request(task, { timeout: 15_000 });

        // What ampd stored: signed by the Python agent's key, and true under the keyring's key.
        const stored = decode(reply.bytes);
        expect(reply.stream).toBe("reply.ts-planner");
        expect(stored.sender).toBe(py);
        expect(stored.replyTo).toBe(task.id);
        expect(stored.payload).toEqual({ done: 42, by: py });
        expect(stored.sig?.kid).toBe(agents[py].kid);
        expect(stored.sig?.alg).toBe(agents[py].alg);
        expect(stored.sig?.value.length).toBe(agents[py].alg === "ed25519" ? 64 : 32);
        expect(await verify(stored, [pyKey])).toBe(true);
        expect(await verify({ ...stored, payload: { done: 43, by: py } } as AISPMessage, [pyKey])).toBe(false);
        const [again] = (await bus.streamRead({ "reply.ts-planner": "0" })).filter((d) => d.entryId === reply.entryId);
        expect(Buffer.from(again.bytes).equals(Buffer.from(reply.bytes))).toBe(true);

        // The task the other way: compressed and signed by Python, verified by TypeScript.
        const asked = await answering;
        expect(asked.verified).toBe(true);
        expect(asked.message.sender).toBe(py);
        expect(asked.message.sig?.kid).toBe(agents[py].kid);
        expect(asked.message.compressed).toBeDefined();
        expect(asked.message.conversationId).toBe(`conv-${py}`);

        const out = outputOf(await agent);
        expect(out.agent).toBe(py);
        expect(out.auth).toEqual({ agent: py, kid: agents[py].kid, admin: false, publish: ["inbox.ts-planner", "reply.ts-planner", "scratch.>"], subscribe: [] });
        expect(out.task.id).toBe(task.id);
        expect(out.task.sig.kid).toBe("ts-planner-1"); // the TypeScript client signed it
        expect(out.taskVerified).toBe(true); // ...and Python verified it with the keyring's public key
        expect(out.replyEntryId).toBe(reply.entryId);
        expect(out.reply.sig.value).toBe(Buffer.from(stored.sig!.value).toString("base64"));
        expect(out.ask.id).toBe(asked.message.id);
        expect(out.answer.replyTo).toBe(asked.message.id);
        expect(out.answer.payload).toEqual({ size: 4000 });
        expect(out.answer.sig.kid).toBe("ts-planner-1");
        expect(out.answerVerified).toBe(true);
      } finally {
        await bus.close();
      }
    }, 40_000);

    test(`what ampd refuses of ${py} reaches Python with its code and details, and nothing is stored`, async () => {
      const scratch = ["scratch.sender", "scratch.tampered", "scratch.tier", "scratch.unsigned", "scratch.ok"];
      const before = await lengths(scratch);
      expect(Object.values(before)).toEqual([0, 0, 0, 0, before["scratch.ok"]]);
      const out = outputOf(await runAgent(["refusals", ampd.socket, agents[py].keyFile, keyringPath]));

      // No key: an ampd with a keyring refuses a hello that names no agent (and closes)...
      expect(out.noKey.error).toMatchObject({ type: "ServerError", code: "AUTH_FAILED" });
      expect(out.noKey.error.text).toContain("key=ampbus.load_key");
      // ...and with an agent but no key, the client cannot answer the nonce.
      expect(out.noKeyWithAgent.error).toMatchObject({ type: "AuthRequiredError", code: "AUTH_REQUIRED" });
      expect(out.noKeyWithAgent.error.text).toContain("key=");
      // A key proves only its own agent.
      expect(out.otherAgent.error).toMatchObject({ type: "ServerError", code: "AUTH_FAILED" });
      expect(out.otherAgent.error.text).toContain(agents[py].kid);

      expect(out.sender.error).toMatchObject({ type: "ServerError", code: "FORBIDDEN", details: { op: "add", agent: py, sender: "ts-planner", stream: "scratch.sender" } });
      expect(out.tampered.error).toMatchObject({ type: "ServerError", code: "BAD_SIGNATURE", details: { reason: "MISMATCH" } });
      expect(out.tier.error).toMatchObject({ type: "ServerError", code: "TIER_MISMATCH", details: { claimed: "platinum", graded: "reject" } });
      expect(out.unsigned.error).toMatchObject({ type: "ServerError", code: "BAD_SIGNATURE", details: { reason: "UNSIGNED", stream: "scratch.unsigned" } });
      // The same connection goes on after each refusal, and a signed message of its own is taken.
      expect(typeof out.ok.ok).toBe("string");
      expect(typeof out.stillOpen.ok).toBe("number");

      expect(await lengths(scratch)).toEqual({ ...before, "scratch.ok": before["scratch.ok"] + 1 });
      const ops = await connectAs("ops");
      try {
        const [stored] = await ops.streamRead({ "scratch.ok": "0" }).then((ds) => ds.filter((d) => d.entryId === out.ok.ok));
        expect(stored.message.sender).toBe(py);
        expect(await verify(stored.message, [await keyringKeyOf(py)])).toBe(true);
      } finally {
        await ops.close();
      }
    }, 30_000);
  }

  test("an outsider with a key but no rule for their inboxes gets FORBIDDEN, and stores nothing", async () => {
    const inboxes = ["inbox.py-ed", "inbox.ts-planner"];
    const before = await lengths(inboxes);
    for (const victim of ["py-ed", "ts-planner"]) {
      const out = outputOf(await runAgent(["outsider", ampd.socket, agents.outsider.keyFile, victim]));
      const stream = `inbox.${victim}`;
      expect(out.read.error).toMatchObject({ type: "ServerError", code: "FORBIDDEN", details: { op: "read", stream, agent: "outsider", access: "subscribe" } });
      expect(typeof out.read.error.details.rule).toBe("string");
      expect(out.subscribe.error).toMatchObject({ code: "FORBIDDEN", details: { op: "subscribe", stream, agent: "outsider" } });
      expect(out.group.error).toMatchObject({ code: "FORBIDDEN", details: { op: "group.create", stream, agent: "outsider" } });
      expect(out.add.error).toMatchObject({ code: "FORBIDDEN", details: { op: "add", stream, agent: "outsider", access: "publish" } });
      expect(out.ownInbox).toEqual({ ok: 0 }); // its own inbox is its without a rule
    }
    expect(await lengths(inboxes)).toEqual(before);
  }, 30_000);

  // Last: it changes the keyring.
  test("a keyring reload that removes a connected Python agent closes it with AUTH_REVOKED", async () => {
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const run = runAgent(["revoke", ampd.socket, agents["py-hmac"].keyFile], { onLine: (l) => l === "ready" && ready() });
    await Promise.race([isReady, run.then((r) => Promise.reject(new Error(`the agent exited before it was ready: ${r.stderr}`)))]);
    const { "py-hmac": _gone, ...rest } = keyring.agents;
    writeKeyring({ agents: rest });
    process.kill(ampd.pid, "SIGHUP");
    const out = outputOf(await run);
    expect(out.error).toMatchObject({ type: "ClosedByServerError", code: "AUTH_REVOKED" });
    expect(out.connectionClosed).toBe(true); // a ServerError that is also a ConnectionClosedError
    expect(out.error.text).toContain("py-hmac");
    expect(out.after.error.code).toBe("AUTH_REVOKED"); // the connection stays closed, and says why
    // Gone from the keyring, the agent cannot come back; the others carry on.
    expect(outputOf(await runAgent(["connect", ampd.socket, agents["py-hmac"].keyFile])).error).toMatchObject({ type: "ServerError", code: "AUTH_FAILED" });
    expect(typeof outputOf(await runAgent(["connect", ampd.socket, agents["py-ed"].keyFile])).ok).toBe("number");
  }, 30_000);
});
