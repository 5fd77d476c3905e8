// One agent of the end-to-end ring test (tests/sidecar/e2e.test.ts), written
// once in plain JavaScript so that Deno, Bun and Node run the same logic; the
// caller passes in the ampbus module it loaded (mod.ts, or dist/mod.js on Node).
//
// The starter sends `count` tasks to `next`; a relay answers each message it
// receives with a result to `next` (replyTo, same conversationId), sending the
// answer twice to check idempotency. Every agent stops after `count` messages
// and prints one line: `AGENT_SUMMARY {json}`.

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Payload values as JSON: byte strings become {hex}. */
function plain(v) {
  if (v instanceof Uint8Array) return { hex: hex(v) };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

// Each runtime answers with a different kind of evidence, so the tiers differ along the ring.
const EVIDENCE = {
  starter: { prover: "z3", method: "formal-verification", confidence: 0.97 },
  deno: { prover: "deno-test", method: "test-execution", confidence: 0.8 },
  node: { prover: "eslint", method: "static-analysis", confidence: 0.3 },
  bun: { prover: "bun-test", method: "test-execution", confidence: 0.6 },
};

/**
 * @param {any} ampbus the ampbus module
 * @param {{socket: string, name: string, next: string, role: "starter"|"relay", count: number, run: string, runtimeKey: string}} o
 */
export async function runAgent(ampbus, o) {
  // Progress on stderr: when the test times out, it shows where each agent was.
  const log = (what) => console.error(`${new Date().toISOString().slice(11, 23)} ${o.name}: ${what}`);
  const bus = await ampbus.connect({ socket: o.socket, name: o.name });
  log("connected");
  const summary = {
    agent: o.name,
    runtime: ampbus.runtime,
    backend: bus.port.hello.backend,
    sent: [],
    received: [],
    duplicates: 0,
  };
  // From "0": messages sent before this agent started are not missed.
  const inbox = bus.streamIter(ampbus.inboxOf(o.name), { from: "0", window: 8 });
  const evidence = o.role === "starter" ? EVIDENCE.starter : EVIDENCE[o.runtimeKey];
  log(`following ${ampbus.inboxOf(o.name)} after ${await inbox.ready}`);

  if (o.role === "starter") {
    for (let i = 0; i < o.count; i++) {
      const msg = new ampbus.AISPMessageBuilder()
        .setSender(o.name)
        .setReceiver(o.next)
        .setConversationId(`${o.run}-conv-${i}`)
        .setPreconditions([`∀f ∈ Files${i}: compiled(f) = ⊤`])
        .setTask(`validate${i} ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8`)
        .setPostconditions(["∀t ∈ Tests: passed(t) = ⊤"])
        .setEvidence(evidence)
        .setPayload({ i, text: "λ∀≥ 😀 naïve", bytes: new Uint8Array([0, 1, 2, 255]), f: 0.25, big: 2 ** 40, neg: -7 })
        .build();
      const r = await bus.send(msg);
      summary.sent.push({ id: msg.id, tier: msg.tier, entryId: r.entryId, conversationId: msg.conversationId });
      log(`sent task ${i} as ${r.entryId}`);
    }
  }

  for await (const d of inbox) {
    const m = d.message;
    log(`received ${d.entryId} from ${m.sender}`);
    summary.received.push({
      id: m.id,
      stream: d.stream,
      entryId: d.entryId,
      type: m.type,
      sender: m.sender,
      receiver: m.receiver,
      tier: m.tier,
      replyTo: m.replyTo,
      conversationId: m.conversationId,
      task: m.spec?.task,
      payload: plain(m.payload),
    });
    if (o.role === "relay") {
      const p = m.payload ?? {};
      const reply = new ampbus.AISPMessageBuilder()
        .setType("result")
        .setSender(o.name)
        .setReceiver(o.next)
        .setReplyTo(m.id)
        .setConversationId(m.conversationId)
        .setPreconditions([`done(${m.id})`])
        .setTask(`${m.spec.task} ⇒ checked by ${o.name}`)
        .setPostconditions(["answered = ⊤"])
        .setEvidence(evidence)
        .setPayload({ orig: p.orig ?? p, chain: [...(p.chain ?? []), m.id], hops: [...(p.hops ?? []), summary.runtime] })
        .build();
      const first = await bus.send(reply);
      const again = await bus.send(reply); // a retry: same opId, nothing new stored
      if (again.duplicate && again.entryId === first.entryId && !first.duplicate) summary.duplicates++;
      summary.sent.push({ id: reply.id, tier: reply.tier, entryId: first.entryId, replyTo: m.id, conversationId: reply.conversationId });
      log(`answered as ${first.entryId}`);
    }
    if (summary.received.length >= o.count) break; // ends the subscription
  }

  summary.inboxLength = (await bus.streamInfo(ampbus.inboxOf(o.name))).length;
  await bus.close();
  console.log(`AGENT_SUMMARY ${JSON.stringify(summary)}`);
}
