/**
 * The AISP tokenizer and parser: the parser plan's three examples, positions,
 * multi-character symbols, prose, every kind of statement, errors that say
 * what was expected and where, and a fuzz run over random and mutated
 * strings that holds the parser to being total (never throws, errors inside
 * the input) and linear (nodes per token stay flat as inputs grow; times are
 * in bench/). AISP_FUZZ_N sets the number of inputs (default 100 000, about
 * 5 s on Bun).
 */
import { describe, expect, test } from "bun:test";
import { AISPParser, type AISPNode, MAX_NESTING, symbolInfo } from "../../mod.ts";
import { prng } from "../_helpers/prng.ts";
import { parseSteps } from "../../sdk/aisp/parser.ts";

const parser = new AISPParser();
const N = Number(process.env.AISP_FUZZ_N ?? 100_000);

function only(input: string): AISPNode {
  const r = parser.parseString(input);
  if (!r.success) throw new Error(`${input}: ${JSON.stringify(r.errors)}`);
  expect(r.ast!.body.length).toBe(1);
  return r.ast!.body[0];
}

describe("the parser plan's examples", () => {
  test("∀f ∈ Files: hasError(f) ⇒ collect(f) is a quantified implication", () => {
    const q = only("∀f ∈ Files: hasError(f) ⇒ collect(f)");
    if (q.type !== "Quantifier") throw new Error(q.type);
    expect(q.quantifier).toBe("∀");
    expect(q.variables.map((v) => v.name)).toEqual(["f"]);
    expect(q.relation).toBe("∈");
    expect(q.domain).toMatchObject({ type: "Word", name: "Files", start: { line: 1, column: 6, offset: 5 } });
    expect(q.body).toMatchObject({ type: "Binary", operator: "⇒", left: { type: "Apply", callee: { name: "hasError" } }, right: { type: "Apply" } });
    expect(q.end.offset).toBe("∀f ∈ Files: hasError(f) ⇒ collect(f)".length);
  });

  test("a ⟦TASK⟧ block with ≜, ∀ and a postcondition", () => {
    const text = "⟦TASK⟧{\n  fix ≜ λf.patch(f)\n  ∀f ∈ Failing: fix(f) ⇒ passes(f)\n  post: ∀t ∈ Tests: passed(t) = ⊤\n}";
    const b = only(text);
    if (b.type !== "Block") throw new Error(b.type);
    expect(b.name).toBe("TASK");
    expect(b.body.map((n) => n.type)).toEqual(["Definition", "Quantifier", "Binary"]);
    expect(b.body[0]).toMatchObject({ operator: "≜", target: { name: "fix" }, value: { type: "Lambda", params: [{ name: "f" }] } });
    expect(b.body[1].start).toEqual({ line: 3, column: 3, offset: 30 });
    expect(b.body[2]).toMatchObject({ operator: ":", left: { name: "post" }, right: { type: "Quantifier", quantifier: "∀" } });
  });

  test("∀ ∈ Files: expected a bound variable after ∀, at column 3", () => {
    const r = parser.parseString("∀ ∈ Files");
    expect(r.success).toBe(false);
    expect(r.errors).toEqual([{ message: "expected a bound variable after ∀, found ∈", line: 1, column: 3, offset: 2 }]);
  });
});

describe("tokens", () => {
  test("carry line, column and UTF-16 offsets; astral symbols are two units", () => {
    const t = parser.tokenize("𝔹 ≜ x\n  ∃!y");
    expect(t.map((x) => [x.kind, x.text, x.start.line, x.start.column, x.start.offset, x.end.offset])).toEqual([
      ["symbol", "𝔹", 1, 1, 0, 2],
      ["symbol", "≜", 1, 4, 3, 4],
      ["word", "x", 1, 6, 5, 6],
      ["newline", "\n", 1, 7, 6, 7],
      ["symbol", "∃!", 2, 3, 9, 11],
      ["word", "y", 2, 5, 11, 12],
    ]);
  });

  test("multi-character symbols and ASCII spellings are one token, as the table names them", () => {
    const t = parser.tokenize("a := b ::= c => d <=> e -> f |- g ◊⁺⁺ ℝ⁷⁶⁸ ⟦Ε⟧ ⟦TASK⟧");
    const syms = t.filter((x) => x.kind === "symbol").map((x) => [x.text, x.symbol, x.category]);
    expect(syms).toEqual([
      [":=", "≔", "definitions"],
      ["::=", "≜", "definitions"],
      ["=>", "⇒", "logic"],
      ["<=>", "⇔", "logic"],
      ["->", "→", "functions"],
      ["|-", "⊢", "evidence"],
      ["◊⁺⁺", "◊⁺⁺", "evidence"],
      ["ℝ⁷⁶⁸", "ℝ", "sets"],
    ]);
    expect(t.filter((x) => x.kind === "block").map((x) => x.text)).toEqual(["⟦Ε⟧", "⟦TASK⟧"]);
  });

  test("words, numbers, strings, comments and a header", () => {
    const t = parser.tokenize('𝔸5.1.demo@2026-01-15 ;; a comment\nV_H x\' 0.02 1.0.0 "a \\" b" ¾');
    expect(t.map((x) => `${x.kind}:${x.text}`)).toEqual([
      "header:𝔸5.1.demo@2026-01-15",
      "comment:;; a comment",
      "newline:\n",
      "word:V_H",
      "word:x'",
      "number:0.02",
      "number:1.0.0",
      'string:"a \\" b"',
      "number:¾",
    ]);
  });

  test("λ and the number sets end a word; other Greek letters are letters", () => {
    expect(parser.tokenize("fλx δℕ").map((x) => x.text)).toEqual(["f", "λ", "x", "δ", "ℕ"]);
  });

  test("every symbol of the table tokenizes as itself", () => {
    for (const text of ["∀", "∃", "∃!", "∄", "∧", "⇒", "≜", "≔", "∈", "⊆", "≤", "→", "↦", "∘", "⟨", "∞", "⊢", "∎", "◊⁻", "⊘"]) {
      const t = parser.tokenize(text);
      expect(t.length).toBe(1);
      expect(t[0].symbol).toBe(symbolInfo(text)!.symbol);
    }
  });
});

describe("statements", () => {
  test("definitions, lambdas and precedence: ≜ binds loosest, λ's body runs to the end", () => {
    const d = only("validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8");
    expect(d).toMatchObject({
      type: "Definition",
      operator: "≜",
      target: { type: "Word", name: "validate" },
      value: { type: "Lambda", params: [{ name: "f" }], body: { type: "Binary", operator: "∧", right: { type: "Binary", operator: "≥", right: { type: "Number", value: "0.8" } } } },
    });
  });

  test("∀x:T:body gives a type; ∀x:body has none; ∃x ∈ S alone claims membership", () => {
    expect(only("∀x:ℕ:x≥0")).toMatchObject({ type: "Quantifier", relation: ":", domain: { type: "Constant", symbol: "ℕ" } });
    const plain = only("∀D:Ambig(D)<0.02");
    expect(plain).toMatchObject({ type: "Quantifier", body: { type: "Binary", operator: "<" } });
    expect("domain" in plain).toBe(false);
    const claim = only("∃e ∈ Board ∧ ¬won");
    expect(claim).toMatchObject({ type: "Binary", operator: "∧", left: { type: "Quantifier", domain: { name: "Board" } } });
  });

  test("several variables, ⊆ domains, ∃!, set expressions and comparisons", () => {
    expect(only("∀a, b ∈ A ∪ B: a ≠ b")).toMatchObject({ variables: [{ name: "a" }, { name: "b" }], domain: { type: "Binary", operator: "∪" }, body: { operator: "≠" } });
    expect(only("∃!s ⊆ S: |s| = 1")).toMatchObject({ quantifier: "∃!", relation: "⊆", body: { left: { type: "Abs" } } });
    expect(only("{x ∈ S | p(x)} ⊆ S")).toMatchObject({ type: "Binary", operator: "⊆", left: { type: "Set" } });
  });

  test("natural language is a phrase of words", () => {
    expect(only("run the unit tests of parser.ts")).toMatchObject({ type: "Phrase" });
    expect(only("nextPlayer≜λp.if p=X then O else X")).toMatchObject({ type: "Definition", value: { type: "Lambda" } });
  });

  test("tuples, lists, member access, evidence blocks", () => {
    expect(only("move≜λ(g,p).⟨board≔g.board[p←g.turn],turn≔next(g.turn)⟩")).toMatchObject({ value: { params: [{ name: "g" }, { name: "p" }], body: { type: "Tuple" } } });
    expect(only("⟦Ε⟧⟨δ≜0.82;φ≜100;τ≜◊⁺⁺;⊢valid;∎⟩")).toMatchObject({ type: "Block", name: "Ε" });
  });

  test("newlines and ; separate statements; an operator at a line's end continues it", () => {
    const r = parser.parseString("a ≜ 1; b ≜ 2\nc ∧\n  d");
    expect(r.success).toBe(true);
    expect(r.ast!.body.map((n) => n.type)).toEqual(["Definition", "Definition", "Binary"]);
  });
});

describe("errors say what was expected and where", () => {
  const cases: [string, string, number, number][] = [
    ["∀x ∈ : (", "expected a domain after ∈, found :", 1, 6],
    ["λ.", "expected a parameter after λ, found .", 1, 2],
    ["((∧))", "expected an expression, found ∧", 1, 3],
    ["a ∧", "expected an expression after ∧, found the end", 1, 4],
    ["f(x", "expected ) to close the ( at line 1, column 2, found the end", 1, 4],
    ["x ≜\n\n", "expected a definition after ≜, found the end", 3, 1],
    ["p\n∀x ∈ S:", "expected a condition after ∀x ∈ …, found the end", 2, 8],
    ["a ⟦ b", "expected an operator or the end of the statement, found ⟦", 1, 3],
    ["x @ y", "expected an operator or the end of the statement, found @", 1, 3],
    ['say "hi', 'expected a closing " before the end of the line, found "hi', 1, 5],
    ["λ(a b).a", "expected , or ) after the parameters of λ, found b", 1, 5],
  ];
  for (const [input, message, line, column] of cases) {
    test(JSON.stringify(input), () => {
      const r = parser.parseString(input);
      expect(r.success).toBe(false);
      expect(r.errors![0]).toMatchObject({ message, line, column });
    });
  }

  test("after an error the next statement is still parsed", () => {
    const r = parser.parseString("∀ ∈ X\nok ≜ 1\nλ.");
    expect(r.errors!.map((e) => e.line)).toEqual([1, 3]);
    expect(r.ast!.body.map((n) => n.type)).toEqual(["Definition"]);
  });

  test(`nesting deeper than ${MAX_NESTING} is an error, not a stack overflow`, () => {
    const deep = "(".repeat(100_000) + "x" + ")".repeat(100_000);
    const r = parser.parseString(deep);
    expect(r.errors![0].message).toBe(`expected at most ${MAX_NESTING} levels of nesting, found (`);
    expect(parser.parseString("(".repeat(MAX_NESTING - 1) + "x" + ")".repeat(MAX_NESTING - 1)).success).toBe(true);
    expect(parser.parseString("¬".repeat(50_000) + "x").success).toBe(false);
    expect(parser.parseString("∀x:".repeat(20_000) + "p").success).toBe(false);
  });
});

// The fuzz: random strings from AISP-ish pieces, and mutations (deletions, insertions,
// swaps, truncations) of valid specs. Every input must parse or fail with errors
// inside it; the parser's work, counted as the calls it makes per token, stays bounded.
const PIECES = [
  "∀", "∃", "∃!", "λ", "≜", "≔", ":=", "⇒", "→", "∧", "∨", "¬", "∈", "⊆", "∪", "=", "≠", "≤", "⊤", "∅", "ℕ",
  "(", ")", "[", "]", "{", "}", "⟨", "⟩", "⟦", "⟧", "⟦Ω:Meta⟧", "⟦Ε⟧", "|", ",", ";", ".", ":", "\n", " ", "  ",
  "x", "f", "Files", "hasError", "0.8", "12", '"s"', '"', ";;c", "𝔸5.1.x", "◊⁺⁺", "é", "😀", "\ud835", "-", "+",
];
const SEEDS = [
  "∀f ∈ Files: hasError(f) ⇒ collect(f)",
  "validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8",
  "⟦TASK⟧{\n  fix ≜ λf.patch(f)\n  ∀f ∈ Failing: fix(f) ⇒ passes(f)\n}",
  "⟦Ε⟧⟨δ≜0.82;φ≜100;τ≜◊⁺⁺;⊢valid;∎⟩",
  "move≜λ(g,p).⟨board≔g.board[p←g.turn],turn≔next(g.turn)⟩",
  "Draw(b)⇔∀c∈b:c≠Empty∧¬∃p∈Player:Win(b,p)",
];

function randomInput(rng: ReturnType<typeof prng>): string {
  if (rng.next() < 0.5) {
    let s = "";
    const n = rng.int(0, 40);
    for (let i = 0; i < n; i++) s += rng.pick(PIECES);
    return s;
  }
  let s = rng.pick(SEEDS);
  const edits = rng.int(1, 4);
  for (let e = 0; e < edits; e++) {
    const at = rng.int(0, s.length);
    switch (rng.int(0, 3)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + rng.int(1, 3));
        break;
      case 1:
        s = s.slice(0, at) + rng.pick(PIECES) + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at);
        break;
      default:
        s = s.slice(at) + s.slice(0, at);
    }
  }
  return s;
}

/** The bound on parser steps per token (measured: at most ~19 over the fuzz, 6 on the shapes below). */
const STEPS_PER_TOKEN = 32;

test(`fuzz: ${N} random and mutated inputs parse or fail with positioned errors, in bounded steps per token`, () => {
  const rng = prng(0xa15b);
  let failed = 0;
  let worst = 0;
  for (let k = 0; k < N; k++) {
    const input = randomInput(rng);
    if (k % 16 === 0) {
      const tokens = parser.tokenize(input);
      const per = parseSteps(tokens) / Math.max(1, tokens.length);
      if (per > worst) worst = per;
      if (per > STEPS_PER_TOKEN) throw new Error(`input ${JSON.stringify(input)}: ${per} steps per token`);
    }
    let r;
    try {
      r = parser.parseString(input);
    } catch (e) {
      throw new Error(`input ${JSON.stringify(input)} threw: ${(e as Error).stack}`);
    }
    if (r.success) continue;
    failed++;
    for (const e of r.errors!) {
      if (!(e.offset >= 0 && e.offset <= input.length && e.line >= 1 && e.column >= 1 && e.message.startsWith("expected"))) {
        throw new Error(`input ${JSON.stringify(input)}: bad error ${JSON.stringify(e)}`);
      }
    }
  }
  console.log(`aisp fuzz: ${N} inputs, ${failed} with errors; at most ${worst.toFixed(1)} parser steps per token`);
  // Both outcomes are exercised.
  expect(failed).toBeGreaterThan(N / 10);
  expect(failed).toBeLessThan(N);
}, 600_000);

test("linear: parser steps per token stay bounded and flat as the worst shapes grow 16x", () => {
  const shapes = ["∀x ∈ S: ", "(", "a ∧ ", "λx.", "{a, ", "⟦", "\"", "x y ", "∀ ∈ ", "¬", "f(x)", "λ.\n", "a⇒", "∃!x∈S", "∀x:∀y:"];
  for (const shape of shapes) {
    const per = [256, 4096].map((reps) => {
      const tokens = parser.tokenize(shape.repeat(reps));
      return parseSteps(tokens) / Math.max(1, tokens.length);
    });
    expect([shape, per[0] <= STEPS_PER_TOKEN, per[1] <= STEPS_PER_TOKEN]).toEqual([shape, true, true]);
    expect([shape, per[1] <= per[0] * 1.1 + 1]).toEqual([shape, true]);
  }
});

test("linear: tokens and nodes grow in proportion to the input on the worst shapes found", () => {
  // Each shape repeated; the AST's node count per token stays flat as the input grows 16x.
  const shapes = ["∀x ∈ S: ", "(", "a ∧ ", "λx.", "{a, ", "⟦", "\"", "x y ", "∀ ∈ ", "¬"];
  for (const shape of shapes) {
    const per: number[] = [];
    for (const reps of [256, 4096]) {
      const input = shape.repeat(reps);
      const tokens = parser.tokenize(input);
      const r = parser.parse(tokens);
      let nodes = 0;
      const stack: unknown[] = [r.ast];
      while (stack.length > 0) {
        const n = stack.pop();
        if (n === null || typeof n !== "object") continue;
        if (Array.isArray(n)) stack.push(...n);
        else {
          nodes++;
          for (const [k, v] of Object.entries(n)) if (k !== "start" && k !== "end") stack.push(v);
        }
      }
      per.push((nodes + (r.errors?.length ?? 0)) / Math.max(1, tokens.length));
    }
    expect(per[1]).toBeLessThanOrEqual(per[0] * 1.5 + 1);
  }
});
