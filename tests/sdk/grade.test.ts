import { describe, expect, test } from "bun:test";
import { AISP_SYMBOL_TABLE, GRADE_WEIGHTS, MAX_GRADED, specSyntaxIssues, grade, TIER_THRESHOLDS, tierOf } from "../../mod.ts";
import { seedMessage } from "./_fixtures.ts";

// Formula (sdk/envelope/grade.ts): score = 0.30·density + 0.25·precision + 0.25·completeness + 0.20·evidence
//   density      = min(1, (symbols / tokens) / 0.5)        tokens: one AISP symbol, or a run of other non-space chars
//   precision    = mean over conditions of: 1 all quantifiers bound (∈ ⊆ :), 0.5 some, 0 none or no quantifier
//   completeness = (has pre + has post + task uses ≜/≔) / 3
//   evidence     = confidence × method weight (formal 1.0, test 0.85, static 0.7)

describe("grade", () => {
  test("the seed example grades platinum at 0.9342", () => {
    // pre  "∀ f ∈ CodeFiles: compiled(f) = ⊤"                        7 tokens, 3 symbols (∀ ∈ ⊤)
    // task "validate ≜ λ f.runTests(f) ∧ coverage(f) ≥ 0.8"          8 tokens, 4 symbols (≜ λ ∧ ≥)
    // post "∀ t ∈ Tests: passed(t) = ⊤"                              7 tokens, 3 symbols
    // density = (10/22)/0.5 = 0.90909; precision = (1+1)/2 = 1; completeness = 3/3 = 1
    // evidence = 0.95 × 0.85 = 0.8075
    // score = 0.3×0.90909 + 0.25 + 0.25 + 0.2×0.8075 = 0.272727 + 0.5 + 0.1615 = 0.934227 → 0.9342
    const g = grade(seedMessage().spec!);
    expect(g.breakdown).toEqual({
      symbolDensity: 0.9091,
      quantifierPrecision: 1,
      conditionCompleteness: 1,
      evidence: 0.8075,
      tokens: 22,
      symbols: 10,
      blocks: 0,
      bindings: 6, // ∀ ∈ ≜ λ ∀ ∈
    });
    expect(g.semanticDensity).toBe(0.18); // 0.4 × 0/5 + 0.6 × 6/20
    expect(g.score).toBe(0.9342);
    expect(g.tier).toBe("platinum");
  });

  test("the seed example without evidence: 0.272727 + 0.5 = 0.7727, still platinum", () => {
    const { evidence: _e, ...spec } = seedMessage().spec!;
    const g = grade(spec);
    expect(g.score).toBe(0.7727);
    expect(g.tier).toBe("platinum");
    expect(g.breakdown.evidence).toBe(0);
  });

  test("empty conditions: only density and the defined task count", () => {
    // task "deploy ≜ λ x.ship(x)": 4 tokens, 2 symbols → density (2/4)/0.5 = 1
    // no conditions → precision 0; completeness (0 + 0 + 1)/3
    // score = 0.3 + 0.25/3 = 0.383333 → 0.3833, bronze
    const g = grade({ preconditions: [], task: "deploy ≜ λx.ship(x)", postconditions: [] });
    expect(g.breakdown.symbolDensity).toBe(1);
    expect(g.breakdown.quantifierPrecision).toBe(0);
    expect(g.breakdown.conditionCompleteness).toBe(0.3333);
    expect(g.score).toBe(0.3833);
    expect(g.tier).toBe("bronze");
  });

  test("blank conditions do not count as present", () => {
    const g = grade({ preconditions: ["   "], task: "run", postconditions: [""] });
    // no tokens from blanks; 1 token "run" with 0 symbols; precision (0+0)/2; completeness 0
    expect(g.breakdown.tokens).toBe(1);
    expect(g.score).toBe(0);
    expect(g.tier).toBe("reject");
  });

  test("natural language only is reject; with formal evidence it reaches bronze", () => {
    // 3 + 4 + 3 = 10 tokens, 0 symbols → density 0; no quantifiers → precision 0
    // completeness (1 + 1 + 0)/3 = 0.6667 → score 0.25 × 0.666667 = 0.166667 → 0.1667, reject
    const spec = { preconditions: ["the code compiles"], task: "run all the tests", postconditions: ["all tests pass"] };
    const g = grade(spec);
    expect(g.breakdown).toMatchObject({ tokens: 10, symbols: 0, symbolDensity: 0, quantifierPrecision: 0 });
    expect(g.score).toBe(0.1667);
    expect(g.tier).toBe("reject");
    // + 0.2 × (1.0 × 1.0) = 0.366667 → 0.3667, bronze
    const withProof = grade({ ...spec, evidence: { prover: "lean4", method: "formal-verification", confidence: 1 } });
    expect(withProof.score).toBe(0.3667);
    expect(withProof.tier).toBe("bronze");
  });

  test("a quantifier scores ½ for a domain and ½ for using every bound variable", () => {
    // pre[0]  "∀x p(x)": 3 terms, 1 symbol; no domain, x used → 0.5
    // pre[1]  "∃y ∈ S ∧ ∀z q(z)": ∃y ∈ S claims membership (no body: domain ½ + nothing to use ½ = 1);
    //         ∀z q(z): no domain, z used → 0.5; the condition is their mean, 0.75. 8 terms, 4 symbols
    // post[0] "∀w ∈ W: r(v)": 5 terms, 2 symbols; domain, but w unused → 0.5
    // task "t": 1 term. density = (7/17)/0.5 = 0.823529; precision (0.5 + 0.75 + 0.5)/3 = 0.583333
    // completeness (1 + 1 + 0)/3 = 0.666667; evidence 0.5 × 0.7 = 0.35
    // score = 0.247059 + 0.145833 + 0.166667 + 0.07 = 0.629559 → 0.6296, gold
    const g = grade({
      preconditions: ["∀x p(x)", "∃y ∈ S ∧ ∀z q(z)"],
      task: "t",
      postconditions: ["∀w ∈ W: r(v)"],
      evidence: { prover: "tsc", method: "static-analysis", confidence: 0.5 },
    });
    expect(g.breakdown).toEqual({
      symbolDensity: 0.8235,
      quantifierPrecision: 0.5833,
      conditionCompleteness: 0.6667,
      evidence: 0.35,
      tokens: 17,
      symbols: 7,
      blocks: 0,
      bindings: 6, // ∀ ∃ ∈ ∀ ∀ ∈
    });
    expect(g.score).toBe(0.6296);
    expect(g.tier).toBe("gold");
    expect(g.suggestions).toContain("precondition 1: ∀x has no domain; write ∀x ∈ Set (or ∀x:Type:) to say what it ranges over");
    expect(g.suggestions).toContain("postcondition 1 quantifies over w but never uses it");
  });

  test("a condition that does not parse scores 0 for precision, and says where", () => {
    // Before the parser, "∀x ∈ : (" counted as a bounded quantifier (1).
    const g = grade({ preconditions: ["∀x ∈ : ("], task: "t ≜ 1", postconditions: [] });
    expect(g.breakdown.quantifierPrecision).toBe(0);
    expect(g.warnings).toEqual(["precondition 1 does not parse at line 1, column 6: expected a domain after ∈, found :"]);
    expect(g.suggestions[0]).toBe("fix precondition 1 so that it parses (line 1, column 6: expected a domain after ∈, found :); until then it scores 0 for quantifier precision");
  });

  test("warnings for what reads two ways", () => {
    const g = grade({ preconditions: ["a ∧ b ∨ c", "(a ∧ b) ∨ c", "∀x ∈ S: ∀x ∈ T: p(x)"], task: "t ≜ 1", postconditions: [] });
    expect(g.warnings).toEqual([
      "precondition 1 mixes ∧ and ∨ without parentheses at line 1, column 1: ∧ binds tighter, so a ∧ b ∨ c reads (a ∧ b) ∨ c; add parentheses to say which is meant",
      "precondition 3 binds x again at line 1, column 9, inside the scope of the x bound at column 2: the inner x hides the outer",
    ]);
  });

  test(`statements are parsed up to MAX_GRADED (${MAX_GRADED}) characters in all; the rest are named, count no terms and score 0`, () => {
    const long = "∀x ∈ S: p(x); ".repeat(3000); // 42 000 units: the first fits, the second does not
    const g = grade({ preconditions: [long, long, "∀y ∈ T: q(y)"], task: "t ≜ 1", postconditions: [] });
    expect(g.warnings).toEqual([`precondition 2 is not parsed: a spec's statements are parsed up to ${MAX_GRADED} characters in all`]);
    expect(g.suggestions[0]).toBe(`shorten precondition 2: it is past the ${MAX_GRADED} characters the grader parses, so it scores 0 for quantifier precision`);
    expect(g.breakdown.quantifierPrecision).toBe(0.6667); // (1 + 0 + 1) / 3: the third still fits
    expect(g.breakdown.tokens).toBe(3000 * 5 + 5 + 3); // the first precondition, the third and the task
    const issues = specSyntaxIssues({ preconditions: [long, long + "(", "ok"], task: "t", postconditions: [] });
    expect(issues.map((i) => i.message)).toEqual([`spec.preconditions[1] is not checked: a spec's statements are parsed up to ${MAX_GRADED} characters in all`]);
  });

  test("a task that is a whole AISP document keeps the better of its spec score and δ", () => {
    const doc = "⟦Ω:Meta⟧{ ∀D∈AISP:Ambig(D)<0.02 }\n⟦Σ:Types⟧{ T≜ℕ }\n⟦Γ:Rules⟧{ ∀x:T:x≥0 }\n⟦Λ:Funcs⟧{ f≜λx.x }\n⟦Ε⟧⟨δ≜0.75;τ≜◊⁺⁺⟩";
    const g = grade({ preconditions: [], task: doc, postconditions: [] });
    // 5 blocks, bindings ∀ ∈ ≜ ∀ ≜ λ ≜ ≜ = 8: δ = 0.4 + 0.6 × 8/20 = 0.64
    expect(g.breakdown.blocks).toBe(5);
    expect(g.breakdown.bindings).toBe(8);
    expect(g.semanticDensity).toBe(0.64);
    expect(g.score).toBe(0.64);
    expect(g.tier).toBe("gold");
  });

  test("a gold spec: the seed example with a task that defines nothing", () => {
    // task "validate: λ f.runTests(f) ∧ coverage(f) ≥ 0.8" → "validate:" λ "f.runTests(f)" ∧ "coverage(f)" ≥ "0.8"
    // 7 tokens, 3 symbols; total 21 tokens, 9 symbols → density (9/21)/0.5 = 0.857143
    // precision 1; completeness 2/3; no evidence
    // score = 0.257143 + 0.25 + 0.166667 = 0.673810 → 0.6738, gold
    const s = seedMessage().spec!;
    const g = grade({ preconditions: s.preconditions, task: "validate: λf.runTests(f) ∧ coverage(f) ≥ 0.8", postconditions: s.postconditions });
    expect(g.breakdown.tokens).toBe(21);
    expect(g.breakdown.symbols).toBe(9);
    expect(g.score).toBe(0.6738);
    expect(g.tier).toBe("gold");
  });

  test("grading is deterministic and weights sum to 1", () => {
    const s = seedMessage().spec!;
    expect(grade(s)).toEqual(grade(structuredClone(s)));
    const w = GRADE_WEIGHTS;
    expect(w.symbolDensity + w.quantifierPrecision + w.conditionCompleteness + w.evidence).toBeCloseTo(1, 12);
  });
});

describe("tierOf", () => {
  test("thresholds are inclusive at their exact boundaries", () => {
    expect(TIER_THRESHOLDS).toEqual({ platinum: 0.75, gold: 0.6, silver: 0.4, bronze: 0.2 });
    const cases: [number, string][] = [
      [1, "platinum"],
      [0.75, "platinum"],
      [0.7499, "gold"],
      [0.6, "gold"],
      [0.5999, "silver"],
      [0.4, "silver"],
      [0.3999, "bronze"],
      [0.2, "bronze"],
      [0.1999, "reject"],
      [0, "reject"],
    ];
    for (const [score, tier] of cases) expect(`${score} ${tierOf(score)}`).toBe(`${score} ${tier}`);
  });
});

test("term counts match the regex definition (one symbol, or a run of neither white space nor symbols) on random text", () => {
  // Single-character symbols that are not the start of a block name or a header.
  const symbols = AISP_SYMBOL_TABLE.map((s) => s.symbol).filter((c) => Array.from(c).length === 1 && c !== "⟦" && c !== "𝔸");
  const klass = symbols.join("");
  const TOKEN = new RegExp(`[${klass}]|[^\\s${klass}]+`, "gu");
  const pieces = [...symbols, " ", "\t", "\n", "\u00a0", "\u2003", "\u3000", "\ufeff", "a", "Z", "9", "(", "_", "é", "λx", "\ud835", "\udd39", "😀", "≜≜"];
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  for (let round = 0; round < 2000; round++) {
    let s = "";
    const len = rand(30);
    for (let i = 0; i < len; i++) s += pieces[rand(pieces.length)];
    let tokens = 0;
    let syms = 0;
    for (const m of s.matchAll(TOKEN)) {
      tokens++;
      if (symbols.includes(m[0])) syms++;
    }
    const b = grade({ preconditions: [], task: s, postconditions: [] }).breakdown;
    if (b.tokens !== tokens || b.symbols !== syms) throw new Error(`${JSON.stringify(s)}: ${b.tokens}/${b.symbols}, regex ${tokens}/${syms}`);
  }
});
