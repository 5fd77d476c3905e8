/**
 * The vocabulary of the AISP parser: positions, tokens, AST nodes and parse
 * errors. The tokenizer, the parser and the grader import their types from here.
 *
 * @module
 */
import type { SymbolCategory } from "./symbols.ts";

/**
 * A place in the input: 1-based line and column, and the 0-based offset.
 * Columns and offsets count UTF-16 code units (as JavaScript strings index,
 * and as the rest of the envelope measures strings); only `\n` starts a line.
 *
 * @example
 * ```ts
 * import { AISPParser, type Position } from "@ampbus/ampbus";
 *
 * const at: Position = new AISPParser().tokenize("a\n  b")[2].start;
 * if (at.line !== 2 || at.column !== 3 || at.offset !== 4) throw new Error(JSON.stringify(at));
 * ```
 */
export interface Position {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column, in UTF-16 code units. */
  readonly column: number;
  /** 0-based offset from the start of the input, in UTF-16 code units. */
  readonly offset: number;
}

/**
 * What a token is. `symbol` is an entry of the symbol table (written as
 * itself or in ASCII), `block` a block name such as `⟦Ω:Meta⟧` or
 * `⟦TASK⟧`, `header` an AISP document header (`𝔸5.1.name@date`), `word`
 * an identifier or a word of natural language, `punct` one of `( ) [ ] { } , ; . : | = < > + - * / ^ ' _`,
 * `unknown` a character that is none of these.
 *
 * @example
 * ```ts
 * import { AISPParser, type TokenKind } from "@ampbus/ampbus";
 *
 * const kinds: TokenKind[] = new AISPParser().tokenize("x ≜ 1").map((t) => t.kind);
 * if (kinds.join() !== "word,symbol,number") throw new Error(kinds.join());
 * ```
 */
export type TokenKind = "symbol" | "word" | "number" | "string" | "punct" | "block" | "header" | "newline" | "comment" | "unknown";

/**
 * One token: its kind, its text as written, where it starts and ends (end
 * exclusive), and for a symbol the table's spelling and category.
 *
 * @example
 * ```ts
 * import { AISPParser, type Token } from "@ampbus/ampbus";
 *
 * const t: Token = new AISPParser().tokenize("a => b")[1];
 * if (t.kind !== "symbol" || t.symbol !== "⇒" || t.text !== "=>" || t.end.offset !== 4) throw new Error(JSON.stringify(t));
 * ```
 */
export interface Token {
  /** What the token is. */
  readonly kind: TokenKind;
  /** The token as written (`=>` for the symbol `⇒`). */
  readonly text: string;
  /** Where it starts. */
  readonly start: Position;
  /** Where it ends (exclusive): a newline ends at the start of the next line. */
  readonly end: Position;
  /** For `symbol`: the symbol as the table writes it (`⇒` for `=>`). */
  readonly symbol?: string;
  /** For `symbol`: its category. */
  readonly category?: SymbolCategory;
}

/**
 * A parse error: what was expected and where.
 *
 * @example
 * ```ts
 * import { AISPParser, type AISPParseError } from "@ampbus/ampbus";
 *
 * const e: AISPParseError = new AISPParser().parseString("∀ ∈ Files").errors![0];
 * if (e.column !== 3 || !e.message.startsWith("expected a bound variable after ∀")) throw new Error(JSON.stringify(e));
 * ```
 */
export interface AISPParseError {
  /** Such as `expected a bound variable after ∀, found ∈`. */
  readonly message: string;
  /** Line of the token where it went wrong (1-based). */
  readonly line: number;
  /** Its column, in UTF-16 code units (1-based). */
  readonly column: number;
  /** Its offset, in UTF-16 code units (0-based). */
  readonly offset: number;
}

/**
 * What every AST node has: where it starts and ends in the input (end exclusive).
 *
 * @example
 * ```ts
 * import { AISPParser, type NodeSpan } from "@ampbus/ampbus";
 *
 * const span: NodeSpan = new AISPParser().parseString("a ∧ b").ast!.body[0];
 * if (span.start.offset !== 0 || span.end.offset !== 5) throw new Error(JSON.stringify(span));
 * ```
 */
export interface NodeSpan {
  /** Where the node's first token starts. */
  readonly start: Position;
  /** Where its last token ends. */
  readonly end: Position;
}

/**
 * A node of the AST. Every node has `type`, `start` and `end`.
 *
 * - `Document`: the statements of a string (`body`), in order.
 * - `Word`: an identifier or a word of prose (`name`); `Number`, `String` (`value`, as written);
 *   `Constant`: a symbol used as a value (`⊤`, `∅`, `ℕ`, `◊⁺⁺`...).
 * - `Quantifier`: `∀x, y ∈ S: body`: `quantifier`, `variables`, optional `domain` with
 *   `relation` (`∈`, `⊆` or `:` for a type), and `body`.
 * - `Lambda`: `λx.body` or `λ(a, b).body`.
 * - `Definition`: `target ≜ value` or `target ≔ value` (`operator`).
 * - `Binary` (`operator`, `left`, `right`): logic, implications, comparisons, set and
 *   arithmetic operators, and `:` (a type or label). `Unary`: `¬`, `-`, `⊢`, `□`...
 * - `Apply`: `f(x)` and `List⟨τ⟩`; `Index`: `b[p]`; `Member`: `g.board`.
 * - `Phrase`: terms side by side, as in natural language (`run the tests`).
 * - `Tuple` (`(a, b)`, `⟨a, b⟩`), `Set` (`{a, b}`), `List` (`[a, b]`), `Abs` (`|x|`).
 * - `Block`: `⟦Name⟧{ statements }` or `⟦Ε⟧⟨…⟩`; `Header`: `𝔸5.1.name@date`.
 *
 * @example
 * ```ts
 * import { AISPParser, type AISPNode } from "@ampbus/ampbus";
 *
 * const r = new AISPParser().parseString("∀f ∈ Files: ok(f)");
 * const q: AISPNode = r.ast!.body[0];
 * if (q.type !== "Quantifier" || q.variables[0].name !== "f" || q.relation !== "∈") throw new Error(JSON.stringify(q));
 * ```
 */
export type AISPNode =
  | NodeSpan & { readonly type: "Document"; readonly body: readonly AISPNode[] }
  | NodeSpan & { readonly type: "Word"; readonly name: string }
  | NodeSpan & { readonly type: "Number"; readonly value: string }
  | NodeSpan & { readonly type: "String"; readonly value: string }
  | NodeSpan & { readonly type: "Constant"; readonly symbol: string }
  | NodeSpan & {
    readonly type: "Quantifier";
    readonly quantifier: string;
    readonly variables: readonly (NodeSpan & { readonly type: "Word"; readonly name: string })[];
    readonly relation?: string;
    readonly domain?: AISPNode;
    /** Absent in `∃x ∈ S ∧ …`, where the quantifier only claims membership. */
    readonly body?: AISPNode;
  }
  | NodeSpan & { readonly type: "Lambda"; readonly params: readonly (NodeSpan & { readonly type: "Word"; readonly name: string })[]; readonly body: AISPNode }
  | NodeSpan & { readonly type: "Definition"; readonly operator: string; readonly target: AISPNode; readonly value: AISPNode }
  | NodeSpan & { readonly type: "Binary"; readonly operator: string; readonly left: AISPNode; readonly right: AISPNode }
  | NodeSpan & { readonly type: "Unary"; readonly operator: string; readonly operand: AISPNode }
  | NodeSpan & { readonly type: "Apply" | "Index"; readonly callee: AISPNode; readonly args: readonly AISPNode[] }
  | NodeSpan & { readonly type: "Member"; readonly object: AISPNode; readonly property: string }
  | NodeSpan & { readonly type: "Phrase"; readonly parts: readonly AISPNode[] }
  | NodeSpan & { readonly type: "Tuple" | "Set" | "List"; readonly items: readonly AISPNode[] }
  | NodeSpan & { readonly type: "Abs"; readonly operand: AISPNode }
  | NodeSpan & { readonly type: "Block"; readonly name: string; readonly body: readonly AISPNode[] }
  | NodeSpan & { readonly type: "Header"; readonly text: string };

/**
 * The document node `parse()` returns.
 *
 * @example
 * ```ts
 * import { AISPParser, type AISPDocument } from "@ampbus/ampbus";
 *
 * const doc: AISPDocument = new AISPParser().parseString("a ≜ 1; b ≜ 2").ast!;
 * if (doc.body.length !== 2) throw new Error(String(doc.body.length));
 * ```
 */
export type AISPDocument = Extract<AISPNode, { type: "Document" }>;

/**
 * What `parse()` and `parseString()` return: the AST when the input parses,
 * else every error found (up to 50) and, still, the AST of the statements that did parse.
 *
 * @example
 * ```ts
 * import { AISPParser, type ParseResult } from "@ampbus/ampbus";
 *
 * const r: ParseResult = new AISPParser().parseString("λ.");
 * if (r.success || r.errors![0].message !== "expected a parameter after λ, found .") throw new Error(JSON.stringify(r.errors));
 * ```
 */
export interface ParseResult {
  /** True when the input parsed without an error. */
  readonly success: boolean;
  /** The document: all of it, or the statements that parsed. */
  readonly ast?: AISPDocument;
  /** Every error, in input order; absent on success. */
  readonly errors?: readonly AISPParseError[];
}
