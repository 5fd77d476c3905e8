/**
 * The spec-syntax check: `validate(msg, { checkSpecSyntax: true })` (both of
 * its forms), the builder's `validate()`, `TrustPolicy`'s `checkSpecSyntax`
 * streams in process, and a real ampd started with `--spec-syntax`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  AISPMessageBuilder,
  type AmpClient,
  compressMessage,
  connect,
  createLocalBus,
  createMessage,
  encode,
  Keyring,
  specSyntaxIssues,
  TrustPolicy,
  validate,
  ValidationError,
} from "../../mod.ts";
import { isValidMessage } from "../../sdk/envelope/quick_check.ts";
import { validateWithSchema } from "../../sdk/envelope/schema.ts";
import { Ampd, runAmpd } from "../_helpers/ampd.ts";
import { refusal } from "../_helpers/refusal.ts";

const badSpec = () =>
  new AISPMessageBuilder().setSender("planner").setReceiver("coder")
    .setPreconditions(["∀f ∈ Files: compiled(f)", "∀ ∈ Files"])
    .setTask("λ.")
    .setPostconditions(["done(x)"]);

const goodSpec = () =>
  new AISPMessageBuilder().setSender("planner").setReceiver("coder")
    .setPreconditions(["∀f ∈ Files: compiled(f)"])
    .setTask("check ≜ λf.lint(f)")
    .setPostconditions(["∀t ∈ Tests: passed(t) = ⊤"]);

describe("validate with checkSpecSyntax", () => {
  test("each parse error is an issue at its statement's path, with line and column", () => {
    const msg = badSpec().build(); // without the policy, any text is a spec
    const r = validate(msg, { checkSpecSyntax: true });
    if (r.ok) throw new Error("should not validate");
    expect(r.issues).toEqual([
      { path: ["spec", "preconditions", 1], message: "spec.preconditions[1] does not parse at line 1, column 3: expected a bound variable after ∀, found ∈" },
      { path: ["spec", "task"], message: "spec.task does not parse at line 1, column 2: expected a parameter after λ, found ." },
    ]);
    expect(validate(msg).ok).toBe(true);
  });

  test("the quick check and the schema agree", () => {
    const msgs = [badSpec().build(), goodSpec().build(), createMessage({ type: "event", sender: "a", receiver: "b" })];
    for (const m of msgs) {
      const policy = { checkSpecSyntax: true };
      expect(isValidMessage(m, policy)).toBe(validateWithSchema(m, policy).ok);
    }
    expect(isValidMessage(goodSpec().build(), { checkSpecSyntax: true })).toBe(true);
  });

  test("the builder's validate() and build() show them beside the other issues", () => {
    const r = badSpec().setSender("").validate({ checkSpecSyntax: true });
    if (r.ok) throw new Error("should not validate");
    expect(r.issues.map((i) => i.path.join("."))).toEqual(["sender", "spec.preconditions.1", "spec.task"]);
    expect(() => badSpec().build({ checkSpecSyntax: true })).toThrow(ValidationError);
    expect(goodSpec().validate({ checkSpecSyntax: true }).ok).toBe(true);
  });

  test("blank conditions are not parse errors", () => {
    expect(specSyntaxIssues({ preconditions: ["", "  "], task: "t", postconditions: [] })).toEqual([]);
  });
});

describe("TrustPolicy checkSpecSyntax", () => {
  test("streams that check refuse a spec that does not parse; others store it", async () => {
    const policy = new TrustPolicy({ checkSpecSyntax: ["inbox.*"] });
    expect(policy.requirements("inbox.coder")).toEqual({ checkSpecSyntax: true });
    const msg = badSpec().build();
    let e: unknown;
    try {
      policy.checkSpec("inbox.coder", { msg, requirements: policy.requirements("inbox.coder") });
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).code).toBe("INVALID_MESSAGE");
    expect((e as ValidationError).issues.map((i) => i.path.join("."))).toEqual(["spec.preconditions.1", "spec.task"]);
    policy.checkSpec("events", { msg, requirements: policy.requirements("events") });
    // The keyring's stream rules can ask for it too; a wrong value is named.
    const keyring = Keyring.parse(JSON.stringify({ agents: {}, streams: { "tasks.>": { checkSpecSyntax: true } } }));
    expect(new TrustPolicy({ keyring }).requirements("tasks.build")).toEqual({ checkSpecSyntax: true });
    expect(() => Keyring.parse(JSON.stringify({ agents: {}, streams: { "tasks.>": { checkSpecSyntax: "yes" } } }))).toThrow("must be true or false");

    const bus = createLocalBus({ trust: policy });
    try {
      // In process the refusal is the ValidationError itself (through ampd, a BusError of the same code).
      const refused = await bus.send(msg).then(() => undefined, (x: ValidationError) => x);
      expect(refused?.code).toBe("INVALID_MESSAGE");
      await bus.send(goodSpec().build());
      await bus.streamAdd("events", msg);
    } finally {
      await bus.close();
    }
  });
});

describe("ampd --spec-syntax", () => {
  let ampd: Ampd;
  let bus: AmpClient;

  beforeAll(async () => {
    ampd = await Ampd.start({ args: ["--backend", "memory", "--spec-syntax", "inbox.*=reject", "--min-tier", "inbox.*=reject"] });
    bus = await connect({ socket: ampd.socket, name: "spec-syntax-test", reconnect: false });
  }, 60_000);

  afterAll(async () => {
    await bus?.close();
    await ampd?.dispose();
  });

  test("a spec that does not parse is INVALID_MESSAGE with each error's path, line and column; nothing is stored", async () => {
    const e = await refusal(bus.send(badSpec().build()));
    expect(e.code).toBe("INVALID_MESSAGE");
    expect(e.message).toContain("spec.preconditions[1] does not parse at line 1, column 3: expected a bound variable after ∀, found ∈");
    expect(e.message).toContain("spec.task does not parse at line 1, column 2");
    expect((await bus.streamInfo("inbox.coder")).length).toBe(0);
  });

  test("compressed, the spec is unpacked and checked too", async () => {
    const big = badSpec().setPayload("x".repeat(4000)).build();
    const packed = await compressMessage(big, { threshold: 1 });
    expect(packed.compressed).toBeDefined();
    expect((await refusal(bus.port.add("inbox.coder", encode(packed)))).code).toBe("INVALID_MESSAGE");
  });

  test("a spec that parses is stored; other streams take any spec", async () => {
    await bus.send(goodSpec().build());
    await bus.streamAdd("notes", badSpec().build());
    expect((await bus.streamInfo("inbox.coder")).length).toBe(1);
  });

  test("the policy is in the start-up log, and a bad value is exit 2 naming it", async () => {
    expect(ampd.stderr).toContain("spec syntax checked on inbox.*");
    const r = await runAmpd(["--backend", "memory", "--spec-syntax", "inbox.*=warn"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--spec-syntax: each item is PATTERN=reject, such as 'inbox.*=reject' (was "inbox.*=warn")`);
  });
});
