import { describe, expect, test } from "bun:test";
import { AISPMessageBuilder, createMessage, grade, uuidv7Time, ValidationError } from "../../mod.ts";
import { seedMessage, thrown } from "./_fixtures.ts";

function seedBuilder(): AISPMessageBuilder {
  const s = seedMessage();
  return new AISPMessageBuilder()
    .setSender(s.sender)
    .setReceiver(s.receiver)
    .setPreconditions(s.spec!.preconditions)
    .setTask(s.spec!.task)
    .setPostconditions(s.spec!.postconditions)
    .setEvidence(s.spec!.evidence!);
}

describe("AISPMessageBuilder", () => {
  test("builds the seed example with graded tier and defaults", () => {
    const m = seedBuilder().build();
    expect(m.v).toBe(1);
    expect(m.type).toBe("task");
    expect(m.opId).toBe(m.id);
    expect(uuidv7Time(m.id)).toBeNumber();
    expect(Number.isSafeInteger(m.timestamp)).toBe(true);
    expect(m.tier).toBe("platinum");
    expect(m.spec).toEqual(seedMessage().spec!);
    expect(Object.keys(m).sort()).toEqual(["id", "opId", "receiver", "sender", "spec", "tier", "timestamp", "type", "v"]);
  });

  test("fixed id and timestamp reproduce the seed example exactly", () => {
    const m = seedBuilder().setId("msg-001").setTimestamp(1706745600000).build();
    expect(m).toEqual(seedMessage());
  });

  test("build() returns a frozen envelope, spec, conditions and evidence; the payload stays the caller's", () => {
    const payload = { files: ["a.ts"] };
    const m = seedBuilder().setPayload(payload).build();
    expect(Object.isFrozen(m)).toBe(true);
    expect(Object.isFrozen(m.spec)).toBe(true);
    expect(Object.isFrozen(m.spec!.preconditions)).toBe(true);
    expect(Object.isFrozen(m.spec!.postconditions)).toBe(true);
    expect(Object.isFrozen(m.spec!.evidence)).toBe(true);
    expect(m.payload).toBe(payload);
    expect(Object.isFrozen(payload)).toBe(false);
    expect(() => {
      (m as { sender: string }).sender = "mallory";
    }).toThrow(TypeError);
    expect(m.sender).toBe("coder-agent");
  });

  test("conditions and evidence are copied: later edits by the caller do not leak in", () => {
    const pre = ["∀x ∈ X: p(x)"];
    const ev = { prover: "jest", method: "test-execution" as const, confidence: 0.9 };
    const b = new AISPMessageBuilder().setSender("a").setReceiver("b").setPreconditions(pre).setTask("t ≜ 1").setEvidence(ev);
    pre.push("extra");
    ev.confidence = 0.1;
    const m = b.build();
    expect(m.spec!.preconditions).toEqual(["∀x ∈ X: p(x)"]);
    expect(m.spec!.evidence!.confidence).toBe(0.9);
    expect(Object.isFrozen(pre)).toBe(false);
  });

  test("validate() and build() list every missing field at once", () => {
    const r = new AISPMessageBuilder().validate();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path.join(".")).sort()).toEqual(["receiver", "sender", "spec.task"]);
    const e = thrown(() => new AISPMessageBuilder().build()) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.issues.map((i) => i.path.join(".")).sort()).toEqual(["receiver", "sender", "spec.task"]);
    expect(e.message).toContain("3 problems");
  });

  test("wrong values are listed alongside missing ones", () => {
    const r = new AISPMessageBuilder()
      .setSender("x".repeat(129))
      .setReceiver("")
      .setTask("")
      .setSnapSha("NOTHEX")
      .setExpiresAt(-5)
      .setEvidence({ prover: "p", method: "vibes" as never, confidence: 2 })
      .validate();
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues.map((i) => i.path.join(".")).sort()).toEqual([
        "expiresAt",
        "receiver",
        "sender",
        "snapSha",
        "spec.evidence.confidence",
        "spec.evidence.method",
        "spec.task",
        "tier", // an ungradable spec gets no tier
      ]);
    }
  });

  test("setTier overrides the graded tier", () => {
    expect(seedBuilder().setTier("bronze").build().tier).toBe("bronze");
    const plain = new AISPMessageBuilder().setSender("a").setReceiver("b").setTask("run the tests").build();
    expect(plain.tier).toBe(grade(plain.spec!).tier);
    expect(plain.tier).toBe("reject");
  });

  test("every optional setter lands in the envelope", () => {
    const m = seedBuilder()
      .setType("task.review")
      .setOpId("op-7")
      .setId("id-7")
      .setTimestamp(5)
      .setPayload({ n: 1 })
      .setSnapSha("0123456789abcdef")
      .setConversationId("conv-1")
      .setReplyTo("id-6")
      .setExpiresAt(10)
      .setTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
      .setReceiver("broadcast")
      .build();
    expect(m).toMatchObject({
      type: "task.review",
      opId: "op-7",
      id: "id-7",
      timestamp: 5,
      payload: { n: 1 },
      snapSha: "0123456789abcdef",
      conversationId: "conv-1",
      replyTo: "id-6",
      expiresAt: 10,
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      receiver: "broadcast",
    });
  });

  test("missing conditions default to empty lists", () => {
    const m = new AISPMessageBuilder().setSender("a").setReceiver("b").setTask("x ≜ 1").build();
    expect(m.spec).toEqual({ preconditions: [], task: "x ≜ 1", postconditions: [] });
  });

  test("policy is applied by validate() and build()", () => {
    const e = thrown(() => seedBuilder().build({ requireSig: true, requireSnapSha: true })) as ValidationError;
    expect(e.issues.map((i) => i.path[0]).sort()).toEqual(["sig", "snapSha"]);
  });

  test("validate({ checkSpecSyntax: true }) shows each statement that does not parse, with line and column", () => {
    expect(seedBuilder().validate({ checkSpecSyntax: true }).ok).toBe(true);
    const r = seedBuilder().setPostconditions(["∀t ∈ Tests: passed(t) = ⊤", "∀t ∈ (Tests"]).validate({ checkSpecSyntax: true });
    if (r.ok) throw new Error("should not validate");
    expect(r.issues).toEqual([{
      path: ["spec", "postconditions", 1],
      message: "spec.postconditions[1] does not parse at line 1, column 12: expected ) to close the ( at line 1, column 6, found the end",
    }]);
    // Without the policy the same spec builds (any text is a spec), graded lower for the broken condition.
    const lenient = seedBuilder().setPostconditions(["∀t ∈ Tests: passed(t) = ⊤", "∀t ∈ (Tests"]).build();
    expect(lenient.tier).toBe("platinum");
  });

  test("two builds give two ids", () => {
    const b = seedBuilder();
    expect(b.build().id).not.toBe(b.build().id);
  });
});

describe("createMessage", () => {
  test("an event without a spec gets v, id, opId and timestamp", () => {
    const m = createMessage({ type: "obs.tick", sender: "planner", receiver: "broadcast", payload: { n: 1 } });
    expect(m).toMatchObject({ v: 1, type: "obs.tick", sender: "planner", receiver: "broadcast", payload: { n: 1 } });
    expect(m.opId).toBe(m.id);
    expect(uuidv7Time(m.id)).toBeNumber();
    expect(m.spec).toBeUndefined();
    expect(m.tier).toBeUndefined();
    expect(Object.isFrozen(m)).toBe(true);
  });

  test("given id, opId and timestamp are kept", () => {
    const m = createMessage({ id: "i", opId: "o", timestamp: 3, type: "t", sender: "s", receiver: "r" });
    expect([m.id, m.opId, m.timestamp]).toEqual(["i", "o", 3]);
  });

  test("a spec is graded and copied, so the caller's objects are not frozen", () => {
    const spec = structuredClone(seedMessage().spec!);
    const m = createMessage({ type: "task", sender: "s", receiver: "r", spec });
    expect(m.tier).toBe("platinum");
    expect(Object.isFrozen(m.spec)).toBe(true);
    expect(Object.isFrozen(spec)).toBe(false);
    expect(Object.isFrozen(spec.preconditions)).toBe(false);
    expect(Object.isFrozen(spec.evidence)).toBe(false);
    expect(createMessage({ type: "task", sender: "s", receiver: "r", spec, tier: "silver" }).tier).toBe("silver");
  });

  test("bad input is refused with every issue", () => {
    const e = thrown(() => createMessage({ type: "", sender: 5, receiver: "r", bogus: 1 } as never)) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.issues.map((i) => i.path[0]).sort()).toEqual(["bogus", "sender", "type"]);
    const e2 = thrown(() => createMessage({ type: "t", sender: "s", receiver: "r", spec: { task: 7 } } as never)) as ValidationError;
    expect(e2.issues.map((i) => i.path.join(".")).sort()).toEqual([
      "spec.postconditions",
      "spec.preconditions",
      "spec.task",
      "tier",
    ]);
  });
});
