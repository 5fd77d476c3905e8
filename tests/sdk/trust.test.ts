// The trust policy in the SDK: keyring files (every problem with its line),
// stream patterns, permissions, and the same refusals as ampd from the
// in-process bus (createLocalBus with a keyring).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  AgentGrant,
  AISPMessageBuilder,
  authBytes,
  type AmpClient,
  BusError,
  compressMessage,
  createLocalBus,
  createMessage,
  encode,
  Keyring,
  KeyringError,
  MemoryBackend,
  newAgentKey,
  parseKeyFile,
  sign,
  type SigningKey,
  StreamPattern,
  TrustPolicy,
  verifyWithKey,
} from "../../mod.ts";
import { refusal } from "../_helpers/refusal.ts";

function keyringError(text: string): KeyringError {
  try {
    Keyring.parse(text);
  } catch (e) {
    if (e instanceof KeyringError) return e;
    throw e;
  }
  throw new Error("the keyring should have been refused");
}

describe("stream patterns", () => {
  const cases: [string, string, boolean][] = [
    ["inbox.*", "inbox.tester", true],
    ["inbox.*", "inbox", false],
    ["inbox.*", "inbox.a.b", false],
    ["inbox.*", "inbox.", false],
    ["tasks.>", "tasks", false],
    ["tasks.>", "tasks.a", true],
    ["tasks.>", "tasks.a.b.c", true],
    [">", "anything.at.all", true],
    ["*.dlq", "tasks.dlq", true],
    ["*.dlq", "tasks.x.dlq", false],
    ["tasks", "tasks", true],
    ["tasks", "tasks2", false],
  ];
  for (const [p, s, want] of cases) {
    test(`${p} ${want ? "matches" : "does not match"} ${JSON.stringify(s)}`, () => {
      expect(StreamPattern.parse(p).matches(s)).toBe(want);
    });
  }
  test("bad patterns are refused with the reason", () => {
    expect(() => StreamPattern.parse("a..b")).toThrow(/empty token/);
    expect(() => StreamPattern.parse(">.a")).toThrow(/last token/);
    expect(() => StreamPattern.parse("ta*sks")).toThrow(/stand alone/);
    expect(() => StreamPattern.parse("")).toThrow(/1 to 256/);
  });
});

describe("keyring files", () => {
  test("the example in docs/security.md is a good keyring", () => {
    const doc = readFileSync(join(import.meta.dir, "../../docs/security.md"), "utf8");
    const json = /```json\n([\s\S]*?)```/.exec(doc)![1];
    const ring = Keyring.parse(json);
    expect([...ring.agents.keys()]).toEqual(["planner", "tester", "ops"]);
    expect(ring.keyOf("tester-hmac")?.agent).toBe("tester");
    expect(ring.agents.get("ops")?.admin).toBe(true);
    expect(ring.streams.map((r) => r.pattern.source)).toEqual(["tasks.>", "inbox.*"]);
  });

  test("not JSON: the line and column", () => {
    const e = keyringError('{\n  "agents": {\n    "a": { "keys": [] },\n  }\n}');
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0].line).toBe(4);
    expect(e.message).toMatch(/line 4: \(message\): not JSON: column 3: expected a key/);
  });

  test("every wrong field is reported with its line", () => {
    const text = [
      "{",
      '  "agents": {',
      '    "planner": {',
      '      "keys": [{ "kid": "p1", "alg": "ed25519", "publicKey": "AAAA" }],',
      '      "publish": ["tasks..x"],',
      '      "admin": "yes"',
      "    },",
      '    "tester": { "keys": [{ "kid": "p1", "alg": "hmac-sha256", "secret": "c2VjcmV0LXNoYXJlZC13aXRoLWFtcGQtb25seSE=" }], "colour": 1 }',
      "  },",
      '  "streams": { "inbox.*": { "minTier": "diamond" } }',
      "}",
    ].join("\n");
    const e = keyringError(text);
    const got = e.issues.map((i) => [i.line, i.path.join("/")]);
    expect(got).toContainEqual([4, "agents/planner/keys/0/publicKey"]);
    expect(got).toContainEqual([5, "agents/planner/publish/0"]);
    expect(got).toContainEqual([6, "agents/planner/admin"]);
    expect(got).toContainEqual([8, "agents/tester/colour"]);
    expect(got).toContainEqual([10, "streams/inbox.*/minTier"]);
    expect(e.message).toContain("an Ed25519 public key is 32 bytes (this is 3)");
  });

  test("a kid names one key in the whole keyring; a key appears twice is refused", async () => {
    const a = await newAgentKey({ agent: "a", kid: "shared" });
    const b = await newAgentKey({ agent: "b", kid: "shared", alg: "hmac-sha256" });
    const e = keyringError(JSON.stringify({ agents: { a: { keys: [a.keyringKey] }, b: { keys: [b.keyringKey] } } }, null, 2));
    expect(e.message).toContain('kid "shared" is already a key of "a"');
    expect(keyringError('{"agents": {"a": {"keys": []}, "a": {"keys": []}}}').message).toContain('key "a" appears twice');
  });

  test("__proto__ is an ordinary name, not a way into Object.prototype", async () => {
    const k = await newAgentKey({ agent: "__proto__", kid: "p" });
    const ring = Keyring.parse(`{"agents": {"__proto__": {"keys": [${JSON.stringify(k.keyringKey)}]}}}`);
    expect(ring.agents.get("__proto__")?.keys[0].kid).toBe("p");
    expect(({} as Record<string, unknown>).keys).toBeUndefined();
  });
});

describe("permissions", () => {
  const ring = Keyring.from({
    agents: {
      coder: {
        keys: [{ kid: "c1", alg: "hmac-sha256", secret: "c2VjcmV0LXNoYXJlZC13aXRoLWFtcGQtb25seSE=" }],
        publish: { allow: ["inbox.*", "tasks.>"], deny: ["inbox.ops"] },
        subscribe: { allow: ["tasks.>"], deny: ["reply.coder"] },
      },
    },
  });

  test("own inbox and reply stream by default, deny wins over allow and defaults", () => {
    const g = new AgentGrant(ring.agents.get("coder")!, "c1");
    expect(g.decide("subscribe", "inbox.coder")).toEqual({ allowed: true, rule: "own inbox" });
    expect(g.decide("subscribe", "broadcast").allowed).toBe(true);
    expect(g.decide("subscribe", "reply.coder")).toEqual({ allowed: false, rule: 'deny "reply.coder"' });
    expect(g.decide("publish", "inbox.tester")).toEqual({ allowed: true, rule: 'allow "inbox.*"' });
    expect(g.decide("publish", "inbox.ops")).toEqual({ allowed: false, rule: 'deny "inbox.ops"' });
    expect(g.decide("publish", "results").allowed).toBe(false);
    expect(g.decide("publish", "tasks.dlq")).toEqual({ allowed: false, rule: "dead-letter streams are written by ampd" });
    expect(g.decide("admin", "")).toEqual({ allowed: false, rule: "not an admin agent" });
    expect(() => g.check("trim", "admin", "tasks")).toThrow(/agent coder may not use trim \(an admin operation\) on tasks: not an admin agent/);
  });
});

describe("tiers", () => {
  const policy = new TrustPolicy({ minTier: [["inbox.*", "silver"]] });
  const check = (stream: string, msg: ReturnType<typeof createMessage>) => policy.checkSpec(stream, { msg, requirements: policy.requirements(stream) });
  const code = (f: () => void) => {
    try {
      f();
      return "ok";
    } catch (e) {
      return (e as BusError).code;
    }
  };
  const precise = new AISPMessageBuilder().setSender("a").setReceiver("b")
    .setPreconditions(["∀f ∈ CodeFiles: compiled(f) = ⊤"]).setTask("validate ≜ λf.runTests(f)").setPostconditions(["∀t ∈ Tests: passed(t) = ⊤"]);

  test("a claim better than the grade is TIER_MISMATCH with both; a lower claim passes", () => {
    const vague = new AISPMessageBuilder().setSender("a").setReceiver("b").setTask("do it").setTier("platinum").build();
    try {
      check("tasks", vague);
      throw new Error("should be refused");
    } catch (e) {
      expect((e as BusError).code).toBe("TIER_MISMATCH");
      expect((e as BusError).details).toEqual({ stream: "tasks", claimed: "platinum", graded: "reject" });
    }
    const m = precise.build();
    expect(code(() => check("tasks", m))).toBe("ok");
    expect(code(() => check("tasks", { ...m, tier: "bronze" }))).toBe("ok");
  });

  test("a tier without a spec grades reject", () => {
    expect(code(() => check("tasks", createMessage({ type: "event", sender: "a", receiver: "b", tier: "gold" })))).toBe("TIER_MISMATCH");
    expect(code(() => check("tasks", createMessage({ type: "event", sender: "a", receiver: "b", tier: "reject" })))).toBe("ok");
  });

  test("a stream's least tier: below it, and tasks without a spec, are TIER_TOO_LOW; other types pass", () => {
    const m = precise.build();
    expect(code(() => check("inbox.b", m))).toBe("ok");
    expect(code(() => check("inbox.b", { ...m, tier: "bronze" }))).toBe("TIER_TOO_LOW");
    expect(code(() => check("inbox.b", createMessage({ type: "task", sender: "a", receiver: "b" })))).toBe("TIER_TOO_LOW");
    expect(code(() => check("inbox.b", createMessage({ type: "result", sender: "a", receiver: "b" })))).toBe("ok");
    expect(code(() => check("elsewhere", { ...m, tier: "bronze" }))).toBe("ok");
  });

  test("the strictest matching rule wins", () => {
    const p = new TrustPolicy({ minTier: [["inbox.*", "bronze"], [">", "gold"]], requireSnapSha: ["inbox.b"] });
    expect(p.requirements("inbox.b")).toEqual({ minTier: "gold", requireSnapSha: true });
    expect(p.requirements("x")).toEqual({ minTier: "gold" });
  });

  test("requiring signatures without a keyring is refused at once", () => {
    expect(() => new TrustPolicy({ requireSig: [">"] })).toThrow(/needs a keyring/);
  });
});

interface Agent {
  name: string;
  key: SigningKey;
}

async function team(alg: "ed25519" | "hmac-sha256" = "ed25519") {
  const made = await Promise.all(["planner", "tester", "ops"].map((agent) => newAgentKey({ agent, kid: `${agent}-1`, alg })));
  const keyring = Keyring.from({
    agents: {
      planner: { keys: [made[0].keyringKey], publish: ["inbox.*", "tasks.>"], subscribe: ["tasks.>"] },
      tester: { keys: [made[1].keyringKey], publish: ["reply.*"] },
      ops: { keys: [made[2].keyringKey], subscribe: [">"], admin: true },
    },
  });
  const agents: Agent[] = [];
  for (const m of made) {
    const { agent, key } = await parseKeyFile(m.keyFile);
    agents.push({ name: agent, key });
  }
  return { keyring, agents };
}

describe("createLocalBus with a keyring: the same rules as ampd", () => {
  for (const alg of ["ed25519", "hmac-sha256"] as const) {
    test(`${alg}: impersonation, forged and tampered signatures, unknown kid: refused, nothing stored`, async () => {
      const { keyring, agents } = await team(alg);
      const [planner, tester] = agents;
      const backend = new MemoryBackend();
      const trust = { keyring, requireSig: [">"] };
      const bus = createLocalBus({ backend, trust, agent: planner.name, key: planner.key });
      const raw = createLocalBus({ backend, trust, agent: planner.name, key: planner.key });
      const task = createMessage({ type: "event", sender: "planner", receiver: "tester", payload: { n: 1 } });
      expect((await bus.send(task)).duplicate).toBe(false); // signed by the client

      const stored = await createLocalBus({ backend, trust, agent: tester.name, key: tester.key }).streamRead("inbox.tester");
      expect(stored).toHaveLength(1);
      expect(stored[0].message.sig?.kid).toBe("planner-1");

      const asTester = createMessage({ type: "event", sender: "tester", receiver: "tester" });
      const e1 = await refusal(bus.send(asTester));
      expect(e1.code).toBe("FORBIDDEN");
      expect(e1.message).toContain('agent planner may not send as "tester"');

      // Signed with tester's key but sent as planner: the kid is not the sender's.
      const e2 = await refusal(raw.port.add("inbox.tester", encode(await sign({ ...task, opId: "o2", id: "i2" }, tester.key))));
      expect(e2.code).toBe("BAD_SIGNATURE");
      expect(e2.details?.reason).toBe("NOT_SENDERS_KEY");

      const signed = await sign({ ...task, id: "i3", opId: "o3" }, planner.key);
      const tampered = await refusal(raw.port.add("inbox.tester", encode({ ...signed, payload: { n: 2 } })));
      expect(tampered.code).toBe("BAD_SIGNATURE");
      expect(tampered.details?.reason).toBe("MISMATCH");
      const forged = await refusal(raw.port.add("inbox.tester", encode({ ...signed, sig: { ...signed.sig!, value: crypto.getRandomValues(new Uint8Array(signed.sig!.value.length)) } })));
      expect(forged.details?.reason).toBe("MISMATCH");
      const unknown = await refusal(raw.port.add("inbox.tester", encode({ ...signed, sig: { ...signed.sig!, kid: "nobody" } })));
      expect(unknown.details?.reason).toBe("UNKNOWN_KEY");
      const unsigned = await refusal(raw.port.add("inbox.tester", encode({ ...task, id: "i4", opId: "o4" })));
      expect(unsigned.details?.reason).toBe("UNSIGNED");

      expect((await backend.info("inbox.tester")).length).toBe(1);
      await bus.close();
      await raw.close();
      await backend.close();
    });
  }

  test("a compressed, signed message is unpacked to grade and verify", async () => {
    const { keyring, agents } = await team();
    const [planner] = agents;
    const bus = createLocalBus({ trust: { keyring, requireSig: [">"] }, agent: planner.name, key: planner.key });
    const big = createMessage({ type: "event", sender: "planner", receiver: "tester", payload: "log line\n".repeat(500) });
    const packed = await compressMessage(await sign(big, planner.key));
    expect(packed.compressed).toBeDefined();
    expect((await bus.streamAdd("inbox.tester", packed)).duplicate).toBe(false);
    const lie = await compressMessage(await sign({ ...big, id: "x", opId: "x", tier: "gold" }, planner.key));
    expect((await refusal(bus.streamAdd("inbox.tester", lie))).code).toBe("TIER_MISMATCH");
    await bus.close();
  });

  test("permissions: read, subscribe, groups and trim", async () => {
    const { keyring, agents } = await team();
    const [planner, tester, ops] = agents;
    const backend = new MemoryBackend();
    const as = (a: Agent) => createLocalBus({ backend, trust: { keyring }, agent: a.name, key: a.key });
    const p = as(planner);
    const t = as(tester);
    const o = as(ops);
    await p.streamAdd("tasks.build", createMessage({ type: "event", sender: "planner", receiver: "tester" }));
    const read = await refusal(t.streamRead("tasks.build"));
    expect(read.code).toBe("FORBIDDEN");
    expect(read.details).toMatchObject({ op: "read", stream: "tasks.build", agent: "tester", access: "subscribe" });
    expect((await refusal(t.port.groupCreate({ stream: "tasks.build", group: "g" }, "0"))).code).toBe("FORBIDDEN");
    expect((await refusal(p.port.trim("tasks.build", { maxLen: 0, approximate: false }))).details?.rule).toBe("not an admin agent");
    expect((await refusal(t.streamAdd("tasks.build", createMessage({ type: "event", sender: "tester", receiver: "x" })))).details?.rule).toBe("no allow rule matches (allowed: reply.*)");
    expect(await p.streamRead("tasks.build")).toHaveLength(1);
    expect(await o.port.trim("tasks.build", { maxLen: 0, approximate: false })).toBe(1);
    await Promise.all([p.close(), t.close(), o.close()]);
    await backend.close();
  });

  test("no key, or a key the keyring does not have: AUTH_REQUIRED, AUTH_FAILED", async () => {
    const { keyring, agents } = await team();
    const stranger = await parseKeyFile((await newAgentKey({ agent: "planner", kid: "planner-1" })).keyFile);
    expect((await refusal(createLocalBus({ trust: { keyring } }).streamRead("inbox.x"))).code).toBe("AUTH_REQUIRED");
    expect((await refusal(createLocalBus({ trust: { keyring }, agent: "planner", key: stranger.key }).streamRead("inbox.planner"))).code).toBe("AUTH_FAILED");
    expect((await refusal(createLocalBus({ trust: { keyring }, agent: "tester", key: agents[0].key }).streamRead("inbox.tester"))).code).toBe("AUTH_FAILED");
  });

  test("signed adds keep their order", async () => {
    const { keyring, agents } = await team();
    const [planner] = agents;
    const bus: AmpClient = createLocalBus({ trust: { keyring }, agent: planner.name, key: planner.key });
    const sends = [];
    for (let i = 0; i < 50; i++) {
      const m = createMessage({ type: "event", sender: "planner", receiver: "planner", payload: i });
      // Every third one signed ahead of time: the rest are signed by the client, which takes longer.
      sends.push(bus.send(i % 3 === 0 ? await sign(m, planner.key) : m));
    }
    await Promise.all(sends);
    const got = await bus.streamRead("inbox.planner", { count: 100 });
    expect(got.map((d) => d.message.payload)).toEqual([...Array(50).keys()]);
    await bus.close();
  });
});

test("auth bytes verify with the keyring's key", async () => {
  const { keyring, agents } = await team("hmac-sha256");
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  const data = authBytes({ agent: "planner", kid: "planner-1", nonce });
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "HMAC" }, agents[0].key.key, data as BufferSource));
  expect(await verifyWithKey(keyring.keyOf("planner-1")!, data, sig)).toBe(true);
  sig[0] ^= 1;
  expect(await verifyWithKey(keyring.keyOf("planner-1")!, data, sig)).toBe(false);
});

test("the hello + auth hex in docs/protocol.md holds: the proof is the HMAC of the auth bytes shown", async () => {
  const doc = readFileSync(join(import.meta.dir, "../../docs/protocol.md"), "utf8");
  const section = doc.slice(doc.indexOf("### hello and auth on an ampd with a keyring"));
  const blocks = [...section.matchAll(/```\n([\s\S]*?)```/g)].map((m) =>
    Uint8Array.from(m[1].trim().split("\n").flatMap((line) => line.slice(6, 6 + 47).trim().split(/\s+/).map((h) => parseInt(h, 16))))
  );
  const [hello, helloReply, auth, authRequest] = blocks;
  const { decodeValue, importKey } = await import("../../mod.ts");
  expect(decodeValue(hello.subarray(4))).toMatchObject({ op: "hello", agent: "planner" });
  const nonce = (decodeValue(helloReply.subarray(4)) as { nonce: Uint8Array }).nonce;
  expect(Array.from(auth)).toEqual(Array.from(authBytes({ agent: "planner", kid: "planner-1", nonce })));
  const req = decodeValue(authRequest.subarray(4)) as { op: string; kid: string; proof: Uint8Array };
  expect(req).toMatchObject({ op: "auth", kid: "planner-1" });
  const key = await importKey({ alg: "hmac-sha256", kid: "planner-1", use: "sign", raw: new Uint8Array(32).fill(1) });
  const mac = new Uint8Array(await crypto.subtle.sign({ name: "HMAC" }, key.key, auth as BufferSource));
  expect(req.proof).toEqual(mac);
});

test("the agent name ampd is reserved: it is the sender of the dead letters ampd writes", async () => {
  const k = await newAgentKey({ agent: "ampd", kid: "a1" });
  expect(() => Keyring.from({ agents: { ampd: { keys: [k.keyringKey], admin: true } } })).toThrow(/ampd is the sender of the dead letters/);
});
