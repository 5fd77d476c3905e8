/**
 * The AISP parser: recursive descent over the tokens of `tokenize()`, into
 * the AST of `types.ts`. Total and linear: every token is consumed once
 * (an error skips to the end of its statement and parsing goes on with the
 * next), nesting is bounded by `MAX_NESTING`, and no rule backtracks. The
 * grammar, loosest binding first (docs/grading.md has it with examples):
 *
 * ```
 * statements  := statement ((";" | newline) statement)*
 * statement   := label (":" label)*                      type or label
 * label       := arrow (("≜" | "≔") statement)?         definition
 * arrow       := or (("⇒" "⇔" "→" "↔" "←" "↦" "⊢" "⊨") arrow)?
 * or          := and (("∨" | "⊕") and)*
 * and         := not ("∧" not)*
 * not         := "¬" not | compare
 * compare     := setop (("=" "≠" "<" ">" "≤" "≥" "≡" "≢" "≈" "∈" "∉" "⊆" "⊂" "⊇" "⊃" "≺" "≻" "≅") setop)*
 * setop       := sum (("∪" "∩" "∖" "×" "∘" "|") sum)*
 * sum         := product (("+" | "-") product)*
 * product     := prefix (("*" | "/" | "^") prefix)*
 * prefix      := ("-" | "□" | "◇" | "⊢" | "∑" | "∏" | "∫" | "∂") prefix | phrase
 * phrase      := postfix postfix*                        terms side by side (prose)
 * postfix     := primary ("(" args ")" | "[" args "]" | "⟨" args "⟩" | "." word)*   adjacent, no space
 * primary     := word | number | string | constant | quantifier | lambda | block | header
 *              | "(" args ")" | "[" args "]" | "{" statements "}" | "⟨" statements "⟩" | "|" sum "|"
 * quantifier  := ("∀" | "∃" | "∃!" | "∄") word ("," word)* (("∈" | "⊆") setop | ":" arrow ":")? (":" | "." | ",")? statement
 * lambda      := "λ" (word | "(" (word ("," word)*)? ")") "." statement
 * block       := blockname ("{" statements "}" | "⟨" statements "⟩")?
 * ```
 *
 * One level of the grammar a file: `_parse_cursor.ts` holds the place in
 * the tokens and the moves every rule makes, `_parse_formula.ts` the
 * operators (statement … phrase), `_parse_terms.ts` the terms (postfix …
 * block); this file has the statement list with its error recovery, and
 * the `AISPParser` that runs it.
 *
 * @module
 */
import { Failure, op } from "./_parse_cursor.ts";
import { CLOSERS, TermRules } from "./_parse_terms.ts";
import { tokenize } from "./tokenizer.ts";
import type { AISPDocument, AISPNode, ParseResult, Token } from "./types.ts";

export { MAX_NESTING } from "./_parse_cursor.ts";

/**
 * Most errors one parse reports; at the last, parsing stops.
 *
 * @example
 * ```ts
 * import { MAX_ERRORS } from "./parser.ts";
 * import { AISPParser } from "@ampbus/ampbus";
 *
 * if (new AISPParser().parseString("λ.\n".repeat(MAX_ERRORS + 5)).errors!.length !== MAX_ERRORS) throw new Error("not capped");
 * ```
 */
export const MAX_ERRORS = 50;

/** Tokens that end a statement: newlines and these. */
const SEPARATORS = new Set([";", ",", ".", "!", "?"]);
const isSeparator = (t: Token | undefined) => t !== undefined && (t.kind === "newline" || (t.kind === "punct" && SEPARATORS.has(t.text)));

/** The rules of all levels, and the statement list they end in. */
class Parse extends TermRules {
  /** Statements up to `closer` (or the end), separated by `;`, `,` inside brackets, or newlines. */
  statements(closer: string | undefined): AISPNode[] {
    const out: AISPNode[] = [];
    for (;;) {
      while (isSeparator(this.peek())) this.i++;
      const t = this.peek();
      if (t === undefined || (closer !== undefined && op(t) === closer)) return out;
      const mark = this.depth;
      const from = this.i;
      try {
        out.push(this.statement());
        const after = this.peek();
        if (after !== undefined && !isSeparator(after) && !(closer !== undefined && op(after) === closer)) {
          this.fail(closer === undefined ? "expected an operator or the end of the statement" : `expected an operator, a separator or ${closer}`);
        }
      } catch (e) {
        if (!(e instanceof Failure)) throw e;
        // Too deep: the outermost list reports it and the parse stops.
        if (e.fatal && closer !== undefined) throw e;
        this.depth = mark;
        this.errors.push(e.error);
        // Past MAX_ERRORS the rest of the input is not looked at: the work per input stays bounded by its length.
        if (e.fatal || this.errors.length >= MAX_ERRORS) {
          this.i = this.t.length;
          return out;
        }
        this.#recover(closer);
        // Always move on: a token no rule takes (a stray closer) is stepped over.
        if (this.i === from) this.i++;
      }
    }
  }

  /** Skips to the end of the failed statement: a separator or `closer` outside the brackets opened since. */
  #recover(closer: string | undefined): void {
    let open = 0;
    for (let t = this.peek(); t !== undefined; t = this.peek()) {
      const o = op(t);
      if (open === 0 && (isSeparator(t) || (closer !== undefined && o === closer))) return;
      if (o !== undefined && CLOSERS[o] !== undefined) open++;
      else if (o === ")" || o === "]" || o === "}" || o === "⟩") {
        if (open === 0) {
          // A closer of an outer list: leave it to that list, or (at the top) step over it.
          if (closer !== undefined) return;
        } else open--;
      }
      this.i++;
    }
  }
}

/**
 * The work a parse of `tokens` does, counted as the times a rule looks at the
 * next token: what tests/sdk/aisp_parser.test.ts holds to a constant per
 * token. Internal (mod.ts does not list it).
 *
 * @example
 * ```ts
 * import { parseSteps } from "./parser.ts";
 * import { tokenize } from "./tokenizer.ts";
 *
 * const tokens = tokenize("∀x ∈ S: p(x)");
 * if (parseSteps(tokens) > 100 * tokens.length) throw new Error("too much work");
 * ```
 */
export function parseSteps(tokens: readonly Token[]): number {
  const p = new Parse(tokens);
  p.statements(undefined);
  return p.steps;
}

/**
 * Parses AISP: task specs (`∀f ∈ Files: hasError(f) ⇒ collect(f)`,
 * `validate ≜ λf.runTests(f)`), and whole AISP documents with their header
 * and blocks. Stateless; one instance may be shared.
 *
 * @example
 * ```ts
 * import { AISPParser } from "@ampbus/ampbus";
 *
 * const parser = new AISPParser();
 * const ok = parser.parseString("∀f ∈ Files: hasError(f) ⇒ collect(f)");
 * if (!ok.success || ok.ast!.body[0].type !== "Quantifier") throw new Error(JSON.stringify(ok.errors));
 * const bad = parser.parseString("∀ ∈ Files");
 * const e = bad.errors![0];
 * if (bad.success || e.column !== 3 || e.message !== "expected a bound variable after ∀, found ∈") throw new Error(JSON.stringify(e));
 * ```
 */
export class AISPParser {
  /** The tokens of `input`, newlines and `;;` comments included. */
  tokenize(input: string): Token[] {
    return tokenize(input);
  }

  /** Parses tokens from `tokenize()`. */
  parse(tokens: readonly Token[]): ParseResult {
    const p = new Parse(tokens);
    const body = p.statements(undefined);
    const first = tokens.find((t) => t.kind !== "newline" && t.kind !== "comment");
    const last = tokens[tokens.length - 1];
    const zero = { line: 1, column: 1, offset: 0 };
    const ast: AISPDocument = { type: "Document", body, start: first?.start ?? zero, end: last?.end ?? zero };
    return p.errors.length === 0 ? { success: true, ast } : { success: false, ast, errors: p.errors };
  }

  /** `parse(tokenize(input))`. */
  parseString(input: string): ParseResult {
    return this.parse(tokenize(input));
  }
}
