import { describe, expect, test } from "bun:test";
import { assertValid, type Issue, validate, ValidationError } from "../../mod.ts";
import { minimal, seedMessage, thrown } from "./_fixtures.ts";

function issuesOf(value: unknown): Issue[] {
  const r = validate(value);
  if (r.ok) throw new Error("expected validation to fail");
  return r.issues;
}
const paths = (issues: Issue[]) => issues.map((i) => i.path.join("."));

describe("validate", () => {
  test("accepts the seed example and a minimal envelope, returning the same object", () => {
    const m = seedMessage();
    const r = validate(m);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value).toBe(m);
    expect(validate(minimal()).ok).toBe(true);
    expect(validate(minimal({ receiver: "broadcast" })).ok).toBe(true);
  });

  test("non-objects are refused with a sentence naming what was given", () => {
    expect(issuesOf(null)[0].message).toContain("null");
    expect(issuesOf([])[0].message).toContain("array");
    expect(issuesOf("x")[0].message).toContain("string");
    expect(issuesOf(undefined)[0].path).toEqual([]);
  });

  test("every issue is reported at once, each with its path", () => {
    const issues = issuesOf({
      v: 1,
      id: "",
      opId: 5,
      type: "x".repeat(65),
      sender: null,
      receiver: "r",
      timestamp: -1,
      extra: 1,
      spec: { preconditions: [1], task: "", postconditions: "x" },
    });
    expect(paths(issues).sort()).toEqual([
      "extra",
      "id",
      "opId",
      "sender",
      "spec.postconditions",
      "spec.preconditions.0",
      "spec.task",
      "tier",
      "timestamp",
      "type",
    ]);
    for (const i of issues) expect(i.message.length).toBeGreaterThan(5);
    expect(issues.find((i) => i.path[0] === "extra")!.message).toContain("not a known field");
    expect(issues.find((i) => i.path[0] === "opId")!.message).toContain("number");
  });

  test("missing required fields are each listed", () => {
    expect(paths(issuesOf({})).sort()).toEqual(["id", "opId", "receiver", "sender", "timestamp", "type", "v"]);
  });

  test("string lengths: 128 ok, 129 refused, for every 128-limited field", () => {
    for (const f of ["id", "opId", "sender", "receiver", "conversationId", "replyTo"] as const) {
      expect(validate(minimal({ [f]: "x".repeat(128) })).ok).toBe(true);
      expect(paths(issuesOf(minimal({ [f]: "x".repeat(129) })))).toEqual([f]);
      expect(paths(issuesOf(minimal({ [f]: "" })))).toEqual([f]);
    }
    expect(validate(minimal({ type: "t".repeat(64) })).ok).toBe(true);
    expect(paths(issuesOf(minimal({ type: "t".repeat(65) })))).toEqual(["type"]);
    expect(paths(issuesOf(minimal({ id: "x".repeat(100_000) })))).toEqual(["id"]);
  });

  test("timestamps and expiresAt must be non-negative safe integers", () => {
    for (const bad of [1.5, -1, 2 ** 53, Number.NaN, Infinity, "1"]) {
      expect(paths(issuesOf(minimal({ timestamp: bad as number })))).toEqual(["timestamp"]);
      expect(paths(issuesOf(minimal({ expiresAt: bad as number })))).toEqual(["expiresAt"]);
    }
    expect(validate(minimal({ timestamp: 0, expiresAt: Number.MAX_SAFE_INTEGER })).ok).toBe(true);
  });

  test("v must be exactly 1", () => {
    for (const v of [0, 2, "1", 1.5, null]) expect(paths(issuesOf(minimal({ v: v as 1 })))).toEqual(["v"]);
  });

  test("snapSha: 7..64 lowercase hex", () => {
    expect(validate(minimal({ snapSha: "abcdef0" })).ok).toBe(true);
    expect(validate(minimal({ snapSha: "a".repeat(64) })).ok).toBe(true);
    for (const bad of ["abcdef", "a".repeat(65), "ABCDEF0", "abcdefg", " abcdef0"]) {
      expect(paths(issuesOf(minimal({ snapSha: bad })))).toEqual(["snapSha"]);
    }
  });

  test("traceparent must be W3C shaped", () => {
    expect(validate(minimal({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" })).ok).toBe(true);
    for (const bad of ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331", "x", "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"]) {
      expect(paths(issuesOf(minimal({ traceparent: bad })))).toEqual(["traceparent"]);
    }
  });

  test("tier is required with spec, and must be a known tier", () => {
    const { tier: _t, ...noTier } = seedMessage();
    expect(paths(issuesOf(noTier))).toEqual(["tier"]);
    expect(paths(issuesOf({ ...seedMessage(), tier: "diamond" }))).toEqual(["tier"]);
    expect(validate(minimal({ tier: "gold" })).ok).toBe(true); // tier without spec is allowed
  });

  test("evidence: method, confidence range, unknown keys", () => {
    const m = seedMessage();
    const issues = issuesOf({
      ...m,
      spec: { ...m.spec!, evidence: { prover: "", method: "vibes", confidence: 1.5, extra: true } },
    });
    expect(paths(issues).sort()).toEqual([
      "spec.evidence.confidence",
      "spec.evidence.extra",
      "spec.evidence.method",
      "spec.evidence.prover",
    ]);
    for (const c of [0, 1, 0.5]) {
      expect(validate({ ...m, spec: { ...m.spec!, evidence: { prover: "p", method: "static-analysis", confidence: c } } }).ok)
        .toBe(true);
    }
  });

  test("unknown fields are rejected at every level", () => {
    expect(paths(issuesOf({ ...minimal(), sendr: "typo" }))).toEqual(["sendr"]);
    const m = seedMessage();
    expect(paths(issuesOf({ ...m, spec: { ...m.spec!, taks: "x" } }))).toEqual(["spec.taks"]);
    expect(paths(issuesOf(minimal({ sig: { alg: "ed25519", kid: "k", value: new Uint8Array(64), x: 1 } as never }))))
      .toEqual(["sig.x"]);
    expect(paths(issuesOf(minimal({ compressed: { alg: "gzip", size: 1, data: new Uint8Array(1), y: 2 } as never }))))
      .toEqual(["compressed.y"]);
  });

  test("a __proto__ own key (as JSON.parse makes) is an unknown field, and nothing is polluted", () => {
    const parsed = JSON.parse(`{"v":1,"id":"a","opId":"a","type":"t","sender":"s","receiver":"r","timestamp":1,"__proto__":{"polluted":1}}`);
    expect(paths(issuesOf(parsed))).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("compressed and sig shapes", () => {
    expect(validate(minimal({ compressed: { alg: "deflate-raw", size: 3, data: new Uint8Array(3) } })).ok).toBe(true);
    expect(paths(issuesOf(minimal({ compressed: { alg: "brotli", size: -1, data: "AAA=" } as never }))).sort())
      .toEqual(["compressed.alg", "compressed.data", "compressed.size"]);
    expect(paths(issuesOf(minimal({ sig: { alg: "rsa", kid: "", value: [1, 2] } as never }))).sort())
      .toEqual(["sig.alg", "sig.kid", "sig.value"]);
  });

  test("spec and payload must be absent when compressed is present", () => {
    const m = seedMessage();
    const issues = issuesOf({ ...m, payload: 1, compressed: { alg: "deflate-raw", size: 1, data: new Uint8Array(1) } });
    expect(paths(issues).sort()).toEqual(["payload", "spec"]);
  });

  test("policy can require snapSha and sig, reported together", () => {
    const r = validate(minimal(), { requireSnapSha: true, requireSig: true });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(paths(r.issues).sort()).toEqual(["sig", "snapSha"]);
    expect(validate(minimal({ snapSha: "0123abc" }), { requireSnapSha: true }).ok).toBe(true);
  });

  test("payload accepts any value", () => {
    for (const p of [null, 0, "x", [1, { a: new Uint8Array(2) }], { deep: { er: [true] } }]) {
      expect(validate(minimal({ payload: p })).ok).toBe(true);
    }
  });
});

describe("validate with hostile objects", () => {
  test("getters and proxies that throw become issues at their path, never exceptions", () => {
    const boom = () => {
      throw new Error("boom");
    };
    const cases: [unknown, (string | number)[]][] = [
      [{ ...minimal(), get id(): never { return boom(); } }, ["id"]],
      [{ ...seedMessage(), spec: { ...seedMessage().spec!, get task(): never { return boom(); } } }, ["spec", "task"]],
      [{ ...seedMessage(), spec: { ...seedMessage().spec!, preconditions: new Proxy([], { get: boom }) } }, ["spec", "preconditions"]],
      [new Proxy(minimal(), { get: boom }), ["v"]],
      [new Proxy(minimal(), { ownKeys: boom }), []],
      [new Proxy(minimal(), { getPrototypeOf: boom, has: boom, ownKeys: boom, get: boom, getOwnPropertyDescriptor: boom }), []],
    ];
    const revocable = Proxy.revocable(minimal(), {});
    revocable.revoke();
    cases.push([revocable.proxy, []]);
    for (const [value, path] of cases) {
      let r: ReturnType<typeof validate> | undefined;
      expect(() => (r = validate(value))).not.toThrow();
      expect(r!.ok).toBe(false);
      if (r!.ok) continue;
      expect(r!.issues).toHaveLength(1);
      expect(r!.issues[0].message).toContain("threw");
      if (path.length > 0) expect(r!.issues[0].path).toEqual(path);
    }
    expect(thrown(() => assertValid({ ...minimal(), get sender(): never { return boom(); } }))).toBeInstanceOf(ValidationError);
  });

  test("a thrown value that cannot even be printed is still an issue", () => {
    const unprintable = { toString: () => { throw new Error("no"); } };
    const r = validate({ ...minimal(), get id(): never { throw unprintable; } });
    expect(r.ok).toBe(false);
  });
});

describe("assertValid", () => {
  test("returns the message or throws ValidationError with every issue", () => {
    const m = minimal();
    expect(assertValid(m)).toBe(m);
    const e = thrown(() => assertValid({ v: 1 })) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.code).toBe("INVALID_MESSAGE");
    expect(e.issues.length).toBe(6);
    expect(e.message).toContain("6 problems");
  });
});
