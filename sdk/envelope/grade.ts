/**
 * The AISP grader: scores a task spec in [0, 1] and maps the score to a
 * quality tier. The formula is documented in `docs/grading.md`; every step is
 * deterministic, so every runtime grades a spec the same.
 *
 * @module
 */
import type { ProofMethod, QualityTier, TaskSpec } from "./envelope.ts";

/**
 * Weights of the four components; they sum to 1.
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
 * Lowest score of each tier; below bronze is `reject`.
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
 * The raw symbol density (AISP symbols per token) at which the
 * symbol-density component saturates at 1: half the tokens being symbols
 * scores as well as all of them.
 *
 * @example
 * ```ts
 * import { grade, SYMBOL_DENSITY_SATURATION } from "@ampbus/ampbus";
 *
 * const g = grade({ preconditions: [], task: "x ≜ y", postconditions: [] }); // 1 symbol in 3 tokens
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
export const METHOD_WEIGHTS: Record<ProofMethod, number> = {
  "formal-verification": 1.0,
  "test-execution": 0.85,
  "static-analysis": 0.7,
};

/**
 * The AISP symbols the grader counts: quantifiers, logic, sets, definitions,
 * relations and the usual number sets.
 *
 * @example
 * ```ts
 * import { AISP_SYMBOLS } from "@ampbus/ampbus";
 *
 * if (!AISP_SYMBOLS.includes("∀") || AISP_SYMBOLS.includes("=")) throw new Error("wrong symbol set");
 * ```
 */
export const AISP_SYMBOLS = "∀∃∄λ≜≔⇒→←↔⇔∧∨¬⊕∈∉⊆⊂⊇⊃∪∩∅⊤⊥≡≢≠≤≥≈∘⊢⊨↦×∑∏∫ℕℤℚℝℂ𝔹∞◊□";

// A token is one AISP symbol, or a run of characters that are neither white space nor
// symbols (as the regex /[symbols]|[^\s symbols]+/gu would cut them). ampd grades every
// spec it stores, so tokens are counted with a scan over char codes, not a regex.
const SYMBOL_CODES = new Uint8Array(0x10000);
const ASTRAL_SYMBOLS = new Set<number>();
for (const ch of AISP_SYMBOLS) {
  const cp = ch.codePointAt(0)!;
  if (cp > 0xffff) ASTRAL_SYMBOLS.add(cp);
  else SYMBOL_CODES[cp] = 1;
}

/** White space as the regex class `\s` has it. */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Adds the tokens of `s`, and how many of them are AISP symbols, to `count`. */
function countTokens(s: string, count: { tokens: number; symbols: number }): void {
  let inRun = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let symbol = SYMBOL_CODES[c] === 1;
    if (!symbol && c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        symbol = ASTRAL_SYMBOLS.has(((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000);
        if (symbol) i++;
      }
    }
    if (symbol) {
      count.tokens++;
      count.symbols++;
      inRun = false;
    } else if (isSpace(c)) inRun = false;
    else if (!inRun) {
      count.tokens++;
      inRun = true;
    }
  }
}
// A quantifier, its bound variables, and what follows them.
const QUANTIFIER = /(∀|∃!?|∄)\s*([\p{L}_][\p{L}\p{N}_']*(?:\s*,\s*[\p{L}_][\p{L}\p{N}_']*)*)\s*(∈|⊆|:)?/gu;

/**
 * Per-component scores, each in [0, 1] and rounded to 4 decimals
 * (docs/grading.md has the formulas).
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
  /** Share of tokens that are AISP symbols, saturating at `SYMBOL_DENSITY_SATURATION`. */
  symbolDensity: number;
  /** Mean over the conditions: 1 if every quantifier binds to a domain (`∈`, `⊆`, `:`), 0.5 if not all do, 0 without one. */
  quantifierPrecision: number;
  /** Thirds for: a precondition, a postcondition, and a task that defines (`≜` or `≔`). */
  conditionCompleteness: number;
  /** The evidence's confidence times its method's weight; 0 without evidence. */
  evidence: number;
  /** Tokens counted over all statements. */
  tokens: number;
  /** How many of the tokens were AISP symbols. */
  symbols: number;
}

/**
 * The result of `grade()`.
 *
 * @example
 * ```ts
 * import { grade, type Grade } from "@ampbus/ampbus";
 *
 * const g: Grade = grade({ preconditions: [], task: "fix the tests", postconditions: [] });
 * if (g.tier !== "reject" || g.score !== 0) throw new Error(JSON.stringify(g));
 * ```
 */
export interface Grade {
  /** The tier of `score` (`tierOf(score)`). */
  tier: QualityTier;
  /** Weighted sum of the breakdown, in [0, 1], rounded to 4 decimals. */
  score: number;
  /** The four component scores and the token counts. */
  breakdown: GradeBreakdown;
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
  if (!/[∀∃∄]/.test(condition)) return 0;
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
 * import { grade } from "@ampbus/ampbus";
 *
 * const g = grade({
 *   preconditions: ["∀f ∈ CodeFiles: compiled(f) = ⊤"],
 *   task: "validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8",
 *   postconditions: ["∀t ∈ Tests: passed(t) = ⊤"],
 * });
 * if (g.tier !== "platinum" || g.score !== 0.7727) throw new Error(JSON.stringify(g));
 * ```
 */
export function grade(spec: TaskSpec): Grade {
  const count = { tokens: 0, symbols: 0 };
  for (const s of spec.preconditions) countTokens(s, count);
  countTokens(spec.task, count);
  for (const s of spec.postconditions) countTokens(s, count);
  const { tokens, symbols } = count;
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
