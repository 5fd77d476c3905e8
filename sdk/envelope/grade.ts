/**
 * `grade(spec)`: the AISP grader (sdk/aisp/grader.ts) on a task spec. It
 * scores the spec in [0, 1] from the AST of each statement, maps the score
 * to a quality tier and says what would raise it. The formula is documented
 * in `docs/grading.md`; every step is deterministic, so every runtime (and
 * the Python client) grades a spec the same.
 *
 * @module
 */
import { AISPGrader, type Grade } from "../aisp/grader.ts";
import type { TaskSpec } from "./envelope.ts";

export {
  AISP_SYMBOLS,
  BINDING_SYMBOLS,
  type Grade,
  type GradeBreakdown,
  GRADE_WEIGHTS,
  MAX_GRADED,
  METHOD_WEIGHTS,
  REQUIRED_BLOCKS,
  SYMBOL_DENSITY_SATURATION,
  TIER_SYMBOLS,
  TIER_THRESHOLDS,
  tierOf,
} from "../aisp/grader.ts";

const grader = new AISPGrader();

/**
 * Grades an AISP task spec: `new AISPGrader().grade(spec)`.
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
 * if (!g.suggestions[0].startsWith("attach evidence")) throw new Error(g.suggestions.join("\n"));
 * ```
 */
export function grade(spec: TaskSpec): Grade {
  return grader.grade(spec);
}
