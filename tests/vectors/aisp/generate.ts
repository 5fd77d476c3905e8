/**
 * Writes tests/vectors/aisp/vectors.json: the golden vectors of the AISP
 * tokenizer, parser and grader, which the TypeScript tests
 * (tests/sdk/aisp_vectors.test.ts) and the Python client's tests
 * (clients/python/tests/test_aisp.py) both check, so that both languages cut
 * the same tokens, report the same errors and give the same grades.
 *
 *     bun tests/vectors/aisp/generate.ts
 *
 * The inputs: hand-written statements and specs, the reference validator's
 * sample documents, and seeded random and mutated ones.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AISP_SYMBOL_TABLE, AISPGrader, AISPParser, type GradableSpec, type Token } from "../../../mod.ts";
import { prng } from "../../_helpers/prng.ts";

const HERE = import.meta.dirname!;
const parser = new AISPParser();
const grader = new AISPGrader();

const STATEMENTS = [
  "∀f ∈ Files: hasError(f) ⇒ collect(f)",
  "∀ ∈ Files",
  "∀x ∈ : (",
  "λ.",
  "((∧))",
  "validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8",
  "⟦TASK⟧{\n  fix ≜ λf.patch(f)\n  ∀f ∈ Failing: fix(f) ⇒ passes(f)\n  post: ∀t ∈ Tests: passed(t) = ⊤\n}",
  "∀f ∈ CodeFiles: compiled(f) = ⊤",
  "∀t ∈ Tests: passed(t) = ⊤",
  "run the unit tests of parser.ts",
  "Run the tests. Then report!",
  "a := b ::= c => d <=> e -> f |- g <-> h |-> i != j <= k >= l && m || n === o !== p <- q",
  "𝔹 ≜ x\n  ∃!y",
  "𝔸5.1.demo@2026-01-15 ;; a comment\nV_H x' 0.02 1.0.0 \"a \\\" b\" ¾",
  "fλx δℕ ℝ⁷⁶⁸ ◊⁺⁺ ◊⁺ ◊⁻ ◊ ⊘",
  "∀x:ℕ:x≥0",
  "∀D:Ambig(D)<0.02",
  "∃e ∈ Board ∧ ¬won",
  "∀a, b ∈ A ∪ B: a ≠ b",
  "∃!s ⊆ S: |s| = 1",
  "{x ∈ S | p(x)} ⊆ S",
  "nextPlayer≜λp.if p=X then O else X",
  "move≜λ(g,p).⟨board≔g.board[p←g.turn],turn≔next(g.turn)⟩",
  "⟦Ε⟧⟨δ≜0.82;φ≜100;τ≜◊⁺⁺;⊢valid;∎⟩",
  "a ≜ 1; b ≜ 2\nc ∧\n  d",
  "f(x",
  "x ≜\n\n",
  "p\n∀x ∈ S:",
  "a ⟦ b",
  "x @ y",
  'say "hi',
  "λ(a b).a",
  "∀ ∈ X\nok ≜ 1\nλ.",
  "(".repeat(41) + "x" + ")".repeat(41),
  "(".repeat(39) + "x" + ")".repeat(39),
  "¬".repeat(60) + "x",
  "a ∧ b ∨ c",
  "(a ∧ b) ∨ c",
  "∀x ∈ S: ∀x ∈ T: p(x)",
  "δ≜λτ⃗.|{t∈τ⃗|t.k∈𝔄}|÷|{t∈τ⃗|t.k≢ws}| · 2",
  "∂:𝕊→List⟨τ⟩",
  "V_H≜ℝ⁷⁶⁸:semantic",
  "{ ) }",
  "⟦E⟧⟨δ≜1⟩",
  "😀 ∀x",
  "\ud835 x \udd39",
  "\t\u00a0\u3000\ufeff x\r\n y",
  "□ ◇ p ⇒ □q",
  "∑x ∏y ∫z - -1 + 2 * 3 / 4 ^ 5",
  "⟦" + "x".repeat(70) + "⟧",
  "⟦TASK⟧\n{ a }",
  "",
  "   ",
  "λ().⟨⟩",
  "[1, 2,\n 3]",
];

const SPECS: [string, GradableSpec][] = [
  ["seed", { preconditions: ["∀f ∈ CodeFiles: compiled(f) = ⊤"], task: "validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8", postconditions: ["∀t ∈ Tests: passed(t) = ⊤"], evidence: { method: "test-execution", confidence: 0.95 } }],
  ["seed without evidence", { preconditions: ["∀f ∈ CodeFiles: compiled(f) = ⊤"], task: "validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8", postconditions: ["∀t ∈ Tests: passed(t) = ⊤"] }],
  ["prose", { preconditions: ["the code compiles"], task: "run all the tests", postconditions: ["all tests pass"] }],
  ["prose, formal proof", { preconditions: ["the code compiles"], task: "run all the tests", postconditions: ["all tests pass"], evidence: { method: "formal-verification", confidence: 1 } }],
  ["empty", { preconditions: [], task: "t", postconditions: [] }],
  ["blanks", { preconditions: ["   ", "\u3000"], task: "run", postconditions: [""] }],
  ["unused and undomained", { preconditions: ["∀x p(x)", "∃y ∈ S ∧ ∀z q(z)"], task: "t", postconditions: ["∀w ∈ W: r(v)"], evidence: { method: "static-analysis", confidence: 0.5 } }],
  ["parse errors", { preconditions: ["∀x ∈ : (", "∀ ∈ Files"], task: "λ.", postconditions: ["((∧))"] }],
  ["ambiguities", { preconditions: ["a ∧ b ∨ c", "(a ∧ b) ∨ c", "∀x ∈ S: ∀x ∈ T: p(x)"], task: "t ≜ 1", postconditions: [] }],
  ["document task", { preconditions: [], task: "⟦Ω:Meta⟧{ ∀D∈AISP:Ambig(D)<0.02 }\n⟦Σ:Types⟧{ T≜ℕ }\n⟦Γ:Rules⟧{ ∀x:T:x≥0 }\n⟦Λ:Funcs⟧{ f≜λx.x }\n⟦Ε⟧⟨δ≜0.75;τ≜◊⁺⁺⟩", postconditions: [] }],
  ["latin E", { preconditions: [], task: "⟦E⟧⟨δ≜1⟩", postconditions: [] }],
  ["odd evidence", { preconditions: ["∀x ∈ S: p(x)"], task: "t ≜ 1", postconditions: [], evidence: { method: "__proto__", confidence: 2 } }],
  ["nan evidence", { preconditions: ["∀x ∈ S: p(x)"], task: "t ≜ 1", postconditions: [], evidence: { method: "formal-verification", confidence: Number.NaN } }],
  ["ascii spellings", { preconditions: ["forall x in S: p(x) => q(x)"], task: "t := 1", postconditions: ["x != y"] }],
  ["multi-variable", { preconditions: ["∀a, b ∈ A: a ≠ b", "∀a, b ∈ A: p(a)"], task: "swap ≜ λ(a,b).⟨b,a⟩", postconditions: ["∃!s ⊆ S: |s| = 1"] }],
];

const tokenRow = (t: Token) => [t.kind, t.text, t.start.line, t.start.column, t.start.offset, t.end.line, t.end.column, t.end.offset, t.symbol ?? null];

function randomStatement(rng: ReturnType<typeof prng>): string {
  const pieces = ["∀", "∃", "λ", "≜", "⇒", "∧", "∨", "¬", "∈", "⊆", "=", "(", ")", "[", "]", "{", "}", "⟨", "⟩", "⟦Ω⟧", "|", ",", ";", ".", ":", "\n", " ", "x", "f", "S", "p(x)", "0.8", '"s"', "◊⁺", "-", "é"];
  const seeds = STATEMENTS.slice(0, 25);
  if (rng.next() < 0.5) {
    let s = "";
    const n = rng.int(0, 20);
    for (let i = 0; i < n; i++) s += rng.pick(pieces);
    return s;
  }
  let s = rng.pick(seeds);
  for (let e = rng.int(1, 3); e > 0; e--) {
    const at = rng.int(0, s.length);
    s = rng.next() < 0.5 ? s.slice(0, at) + s.slice(at + rng.int(1, 3)) : s.slice(0, at) + rng.pick(pieces) + s.slice(at);
  }
  return s;
}

const rng = prng(0x5eed16);
const inputs = [...STATEMENTS];
for (let i = 0; i < 300; i++) inputs.push(randomStatement(rng));
const specs = [...SPECS];
for (let i = 0; i < 120; i++) {
  const list = () => Array.from({ length: rng.int(0, 3) }, () => randomStatement(rng));
  const spec: GradableSpec = { preconditions: list(), task: randomStatement(rng), postconditions: list() };
  if (rng.next() < 0.5) {
    specs.push([`random ${i}`, { ...spec, evidence: { method: rng.pick(["formal-verification", "test-execution", "static-analysis"]), confidence: rng.int(0, 100) / 100 } }]);
  } else specs.push([`random ${i}`, spec]);
}

const samplesDir = join(HERE, "samples");
const documents = readdirSync(samplesDir).filter((f) => f.endsWith(".aisp")).sort().map((f) => {
  const text = readFileSync(join(samplesDir, f), "utf8");
  return { name: f, text, grade: grader.gradeDocument(text) };
});

const out = {
  comment: "Generated by tests/vectors/aisp/generate.ts; checked by tests/sdk/aisp_vectors.test.ts and clients/python/tests/test_aisp.py. NaN confidences are written as the string \"NaN\".",
  symbols: AISP_SYMBOL_TABLE.map((s) => [s.symbol, s.category, s.ascii ?? null]),
  parse: inputs.map((input) => {
    const tokens = parser.tokenize(input);
    const r = parser.parse(tokens);
    return { input, tokens: tokens.map(tokenRow), errors: (r.errors ?? []).map((e) => [e.message, e.line, e.column, e.offset]) };
  }),
  grades: specs.map(([name, spec]) => ({
    name,
    spec: spec.evidence !== undefined && Number.isNaN(spec.evidence.confidence) ? { ...spec, evidence: { ...spec.evidence, confidence: "NaN" } } : spec,
    grade: grader.grade(spec),
  })),
  documents,
};

// One vector a line: diffs stay readable, the file small.
const lines = ["{"];
const keys = Object.keys(out) as (keyof typeof out)[];
keys.forEach((k, i) => {
  const v = out[k];
  const comma = i < keys.length - 1 ? "," : "";
  if (!Array.isArray(v)) lines.push(`${JSON.stringify(k)}: ${JSON.stringify(v)}${comma}`);
  else lines.push(`${JSON.stringify(k)}: [\n${v.map((x) => JSON.stringify(x)).join(",\n")}\n]${comma}`);
});
lines.push("}");
writeFileSync(join(HERE, "vectors.json"), lines.join("\n") + "\n");
console.log(`wrote ${out.parse.length} parse vectors, ${out.grades.length} grades, ${out.documents.length} documents`);
