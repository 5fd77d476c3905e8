/**
 * The AISP grader: grades a task spec from the AST of each of its
 * statements, and explains the grade: a breakdown per component,
 * suggestions that would raise it and warnings where a statement reads two
 * ways. docs/grading.md has every formula with worked examples; the Python
 * client (clients/python/ampbus/aisp/_grader.py) computes the same numbers and
 * strings, held to it by tests/vectors/aisp/vectors.json.
 *
 *
 * One concern a file: `grade_scale.ts` holds the tiers, weights and the
 * shape of a grade (all re-exported here), `_grade_counts.ts` what is
 * counted in a statement and the densities, `_grade_checks.ts` quantifier
 * precision and the warnings; this file puts them together.
 *
 * @module
 */
import { LATIN_E_WARNING, precision, statementWarnings } from "./_grade_checks.ts";
import { BINDINGS_FOR_FULL, count, type Counts, noCounts, nodes, round4, semanticDensity, type Statement, symbolDensity } from "./_grade_counts.ts";
import { type GradableSpec, type Grade, GRADE_WEIGHTS, METHOD_WEIGHTS, REQUIRED_BLOCKS, tierOf } from "./grade_scale.ts";
import { AISPParser } from "./parser.ts";
import { isBlank } from "./tokenizer.ts";

export {
  AISP_SYMBOLS,
  BINDING_SYMBOLS,
  type GradableSpec,
  type Grade,
  type GradeBreakdown,
  GRADE_WEIGHTS,
  type GradeTier,
  METHOD_WEIGHTS,
  REQUIRED_BLOCKS,
  SYMBOL_DENSITY_SATURATION,
  TIER_SYMBOLS,
  TIER_THRESHOLDS,
  tierOf,
} from "./grade_scale.ts";

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

/** What a grade says besides the counts: the score, δ, the unrounded components, and the advice. */
interface Scores {
  score: number;
  semanticDensity: number;
  density: number;
  quantifierPrecision: number;
  conditionCompleteness: number;
  evidence: number;
  suggestions: string[];
  warnings: string[];
}

function gradeOf(c: Counts, g: Scores): Grade {
  return {
    tier: tierOf(g.score),
    score: g.score,
    semanticDensity: g.semanticDensity,
    breakdown: {
      symbolDensity: round4(g.density),
      quantifierPrecision: round4(g.quantifierPrecision),
      conditionCompleteness: round4(g.conditionCompleteness),
      evidence: round4(g.evidence),
      tokens: c.tokens,
      symbols: c.symbols,
      blocks: c.blocks.size,
      bindings: c.bindings,
    },
    suggestions: g.suggestions,
    warnings: g.warnings,
  };
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
    const c = noCounts();
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
      statementWarnings(s, warnings);
      if (kind === "condition") precisionSum += precision(s, suggestions);
      else definesTask = s.all.some((n) => n.type === "Definition") ? 1 : 0;
    }
    if (c.latinE) warnings.push(LATIN_E_WARNING);
    const density = symbolDensity(c);
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

    const delta = semanticDensity(c);
    let score = round4(
      GRADE_WEIGHTS.symbolDensity * density +
        GRADE_WEIGHTS.quantifierPrecision * quantifierPrecision +
        GRADE_WEIGHTS.conditionCompleteness * conditionCompleteness +
        GRADE_WEIGHTS.evidence * evidence,
    );
    // A task that is a whole AISP document is graded as one too; it keeps the better grade.
    if (c.blocks.size > 0 && delta > score) score = delta;
    return gradeOf(c, { score, semanticDensity: delta, density, quantifierPrecision, conditionCompleteness, evidence, suggestions, warnings });
  }

  /**
   * Grades a whole AISP document as the AISP 5.1 reference validator does:
   * the score is δ (`semanticDensity`), from its blocks and bindings.
   */
  gradeDocument(text: string): Grade {
    const s = this.#statement("the document", text);
    const c = noCounts();
    count(s.tokens, c);
    const warnings: string[] = [];
    const suggestions: string[] = [];
    statementWarnings(s, warnings);
    if (c.latinE) warnings.push(LATIN_E_WARNING);
    const missing = REQUIRED_BLOCKS.filter((b) => !c.blocks.has(b));
    if (missing.length > 0) suggestions.push(`add the blocks ${missing.map((b) => `⟦${b}⟧`).join(" ")} (+${round4(0.4 * missing.length / 5)})`);
    if (c.bindings < BINDINGS_FOR_FULL) suggestions.push(`use ${BINDINGS_FOR_FULL - c.bindings} more bindings (≜ ≔ ∀ ∃ λ ⇒ ∈ …) (+${round4(0.6 * (1 - c.bindings / BINDINGS_FOR_FULL))})`);
    const delta = semanticDensity(c);
    const density = symbolDensity(c);
    return gradeOf(c, { score: delta, semanticDensity: delta, density, quantifierPrecision: 0, conditionCompleteness: 0, evidence: 0, suggestions, warnings });
  }
}
