/**
 * The scale the AISP grader grades on: the tiers with their thresholds and
 * symbols, the weights of the four components, what the counts count (AISP
 * symbols, binding symbols, the required blocks), and the shape of a
 * grade. The numbers are docs/grading.md's; `grader.ts` re-exports them all.
 *
 * @module
 */
import { AISP_SYMBOL_TABLE } from "./symbols.ts";

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
