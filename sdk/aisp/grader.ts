/**
 * The AISP grader: grades a task spec from the AST of each of its
 * statements, and explains the grade: a breakdown per component,
 * suggestions that would raise it and warnings where a statement reads two
 * ways. docs/grading.md has every formula with worked examples; the Python
 * client (clients/python/ampbus/aisp.py) computes the same numbers and
 * strings, held to it by tests/vectors/aisp/vectors.json.
 *
 * @module
 */
import { AISPParser } from "./parser.ts";
import { isBlank } from "./tokenizer.ts";
import { AISP_SYMBOL_TABLE } from "./symbols.ts";
import type { AISPNode, AISPParseError, Token } from "./types.ts";

/**
 * A quality tier, best first (the envelope's `QualityTier`).
 *
 * @example
 * ```ts
 * import { type GradeTier, tierOf } from "@ampbus/ampbus";
 *
 * const t: GradeTier = tierOf(0.8);
 * if (t !== "platinum") throw new Error(t);
 * ```
 */
export type GradeTier = "platinum" | "gold" | "silver" | "bronze" | "reject";

/**
 * What the grader reads of a spec: its statements and evidence (a `TaskSpec` is one).
 *
 * @example
 * ```ts
 * import { AISPGrader, type GradableSpec } from "@ampbus/ampbus";
 *
 * const spec: GradableSpec = { preconditions: [], task: "x ≜ 1", postconditions: [] };
 * if (new AISPGrader().grade(spec).breakdown.conditionCompleteness !== 0.3333) throw new Error("wrong completeness");
 * ```
 */
export interface GradableSpec {
  /** What must hold before the task. */
  readonly preconditions: readonly string[];
  /** The task. */
  readonly task: string;
  /** What holds after it. */
  readonly postconditions: readonly string[];
  /** A proof's method and confidence (a `ProofBlock` is one). */
  readonly evidence?: { readonly method: string; readonly confidence: number };
}

/**
 * Weights of the four components of a spec's score; they sum to 1.
 *
 * @example
 * ```ts
 * import { GRADE_WEIGHTS } from "@ampbus/ampbus";
 *
 * const sum = Object.values(GRADE_WEIGHTS).reduce((a, b) => a + b, 0);
 * if (Math.abs(sum - 1) > 1e-9) throw new Error(`weights sum to ${sum}`);
 * ```
 */
export const GRADE_WEIGHTS = {
  symbolDensity: 0.30,
  quantifierPrecision: 0.25,
  conditionCompleteness: 0.25,
  evidence: 0.20,
} as const;

/**
 * Lowest score of each tier; below bronze is `reject`. The same thresholds
 * as the AISP 5.1 reference validator's (◊⁺⁺ ◊⁺ ◊ ◊⁻, and ⊘ below).
 *
 * @example
 * ```ts
 * import { TIER_THRESHOLDS, tierOf } from "@ampbus/ampbus";
 *
 * if (tierOf(TIER_THRESHOLDS.gold) !== "gold") throw new Error("a threshold belongs to its tier");
 * ```
 */
export const TIER_THRESHOLDS = { platinum: 0.75, gold: 0.60, silver: 0.40, bronze: 0.20 } as const;

/**
 * The AISP 5.1 symbol of each tier.
 *
 * @example
 * ```ts
 * import { TIER_SYMBOLS } from "@ampbus/ampbus";
 *
 * if (TIER_SYMBOLS.platinum !== "◊⁺⁺" || TIER_SYMBOLS.reject !== "⊘") throw new Error("wrong symbols");
 * ```
 */
export const TIER_SYMBOLS: Readonly<Record<GradeTier, string>> = { platinum: "◊⁺⁺", gold: "◊⁺", silver: "◊", bronze: "◊⁻", reject: "⊘" };

/**
 * The raw symbol density (symbols per term) at which the symbol-density
 * component saturates at 1.
 *
 * @example
 * ```ts
 * import { grade, SYMBOL_DENSITY_SATURATION } from "@ampbus/ampbus";
 *
 * const g = grade({ preconditions: [], task: "x ≜ y", postconditions: [] }); // 1 symbol in 3 terms
 * if (g.breakdown.symbolDensity !== Math.round((1 / 3 / SYMBOL_DENSITY_SATURATION) * 1e4) / 1e4) throw new Error("wrong density");
 * ```
 */
export const SYMBOL_DENSITY_SATURATION = 0.5;

/**
 * How much each proof method is worth, before confidence.
 *
 * @example
 * ```ts
 * import { METHOD_WEIGHTS } from "@ampbus/ampbus";
 *
 * if (!(METHOD_WEIGHTS["formal-verification"] > METHOD_WEIGHTS["test-execution"])) throw new Error("wrong order");
 * ```
 */
export const METHOD_WEIGHTS: Readonly<Record<string, number>> = {
  "formal-verification": 1.0,
  "test-execution": 0.85,
  "static-analysis": 0.7,
};

/**
 * The blocks an AISP document needs (the reference validator's five), by the Greek letter that names them.
 *
 * @example
 * ```ts
 * import { REQUIRED_BLOCKS } from "@ampbus/ampbus";
 *
 * if (REQUIRED_BLOCKS.join("") !== "ΩΣΓΛΕ") throw new Error(REQUIRED_BLOCKS.join(""));
 * ```
 */
export const REQUIRED_BLOCKS = ["Ω", "Σ", "Γ", "Λ", "Ε"] as const;

/**
 * The symbols the reference validator counts as bindings (definitions,
 * assignments, quantifiers, lambdas, implications and set operators); 20
 * of them make its binding score 1.
 *
 * @example
 * ```ts
 * import { BINDING_SYMBOLS } from "@ampbus/ampbus";
 *
 * if (!BINDING_SYMBOLS.includes("≜") || BINDING_SYMBOLS.includes("∧")) throw new Error("wrong bindings");
 * ```
 */
export const BINDING_SYMBOLS: readonly string[] = ["≜", "≔", "∀", "∃", "∃!", "λ", "⇒", "⇔", "→", "↔", "∈", "⊆", "∩", "∪", "∅"];
const BINDINGS = new Set(BINDING_SYMBOLS);

/**
 * How much of a spec the grader and the spec-syntax check parse: its
 * statements in order, while their lengths (UTF-16 code units) add up to at
 * most this. A statement past it is not parsed (a warning says so; it counts
 * no terms and scores 0 for quantifier precision), so that grading a spec
 * costs bounded time and memory however big the message (ampd grades every spec).
 *
 * @example
 * ```ts
 * import { grade, MAX_GRADED } from "@ampbus/ampbus";
 *
 * const g = grade({ preconditions: ["p ".repeat(MAX_GRADED)], task: "t ≜ 1", postconditions: [] });
 * if (!g.warnings[0].startsWith("precondition 1 is not parsed")) throw new Error(g.warnings.join("\n"));
 * ```
 */
export const MAX_GRADED = 65536;
const BINDINGS_FOR_FULL = 20;

/**
 * Every AISP symbol of the table (`AISP_SYMBOL_TABLE`), in one string, as
 * the density counts them.
 *
 * @example
 * ```ts
 * import { AISP_SYMBOLS } from "@ampbus/ampbus";
 *
 * if (!AISP_SYMBOLS.includes("∀") || AISP_SYMBOLS.includes("=")) throw new Error("wrong symbol set");
 * ```
 */
export const AISP_SYMBOLS: string = AISP_SYMBOL_TABLE.map((s) => s.symbol).join("");

/**
 * Per-component scores, each in [0, 1] and rounded to 4 decimals, and the
 * counts they come from (docs/grading.md has the formulas).
 *
 * @example
 * ```ts
 * import { grade, type GradeBreakdown } from "@ampbus/ampbus";
 *
 * const b: GradeBreakdown = grade({ preconditions: [], task: "fix the tests", postconditions: [] }).breakdown;
 * if (b.tokens !== 3 || b.symbols !== 0 || b.symbolDensity !== 0) throw new Error(JSON.stringify(b));
 * ```
 */
export interface GradeBreakdown {
  /** Share of terms that are AISP symbols, saturating at `SYMBOL_DENSITY_SATURATION`. */
  symbolDensity: number;
  /** Mean over the conditions of their quantifiers' precision: a domain given (½), every bound variable used (½). */
  quantifierPrecision: number;
  /** Thirds for: a precondition, a postcondition, and a task that is a definition (`≜` or `≔`). */
  conditionCompleteness: number;
  /** The evidence's confidence times its method's weight; 0 without evidence. */
  evidence: number;
  /** Terms counted over all statements: each symbol, and each run of other tokens written without space. */
  tokens: number;
  /** How many of the terms were AISP symbols. */
  symbols: number;
  /** Required blocks (`REQUIRED_BLOCKS`) found, 0 to 5. */
  blocks: number;
  /** Binding symbols (`BINDING_SYMBOLS`) counted. */
  bindings: number;
}

/**
 * The result of `grade()`: the tier and score, the reference validator's
 * semantic density δ, the breakdown, and what to do about it.
 *
 * @example
 * ```ts
 * import { grade, type Grade } from "@ampbus/ampbus";
 *
 * const g: Grade = grade({ preconditions: [], task: "fix the tests", postconditions: [] });
 * if (g.tier !== "reject" || g.score !== 0 || g.suggestions.length === 0) throw new Error(JSON.stringify(g));
 * ```
 */
export interface Grade {
  /** The tier of `score` (`tierOf(score)`). */
  tier: GradeTier;
  /** In [0, 1], rounded to 4 decimals: the weighted sum of the breakdown, or for a whole AISP document the better of that and δ. */
  score: number;
  /** δ = 0.4 × blocks/5 + 0.6 × min(1, bindings/20), as the AISP 5.1 reference validator computes it. */
  semanticDensity: number;
  /** The four components and the counts they come from. */
  breakdown: GradeBreakdown;
  /** What would raise the score, most valuable first within each statement. */
  suggestions: string[];
  /** Statements that do not parse, or read two ways. */
  warnings: string[];
}

/**
 * Maps a score to its tier: the best tier whose threshold (`TIER_THRESHOLDS`) it reaches.
 *
 * @example
 * ```ts
 * import { tierOf } from "@ampbus/ampbus";
 *
 * if (tierOf(0.6) !== "gold" || tierOf(0.59) !== "silver" || tierOf(0.1) !== "reject") throw new Error("wrong tier");
 * ```
 */
export function tierOf(score: number): GradeTier {
  if (score >= TIER_THRESHOLDS.platinum) return "platinum";
  if (score >= TIER_THRESHOLDS.gold) return "gold";
  if (score >= TIER_THRESHOLDS.silver) return "silver";
  if (score >= TIER_THRESHOLDS.bronze) return "bronze";
  return "reject";
}

const round4 = (x: number) => Math.round(x * 10000) / 10000;
const where = (e: AISPParseError) => `line ${e.line}, column ${e.column}`;

type Counts = { tokens: number; symbols: number; bindings: number; blocks: Set<string>; latinE: boolean };

/** Adds a statement's terms, symbols, bindings and blocks to `c`. */
function count(tokens: readonly Token[], c: Counts): void {
  let runEnd = -1; // end offset of the current run of non-symbol tokens
  for (const t of tokens) {
    switch (t.kind) {
      case "newline":
      case "comment":
        runEnd = -1;
        continue;
      case "symbol":
      case "block":
      case "header":
        c.tokens++;
        c.symbols++;
        runEnd = -1;
        if (t.kind === "symbol" && BINDINGS.has(t.symbol!)) c.bindings++;
        if (t.kind === "block") {
          const name = t.text.slice(1, -1);
          const letter = name.split(":")[0];
          if ((REQUIRED_BLOCKS as readonly string[]).includes(letter)) c.blocks.add(letter);
          else if (letter === "E") c.latinE = true;
        }
        continue;
      default:
        if (t.start.offset !== runEnd) c.tokens++;
        runEnd = t.end.offset;
    }
  }
}

/** Pushes the children of a node onto `stack`, last first, so that they pop in source order. */
function pushAll(xs: readonly AISPNode[], stack: AISPNode[]): void {
  for (let i = xs.length - 1; i >= 0; i--) stack.push(xs[i]);
}

function pushChildren(n: AISPNode, stack: AISPNode[]): void {
  switch (n.type) {
    case "Document":
    case "Block":
      return pushAll(n.body, stack);
    case "Quantifier":
      if (n.body !== undefined) stack.push(n.body);
      if (n.domain !== undefined) stack.push(n.domain);
      return pushAll(n.variables, stack);
    case "Lambda":
      stack.push(n.body);
      return pushAll(n.params, stack);
    case "Definition":
      stack.push(n.value, n.target);
      return;
    case "Binary":
      stack.push(n.right, n.left);
      return;
    case "Unary":
    case "Abs":
      stack.push(n.operand);
      return;
    case "Apply":
    case "Index":
      pushAll(n.args, stack);
      stack.push(n.callee);
      return;
    case "Member":
      stack.push(n.object);
      return;
    case "Phrase":
      return pushAll(n.parts, stack);
    case "Tuple":
    case "Set":
    case "List":
      return pushAll(n.items, stack);
  }
}

/**
 * Every node under `root` in pre-order, which is source order: a node's
 * descendants follow it, and are the nodes after it that start before it ends.
 */
function nodes(root: AISPNode): AISPNode[] {
  const out: AISPNode[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    out.push(n);
    pushChildren(n, stack);
  }
  return out;
}

interface Statement {
  /** "precondition 1", "the task", "postcondition 2". */
  label: string;
  text: string;
  tokens: Token[];
  ast: AISPNode;
  /** The AST's nodes in source order (`nodes(ast)`). */
  all: AISPNode[];
  errors: readonly AISPParseError[];
}

/**
 * Grades AISP task specs and documents. Stateless; one instance may be shared.
 *
 * @example
 * ```ts
 * import { AISPGrader } from "@ampbus/ampbus";
 *
 * const g = new AISPGrader().grade({
 *   preconditions: ["∀f ∈ Files: compiled(f)", "∀f ∈ Files: ready"],
 *   task: "check ≜ λf.lint(f)",
 *   postconditions: [],
 * });
 * if (!g.suggestions.includes("precondition 2 quantifies over f but never uses it")) throw new Error(g.suggestions.join("\n"));
 * ```
 */
export class AISPGrader {
  readonly #parser = new AISPParser();

  #statement(label: string, text: string): Statement {
    const tokens = this.#parser.tokenize(text);
    const r = this.#parser.parse(tokens);
    return { label, text, tokens, ast: r.ast!, all: nodes(r.ast!), errors: r.errors ?? [] };
  }

  /** Grades a task spec (docs/grading.md). */
  grade(spec: GradableSpec): Grade {
    const suggestions: string[] = [];
    const warnings: string[] = [];
    const c: Counts = { tokens: 0, symbols: 0, bindings: 0, blocks: new Set(), latinE: false };
    // One statement at a time, each let go before the next: a spec of many long statements
    // holds one statement's tokens at once, and at most MAX_GRADED units are parsed in all.
    const statements: [label: string, text: string, kind: "condition" | "task"][] = [
      ...spec.preconditions.map((s, i) => [`precondition ${i + 1}`, s, "condition"] as [string, string, "condition"]),
      ["the task", spec.task, "task"],
      ...spec.postconditions.map((s, i) => [`postcondition ${i + 1}`, s, "condition"] as [string, string, "condition"]),
    ];
    let budget = MAX_GRADED;
    let conditions = 0;
    let precisionSum = 0;
    let definesTask = 0;
    for (const [label, text, kind] of statements) {
      if (kind === "condition") conditions++;
      if (isBlank(text)) continue; // no terms, no quantifier, no definition
      if (text.length > budget) {
        warnings.push(`${label} is not parsed: a spec's statements are parsed up to ${MAX_GRADED} characters in all`);
        if (kind === "condition") suggestions.push(`shorten ${label}: it is past the ${MAX_GRADED} characters the grader parses, so it scores 0 for quantifier precision`);
        continue;
      }
      budget -= text.length;
      const s = this.#statement(label, text);
      count(s.tokens, c);
      if (s.errors.length > 0) {
        const e = s.errors[0];
        const more = s.errors.length > 1 ? ` (and ${s.errors.length - 1} more)` : "";
        warnings.push(`${s.label} does not parse at ${where(e)}: ${e.message}${more}`);
      }
      this.#ambiguities(s, warnings);
      if (kind === "condition") precisionSum += this.#precision(s, suggestions);
      else definesTask = s.all.some((n) => n.type === "Definition") ? 1 : 0;
    }
    if (c.latinE) warnings.push("⟦E⟧ is written with a Latin E; the evidence block is ⟦Ε⟧ (Greek capital epsilon, U+0395), so it does not count");
    const density = c.tokens === 0 ? 0 : Math.min(1, c.symbols / c.tokens / SYMBOL_DENSITY_SATURATION);
    const quantifierPrecision = conditions === 0 ? 0 : precisionSum / conditions;

    const hasPre = spec.preconditions.some((x) => !isBlank(x)) ? 1 : 0;
    const hasPost = spec.postconditions.some((x) => !isBlank(x)) ? 1 : 0;
    const conditionCompleteness = (hasPre + hasPost + definesTask) / 3;
    if (hasPre === 0) suggestions.push("add a precondition: what must hold before the task, such as ∀f ∈ Inputs: valid(f) (+0.0833)");
    if (hasPost === 0) suggestions.push("add a postcondition: what holds after the task, such as ∀t ∈ Tests: passed(t) = ⊤ (+0.0833)");
    if (definesTask === 0) suggestions.push("write the task as a definition, such as name ≜ λx.body(x) (+0.0833)");

    const ev = spec.evidence;
    // A confidence that is not a number in range counts as 0 (NaN) or 1 (over 1); an unknown method as 0.
    const confidence = ev !== undefined && typeof ev.confidence === "number" && ev.confidence >= 0 ? Math.min(1, ev.confidence) : 0;
    const weight = ev !== undefined && typeof ev.method === "string" && Object.hasOwn(METHOD_WEIGHTS, ev.method) ? METHOD_WEIGHTS[ev.method] : 0;
    const evidence = ev === undefined ? 0 : confidence * weight;
    if (ev === undefined) suggestions.push("attach evidence that the postconditions hold (setEvidence): a formal verification at confidence 1 adds 0.2");
    if (density < 1 && c.tokens > 0) {
      suggestions.push(`write more of the spec in AISP symbols (∀ ∈ ⇒ ≜ λ): ${c.symbols} of ${c.tokens} terms are symbols; at half, symbol density would add ${round4(GRADE_WEIGHTS.symbolDensity * (1 - density))}`);
    }

    const semanticDensity = round4(0.4 * (c.blocks.size / REQUIRED_BLOCKS.length) + 0.6 * Math.min(1, c.bindings / BINDINGS_FOR_FULL));
    let score = round4(
      GRADE_WEIGHTS.symbolDensity * density +
        GRADE_WEIGHTS.quantifierPrecision * quantifierPrecision +
        GRADE_WEIGHTS.conditionCompleteness * conditionCompleteness +
        GRADE_WEIGHTS.evidence * evidence,
    );
    // A task that is a whole AISP document is graded as one too; it keeps the better grade.
    if (c.blocks.size > 0 && semanticDensity > score) score = semanticDensity;
    return {
      tier: tierOf(score),
      score,
      semanticDensity,
      breakdown: {
        symbolDensity: round4(density),
        quantifierPrecision: round4(quantifierPrecision),
        conditionCompleteness: round4(conditionCompleteness),
        evidence: round4(evidence),
        tokens: c.tokens,
        symbols: c.symbols,
        blocks: c.blocks.size,
        bindings: c.bindings,
      },
      suggestions,
      warnings,
    };
  }

  /**
   * Grades a whole AISP document as the AISP 5.1 reference validator does:
   * the score is δ (`semanticDensity`), from its blocks and bindings.
   */
  gradeDocument(text: string): Grade {
    const s = this.#statement("the document", text);
    const c: Counts = { tokens: 0, symbols: 0, bindings: 0, blocks: new Set(), latinE: false };
    count(s.tokens, c);
    const warnings: string[] = [];
    const suggestions: string[] = [];
    if (s.errors.length > 0) warnings.push(`the document does not parse at ${where(s.errors[0])}: ${s.errors[0].message}${s.errors.length > 1 ? ` (and ${s.errors.length - 1} more)` : ""}`);
    this.#ambiguities(s, warnings);
    if (c.latinE) warnings.push("⟦E⟧ is written with a Latin E; the evidence block is ⟦Ε⟧ (Greek capital epsilon, U+0395), so it does not count");
    const missing = REQUIRED_BLOCKS.filter((b) => !c.blocks.has(b));
    if (missing.length > 0) suggestions.push(`add the blocks ${missing.map((b) => `⟦${b}⟧`).join(" ")} (+${round4(0.4 * missing.length / 5)})`);
    if (c.bindings < BINDINGS_FOR_FULL) suggestions.push(`use ${BINDINGS_FOR_FULL - c.bindings} more bindings (≜ ≔ ∀ ∃ λ ⇒ ∈ …) (+${round4(0.6 * (1 - c.bindings / BINDINGS_FOR_FULL))})`);
    const semanticDensity = round4(0.4 * (c.blocks.size / REQUIRED_BLOCKS.length) + 0.6 * Math.min(1, c.bindings / BINDINGS_FOR_FULL));
    const density = c.tokens === 0 ? 0 : Math.min(1, c.symbols / c.tokens / SYMBOL_DENSITY_SATURATION);
    return {
      tier: tierOf(semanticDensity),
      score: semanticDensity,
      semanticDensity,
      breakdown: {
        symbolDensity: round4(density),
        quantifierPrecision: 0,
        conditionCompleteness: 0,
        evidence: 0,
        tokens: c.tokens,
        symbols: c.symbols,
        blocks: c.blocks.size,
        bindings: c.bindings,
      },
      suggestions,
      warnings,
    };
  }

  /** A condition's quantifier precision, with a suggestion for each point it misses. */
  #precision(s: Statement, suggestions: string[]): number {
    if (isBlank(s.text)) return 0;
    if (s.errors.length > 0) {
      suggestions.push(`fix ${s.label} so that it parses (${where(s.errors[0])}: ${s.errors[0].message}); until then it scores 0 for quantifier precision`);
      return 0;
    }
    let quantifiers = 0;
    let sum = 0;
    const all = s.all;
    for (let i = 0; i < all.length; i++) {
      const q = all[i];
      if (q.type !== "Quantifier") continue;
      quantifiers++;
      let p = 0;
      if (q.domain !== undefined) p += 0.5;
      else {
        const vars = q.variables.map((v) => v.name).join(", ");
        suggestions.push(`${s.label}: ${q.quantifier}${vars} has no domain; write ${q.quantifier}${vars} ∈ Set (or ${q.quantifier}${vars}:Type:) to say what it ranges over`);
      }
      const body = q.body;
      if (body === undefined) p += 0.5;
      else {
        // The words of the body: the nodes after q that start within the body.
        const used = new Set<string>();
        for (let j = i + 1; j < all.length && all[j].start.offset < q.end.offset; j++) {
          const w = all[j];
          if (w.type === "Word" && w.start.offset >= body.start.offset) used.add(w.name);
        }
        const unused = q.variables.filter((v) => !used.has(v.name)).map((v) => v.name);
        if (unused.length === 0) p += 0.5;
        else suggestions.push(`${s.label} quantifies over ${unused.join(", ")} but never uses ${unused.length === 1 ? "it" : "them"}`);
      }
      sum += p;
    }
    if (quantifiers === 0) {
      suggestions.push(`${s.label} has no quantifier: say what it ranges over, as in ∀x ∈ Set: p(x)`);
      return 0;
    }
    return sum / quantifiers;
  }

  /** Warnings for what reads two ways: ∧ and ∨ mixed without parentheses, a variable bound again inside its own scope. */
  #ambiguities(s: Statement, warnings: string[]): void {
    const parenthesised = (n: AISPNode) => {
      for (let i = n.start.offset - 1; i >= 0; i--) {
        const ch = s.text[i];
        if (ch !== " " && ch !== "\t") return ch === "(";
      }
      return false;
    };
    let mixed = false;
    const all = s.all;
    // A name can be bound again only where there are two binders.
    let binders = 0;
    for (const n of all) if (n.type === "Quantifier" || n.type === "Lambda") binders++;
    for (let i = 0; i < all.length; i++) {
      const n = all[i];
      if (!mixed && n.type === "Binary" && n.operator === "∨") {
        for (const side of [n.left, n.right]) {
          if (side.type === "Binary" && side.operator === "∧" && !parenthesised(side)) mixed = true;
        }
        if (mixed) warnings.push(`${s.label} mixes ∧ and ∨ without parentheses at line ${n.start.line}, column ${n.start.column}: ∧ binds tighter, so a ∧ b ∨ c reads (a ∧ b) ∨ c; add parentheses to say which is meant`);
      }
      if (binders > 1 && (n.type === "Quantifier" || n.type === "Lambda") && n.body !== undefined) {
        const bound = n.type === "Quantifier" ? n.variables : n.params;
        const from = n.body.start.offset;
        for (const v of bound) {
          // The first binder of the same name inside the body, in source order.
          let again: AISPNode | undefined;
          for (let j = i + 1; j < all.length && all[j].start.offset < n.end.offset && again === undefined; j++) {
            const m = all[j];
            if (m.start.offset < from) continue;
            if ((m.type === "Quantifier" && m.variables.some((w) => w.name === v.name)) || (m.type === "Lambda" && m.params.some((w) => w.name === v.name))) again = m;
          }
          if (again !== undefined) {
            warnings.push(`${s.label} binds ${v.name} again at line ${again.start.line}, column ${again.start.column}, inside the scope of the ${v.name} bound at column ${v.start.column}: the inner ${v.name} hides the outer`);
          }
        }
      }
    }
  }
}
