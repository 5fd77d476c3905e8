// The AISP parser and grader on the real runtime (Deno against mod.ts, Node
// against the npm build, see _shim.mjs): the parser plan's three examples,
// positions in UTF-16 units, the seed spec's grade, and the spec-syntax policy.
// Run: npm run test:deno, npm run test:node.
import assert from "node:assert/strict";
import { sdk, test } from "./_shim.mjs";

const { AISPGrader, AISPMessageBuilder, AISPParser, grade, validate } = sdk;
const parser = new AISPParser();

test("aisp: ∀f ∈ Files: hasError(f) ⇒ collect(f) parses to a quantified implication", () => {
  const r = parser.parseString("∀f ∈ Files: hasError(f) ⇒ collect(f)");
  assert.equal(r.success, true);
  const q = r.ast.body[0];
  assert.equal(q.type, "Quantifier");
  assert.deepEqual(q.variables.map((v) => v.name), ["f"]);
  assert.equal(q.relation, "∈");
  assert.equal(q.domain.name, "Files");
  assert.equal(q.body.operator, "⇒");
});

test("aisp: a ⟦TASK⟧ block with ≜, ∀ and a postcondition parses", () => {
  const r = parser.parseString("⟦TASK⟧{\n  fix ≜ λf.patch(f)\n  ∀f ∈ Failing: fix(f) ⇒ passes(f)\n  post: ∀t ∈ Tests: passed(t) = ⊤\n}");
  assert.equal(r.success, true);
  const block = r.ast.body[0];
  assert.equal(block.type, "Block");
  assert.equal(block.name, "TASK");
  assert.deepEqual(block.body.map((n) => n.type), ["Definition", "Quantifier", "Binary"]);
  assert.deepEqual(block.body[1].start, { line: 3, column: 3, offset: 30 });
});

test("aisp: ∀ ∈ Files is an error at column 3", () => {
  const r = parser.parseString("∀ ∈ Files");
  assert.equal(r.success, false);
  assert.deepEqual(r.errors, [{ message: "expected a bound variable after ∀, found ∈", line: 1, column: 3, offset: 2 }]);
});

test("aisp: positions count UTF-16 units; the seed spec grades platinum at 0.9342", () => {
  assert.deepEqual(parser.tokenize("𝔹 x").map((t) => t.start.column), [1, 4]);
  const g = grade({
    preconditions: ["∀f ∈ CodeFiles: compiled(f) = ⊤"],
    task: "validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8",
    postconditions: ["∀t ∈ Tests: passed(t) = ⊤"],
    evidence: { prover: "jest", method: "test-execution", confidence: 0.95 },
  });
  assert.equal(g.tier, "platinum");
  assert.equal(g.score, 0.9342);
  const unused = new AISPGrader().grade({ preconditions: ["∀f ∈ Files: ready"], task: "t ≜ 1", postconditions: [] });
  assert.ok(unused.suggestions.includes("precondition 1 quantifies over f but never uses it"));
});

test("aisp: validate with checkSpecSyntax names the statement, line and column", () => {
  const msg = new AISPMessageBuilder().setSender("a").setReceiver("b").setPreconditions(["∀ ∈ Files"]).setTask("t ≜ 1").build();
  const r = validate(msg, { checkSpecSyntax: true });
  assert.equal(r.ok, false);
  assert.deepEqual(r.issues, [{ path: ["spec", "preconditions", 0], message: "spec.preconditions[0] does not parse at line 1, column 3: expected a bound variable after ∀, found ∈" }]);
});
