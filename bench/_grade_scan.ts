/**
 * The grader ampbus had before the AISP parser (until commit 2325ba0), kept
 * for the benchmark only: it counted tokens with a scan over char codes and
 * found quantifiers with one regular expression, without an AST, and so could
 * not tell whether a bound variable is used or a statement parses. The
 * serializer benchmark times it beside today's `grade()`.
 *
 * @module
 */
import { AISP_SYMBOLS, GRADE_WEIGHTS, METHOD_WEIGHTS, SYMBOL_DENSITY_SATURATION, type TaskSpec, tierOf } from "../mod.ts";

// The former symbol set (today's table has a few more symbols).
const FORMER_SYMBOLS = "∀∃∄λ≜≔⇒→←↔⇔∧∨¬⊕∈∉⊆⊂⊇⊃∪∩∅⊤⊥≡≢≠≤≥≈∘⊢⊨↦×∑∏∫ℕℤℚℝℂ𝔹∞◊□";
void AISP_SYMBOLS;
const SYMBOL_CODES = new Uint8Array(0x10000);
const ASTRAL = new Set<number>();
for (const ch of FORMER_SYMBOLS) {
  const cp = ch.codePointAt(0)!;
  if (cp > 0xffff) ASTRAL.add(cp);
  else SYMBOL_CODES[cp] = 1;
}
const isSpace = (c: number) =>
  c <= 0x20 ? c === 0x20 || (c >= 0x09 && c <= 0x0d) : c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;

function countTokens(s: string, count: { tokens: number; symbols: number }): void {
  let inRun = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let symbol = SYMBOL_CODES[c] === 1;
    if (!symbol && c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        symbol = ASTRAL.has(((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000);
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

const QUANTIFIER = /(∀|∃!?|∄)\s*([\p{L}_][\p{L}\p{N}_']*(?:\s*,\s*[\p{L}_][\p{L}\p{N}_']*)*)\s*(∈|⊆|:)?/gu;

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

/** The former `grade(spec)`: tier and score only. */
export function scanGrade(spec: TaskSpec): { tier: string; score: number } {
  const count = { tokens: 0, symbols: 0 };
  for (const s of spec.preconditions) countTokens(s, count);
  countTokens(spec.task, count);
  for (const s of spec.postconditions) countTokens(s, count);
  const density = count.tokens === 0 ? 0 : Math.min(1, count.symbols / count.tokens / SYMBOL_DENSITY_SATURATION);
  const conditions = [...spec.preconditions, ...spec.postconditions];
  let sum = 0;
  for (const c of conditions) sum += conditionPrecision(c);
  const precision = conditions.length === 0 ? 0 : sum / conditions.length;
  const completeness = ((spec.preconditions.some((c) => c.trim() !== "") ? 1 : 0) + (spec.postconditions.some((c) => c.trim() !== "") ? 1 : 0) + (/[≜≔]/u.test(spec.task) ? 1 : 0)) / 3;
  const ev = spec.evidence;
  const evidence = ev === undefined ? 0 : Math.min(1, Math.max(0, ev.confidence)) * (METHOD_WEIGHTS[ev.method] ?? 0);
  const score = round4(GRADE_WEIGHTS.symbolDensity * density + GRADE_WEIGHTS.quantifierPrecision * precision + GRADE_WEIGHTS.conditionCompleteness * completeness + GRADE_WEIGHTS.evidence * evidence);
  return { tier: tierOf(score), score };
}
