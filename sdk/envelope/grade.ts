/**
 * The AISP grader: scores a task spec in [0, 1] and maps the score to a
 * quality tier. The formula is documented in `docs/grading.md`; every step is
 * deterministic, so every runtime grades a spec the same.
 *
 * @module
 */
import type { ProofMethod, QualityTier, TaskSpec } from "./envelope.ts";

/** Weights of the four components; they sum to 1. */
export const GRADE_WEIGHTS = {
  symbolDensity: 0.30,
  quantifierPrecision: 0.25,
  conditionCompleteness: 0.25,
  evidence: 0.20,
} as const;

/** Lowest score of each tier; below bronze is `reject`. */
export const TIER_THRESHOLDS = { platinum: 0.75, gold: 0.60, silver: 0.40, bronze: 0.20 } as const;

/** The raw symbol density at which the symbol-density component saturates at 1. */
export const SYMBOL_DENSITY_SATURATION = 0.5;

/** How much each proof method is worth, before confidence. */
export const METHOD_WEIGHTS: Record<ProofMethod, number> = {
  "formal-verification": 1.0,
  "test-execution": 0.85,
  "static-analysis": 0.7,
};

/**
 * The AISP symbols the grader counts: quantifiers, logic, sets, definitions,
 * relations and the usual number sets.
 */
export const AISP_SYMBOLS = "∀∃∄λ≜≔⇒→←↔⇔∧∨¬⊕∈∉⊆⊂⊇⊃∪∩∅⊤⊥≡≢≠≤≥≈∘⊢⊨↦×∑∏∫ℕℤℚℝℂ𝔹∞◊□";

const SYMBOL_SET = new Set(Array.from(AISP_SYMBOLS));
const SYMBOL_CLASS = Array.from(AISP_SYMBOLS).join("");
// A token is one AISP symbol, or a run of characters that are neither white space nor symbols.
const TOKEN = new RegExp(`[${SYMBOL_CLASS}]|[^\\s${SYMBOL_CLASS}]+`, "gu");
// A quantifier, its bound variables, and what follows them.
const QUANTIFIER = /(∀|∃!?|∄)\s*([\p{L}_][\p{L}\p{N}_']*(?:\s*,\s*[\p{L}_][\p{L}\p{N}_']*)*)\s*(∈|⊆|:)?/gu;

/** Per-component scores, each in [0, 1]. */
export interface GradeBreakdown {
  symbolDensity: number;
  quantifierPrecision: number;
  conditionCompleteness: number;
  evidence: number;
  /** Tokens counted over all statements, and how many were AISP symbols. */
  tokens: number;
  symbols: number;
}

/** The result of `grade()`. */
export interface Grade {
  tier: QualityTier;
  /** Weighted sum of the breakdown, in [0, 1], rounded to 4 decimals. */
  score: number;
  breakdown: GradeBreakdown;
}

/** Maps a score to its tier. */
export function tierOf(score: number): QualityTier {
  if (score >= TIER_THRESHOLDS.platinum) return "platinum";
  if (score >= TIER_THRESHOLDS.gold) return "gold";
  if (score >= TIER_THRESHOLDS.silver) return "silver";
  if (score >= TIER_THRESHOLDS.bronze) return "bronze";
  return "reject";
}

/**
 * 1 if every quantifier in the condition binds its variables to a domain
 * (`∈`, `⊆` or `:`), 0.5 if at least one does not, 0 if it has no quantifier.
 */
function conditionPrecision(condition: string): number {
  let quantifiers = 0;
  let bounded = 0;
  for (const m of condition.matchAll(QUANTIFIER)) {
    quantifiers++;
    if (m[3] !== undefined) bounded++;
  }
  if (quantifiers === 0) return 0;
  return bounded === quantifiers ? 1 : 0.5;
}

const round4 = (x: number) => Math.round(x * 10000) / 10000;

/**
 * Grades an AISP task spec.
 *
 * @example
 * ```ts
 * grade({
 *   preconditions: ["∀f ∈ CodeFiles: compiled(f) = ⊤"],
 *   task: "validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8",
 *   postconditions: ["∀t ∈ Tests: passed(t) = ⊤"],
 * }); // { tier: "platinum", score: 0.7727, ... }
 * ```
 */
export function grade(spec: TaskSpec): Grade {
  const statements = [...spec.preconditions, spec.task, ...spec.postconditions];
  let tokens = 0;
  let symbols = 0;
  for (const s of statements) {
    for (const m of s.matchAll(TOKEN)) {
      tokens++;
      if (SYMBOL_SET.has(m[0])) symbols++;
    }
  }
  const symbolDensity = tokens === 0 ? 0 : Math.min(1, symbols / tokens / SYMBOL_DENSITY_SATURATION);

  const conditions = [...spec.preconditions, ...spec.postconditions];
  let precisionSum = 0;
  for (const c of conditions) precisionSum += conditionPrecision(c);
  const quantifierPrecision = conditions.length === 0 ? 0 : precisionSum / conditions.length;

  const hasPre = spec.preconditions.some((c) => c.trim() !== "") ? 1 : 0;
  const hasPost = spec.postconditions.some((c) => c.trim() !== "") ? 1 : 0;
  const definesTask = /[≜≔]/u.test(spec.task) ? 1 : 0;
  const conditionCompleteness = (hasPre + hasPost + definesTask) / 3;

  const ev = spec.evidence;
  const evidence = ev === undefined ? 0 : Math.min(1, Math.max(0, ev.confidence)) * (METHOD_WEIGHTS[ev.method] ?? 0);

  const score = round4(
    GRADE_WEIGHTS.symbolDensity * symbolDensity +
      GRADE_WEIGHTS.quantifierPrecision * quantifierPrecision +
      GRADE_WEIGHTS.conditionCompleteness * conditionCompleteness +
      GRADE_WEIGHTS.evidence * evidence,
  );
  return {
    tier: tierOf(score),
    score,
    breakdown: {
      symbolDensity: round4(symbolDensity),
      quantifierPrecision: round4(quantifierPrecision),
      conditionCompleteness: round4(conditionCompleteness),
      evidence: round4(evidence),
      tokens,
      symbols,
    },
  };
}
