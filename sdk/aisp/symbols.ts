/**
 * The AISP symbol table: every symbol the tokenizer knows, by category, with
 * its code points and the ASCII spelling the tokenizer also accepts for it.
 * The tokenizer, the grader, docs/grading.md and the live view all read this
 * one table. It is the part of the AISP 5.1 glossary (Σ₅₁₂) that task specs
 * use, arranged in eight categories.
 *
 * @module
 */

/**
 * The eight categories of the table, in the order the docs list them.
 *
 * @example
 * ```ts
 * import { SYMBOL_CATEGORIES } from "@ampbus/ampbus";
 *
 * if (SYMBOL_CATEGORIES.length !== 8 || SYMBOL_CATEGORIES[0] !== "quantifiers") throw new Error("wrong categories");
 * ```
 */
export const SYMBOL_CATEGORIES = [
  "quantifiers",
  "logic",
  "definitions",
  "sets",
  "relations",
  "functions",
  "topology",
  "evidence",
] as const;

/**
 * One of `SYMBOL_CATEGORIES`.
 *
 * @example
 * ```ts
 * import { type SymbolCategory, symbolInfo } from "@ampbus/ampbus";
 *
 * const c: SymbolCategory | undefined = symbolInfo("∀")?.category;
 * if (c !== "quantifiers") throw new Error(String(c));
 * ```
 */
export type SymbolCategory = typeof SYMBOL_CATEGORIES[number];

/**
 * One symbol of the table.
 *
 * @example
 * ```ts
 * import { type AISPSymbol, symbolInfo } from "@ampbus/ampbus";
 *
 * const s: AISPSymbol = symbolInfo("≜")!;
 * if (s.codePoints[0] !== "U+225C" || s.ascii !== "::=") throw new Error(JSON.stringify(s));
 * ```
 */
export interface AISPSymbol {
  /** The symbol as written, one or more characters (`∃!` and `◊⁺⁺` are two and three). */
  readonly symbol: string;
  /** What it means, in a few words. */
  readonly name: string;
  /** Which of `SYMBOL_CATEGORIES` it belongs to. */
  readonly category: SymbolCategory;
  /** The code point of each character, as `U+XXXX`. */
  readonly codePoints: readonly string[];
  /** An ASCII spelling the tokenizer reads as this symbol, where AISP gives one. */
  readonly ascii?: string;
}

// [symbol, name, ascii?] per category. ASCII spellings are operators only: words
// such as "forall" or "in" stay natural language.
const TABLE: Record<SymbolCategory, readonly (readonly [string, string, string?])[]> = {
  quantifiers: [
    ["∀", "for all"],
    ["∃", "there exists"],
    ["∃!", "there exists exactly one"],
    ["∄", "there exists no"],
  ],
  logic: [
    ["∧", "and", "&&"],
    ["∨", "or", "||"],
    ["¬", "not"],
    ["⇒", "implies", "=>"],
    ["⇔", "if and only if", "<=>"],
    ["⊕", "exclusive or"],
    ["⊤", "true"],
    ["⊥", "false"],
  ],
  definitions: [
    ["≜", "is defined as", "::="],
    ["≔", "is assigned", ":="],
    ["≡", "is identical to", "==="],
    ["≢", "is not identical to", "!=="],
    ["λ", "function of (lambda)"],
  ],
  sets: [
    ["∈", "is an element of"],
    ["∉", "is not an element of"],
    ["⊆", "is a subset of"],
    ["⊂", "is a proper subset of"],
    ["⊇", "is a superset of"],
    ["⊃", "is a proper superset of"],
    ["∪", "union"],
    ["∩", "intersection"],
    ["∖", "set difference"],
    ["∅", "the empty set"],
    ["×", "product"],
    ["ℕ", "natural numbers"],
    ["ℤ", "integers"],
    ["ℚ", "rationals"],
    ["ℝ", "reals"],
    ["ℂ", "complex numbers"],
    ["𝔹", "booleans"],
    ["𝕊", "strings"],
    ["𝒫", "power set"],
  ],
  relations: [
    ["≠", "is not equal to", "!="],
    ["≤", "is at most", "<="],
    ["≥", "is at least", ">="],
    ["≈", "is approximately"],
    ["≺", "precedes"],
    ["≻", "succeeds"],
    ["≅", "is isomorphic to"],
  ],
  functions: [
    ["→", "maps to (function type)", "->"],
    ["←", "takes the value of", "<-"],
    ["↔", "corresponds to", "<->"],
    ["↦", "sends to", "|->"],
    ["∘", "composed with"],
    ["∑", "sum"],
    ["∏", "product over"],
    ["∫", "integral"],
    ["∂", "parse (partial)"],
  ],
  topology: [
    ["⟦", "block open"],
    ["⟧", "block close"],
    ["⟨", "tuple open"],
    ["⟩", "tuple close"],
    ["𝔸", "AISP document header"],
    ["□", "always"],
    ["◇", "eventually"],
    ["∞", "infinity"],
  ],
  evidence: [
    ["⊢", "proves", "|-"],
    ["⊨", "models"],
    ["∎", "end of proof"],
    ["◊⁺⁺", "tier platinum"],
    ["◊⁺", "tier gold"],
    ["◊", "tier silver"],
    ["◊⁻", "tier bronze"],
    ["⊘", "tier reject"],
  ],
};

function codePointsOf(s: string): string[] {
  return [...s].map((ch) => "U+" + ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0"));
}

/**
 * Every symbol of the table, category by category.
 *
 * @example
 * ```ts
 * import { AISP_SYMBOL_TABLE } from "@ampbus/ampbus";
 *
 * const logic = AISP_SYMBOL_TABLE.filter((s) => s.category === "logic").map((s) => s.symbol);
 * if (!logic.includes("⇒") || logic.includes("∀")) throw new Error(logic.join(" "));
 * ```
 */
export const AISP_SYMBOL_TABLE: readonly AISPSymbol[] = Object.freeze(
  SYMBOL_CATEGORIES.flatMap((category) =>
    TABLE[category].map(([symbol, name, ascii]) =>
      Object.freeze(ascii === undefined ? { symbol, name, category, codePoints: codePointsOf(symbol) } : { symbol, name, category, codePoints: codePointsOf(symbol), ascii })
    )
  ),
);

const BY_TEXT = new Map<string, AISPSymbol>();
for (const s of AISP_SYMBOL_TABLE) {
  BY_TEXT.set(s.symbol, s);
  if (s.ascii !== undefined) BY_TEXT.set(s.ascii, s);
}

/**
 * The table's entry for a symbol, given as itself or by its ASCII spelling.
 *
 * @example
 * ```ts
 * import { symbolInfo } from "@ampbus/ampbus";
 *
 * if (symbolInfo("=>")?.symbol !== "⇒" || symbolInfo("x") !== undefined) throw new Error("wrong lookup");
 * ```
 */
export function symbolInfo(text: string): AISPSymbol | undefined {
  return BY_TEXT.get(text);
}

/**
 * 1 at the UTF-16 code units that can begin a symbol or an ASCII spelling (high surrogates included).
 *
 * @example
 * ```ts
 * import { SYMBOL_START } from "./symbols.ts";
 *
 * if (SYMBOL_START["∀".charCodeAt(0)] !== 1 || SYMBOL_START["a".charCodeAt(0)] !== 0) throw new Error("wrong starts");
 * ```
 */
export const SYMBOL_START: Uint8Array = (() => {
  const t = new Uint8Array(0x10000);
  for (const k of BY_TEXT.keys()) t[k.charCodeAt(0)] = 1;
  return t;
})();
