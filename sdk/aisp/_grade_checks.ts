/**
 * The AISP grader's reading of one statement beyond its counts: quantifier
 * precision (a component of the score, with a suggestion for each point a
 * condition misses), and the warnings: a statement that does not parse, ∧
 * and ∨ mixed without parentheses, a variable bound again in its own scope.
 * The Python client words every suggestion and warning the same.
 *
 * @module
 */
import type { Statement } from "./_grade_counts.ts";
import { isBlank } from "./tokenizer.ts";
import type { AISPNode, AISPParseError } from "./types.ts";

const where = (e: AISPParseError) => `line ${e.line}, column ${e.column}`;

/** The warning for a ⟦E⟧ block (`Counts.latinE`). */
export const LATIN_E_WARNING = "⟦E⟧ is written with a Latin E; the evidence block is ⟦Ε⟧ (Greek capital epsilon, U+0395), so it does not count";

/** Warns of a statement's first parse error (and how many more), then of what in it reads two ways. */
export function statementWarnings(s: Statement, warnings: string[]): void {
  if (s.errors.length > 0) {
    const e = s.errors[0];
    const more = s.errors.length > 1 ? ` (and ${s.errors.length - 1} more)` : "";
    warnings.push(`${s.label} does not parse at ${where(e)}: ${e.message}${more}`);
  }
  ambiguities(s, warnings);
}

/** A condition's quantifier precision, with a suggestion for each point it misses. */
export function precision(s: Statement, suggestions: string[]): number {
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
function ambiguities(s: Statement, warnings: string[]): void {
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
