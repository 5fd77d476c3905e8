/**
 * Where the AISP parser is in the token list, and the moves every rule of
 * the grammar makes: look at the next token, take it, fail with what was
 * expected, enter one more level of nesting. The rules build on it, one
 * level of the grammar a file: `_parse_formula.ts` (the operators),
 * `_parse_terms.ts` (terms, binders and brackets), `parser.ts` (statements
 * and error recovery).
 *
 * @module
 */
import type { AISPParseError, Position, Token } from "./types.ts";

/**
 * Deepest nesting of brackets, quantifiers, lambdas and prefix operators the
 * parser follows; deeper is an error (not a stack overflow), and the parse
 * stops there. Small enough for the Python client's recursion limit as well.
 *
 * @example
 * ```ts
 * import { AISPParser, MAX_NESTING } from "@ampbus/ampbus";
 *
 * const deep = "(".repeat(MAX_NESTING + 1) + "x" + ")".repeat(MAX_NESTING + 1);
 * if (new AISPParser().parseString(deep).success) throw new Error("too deep to parse");
 * ```
 */
export const MAX_NESTING = 40;

/** A parse error on its way to the statement list that reports it and recovers. */
export class Failure {
  /** `fatal`: nesting too deep; the parse stops (unwinding that deep again and again would cost more than the input is worth). */
  constructor(readonly error: AISPParseError, readonly fatal = false) {}
}

/** The operator a token stands for: the table's symbol, or the punctuation itself. */
export function op(t: Token | undefined): string | undefined {
  if (t === undefined) return undefined;
  if (t.kind === "symbol") return t.symbol;
  if (t.kind === "punct") return t.text;
  return undefined;
}

/** A token as an error message names it. */
export function describe(t: Token | undefined): string {
  if (t === undefined) return "the end";
  if (t.kind === "newline") return "the end of the line";
  return t.text.length > 24 ? t.text.slice(0, 24) + "…" : t.text;
}

/** The tokens (comments left out), the position in them, the nesting depth, the errors so far and the work done. */
export class TokenCursor {
  protected readonly t: Token[];
  /** The next token's index in `t`. */
  protected i = 0;
  protected depth = 0;
  readonly errors: AISPParseError[] = [];

  constructor(tokens: readonly Token[]) {
    this.t = tokens.filter((t) => t.kind !== "comment");
  }

  /** How often a rule looked at the next token: the parser's work, for the linearity test. */
  steps = 0;

  protected peek(): Token | undefined {
    this.steps++;
    return this.t[this.i];
  }
  protected next(): Token {
    return this.t[this.i++];
  }
  protected fail(expected: string, at?: Token): never {
    const t = at ?? this.peek();
    const p = t?.start ?? this.#endPos();
    throw new Failure({ message: `${expected}, found ${describe(t)}`, line: p.line, column: p.column, offset: p.offset });
  }
  #endPos(): Position {
    const last = this.t[this.t.length - 1];
    return last === undefined ? { line: 1, column: 1, offset: 0 } : last.end;
  }
  protected lastEnd(): Position {
    return this.t[this.i - 1]?.end ?? { line: 1, column: 1, offset: 0 };
  }
  protected skipNewlines(): void {
    while (this.peek()?.kind === "newline") this.i++;
  }
  protected enter(): void {
    if (++this.depth > MAX_NESTING) {
      try {
        this.fail(`expected at most ${MAX_NESTING} levels of nesting`);
      } catch (e) {
        throw new Failure((e as Failure).error, true);
      }
    }
  }
}
