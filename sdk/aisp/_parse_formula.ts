/**
 * The operator levels of the AISP grammar (parser.ts has it whole), from a
 * statement down to a phrase: types and labels (`:`), definitions (`≜`
 * `≔`), arrows, then the binary levels loosest first (or, and, compare,
 * setop, sum, product), `¬` and the prefix operators, and terms side by side.
 * Each binary level is one loop over a table worked out once per parse; the
 * terms a phrase is made of are `_parse_terms.ts`'s.
 *
 * @module
 */
import { op, TokenCursor } from "./_parse_cursor.ts";
import type { AISPNode, Token } from "./types.ts";

const ARROW = new Set(["⇒", "⇔", "→", "↔", "←", "↦", "⊢", "⊨"]);
const DEFINE = new Set(["≜", "≔"]);
const OR = new Set(["∨", "⊕"]);
const AND = new Set(["∧"]);
const COMPARE = new Set(["=", "≠", "<", ">", "≤", "≥", "≡", "≢", "≈", "∈", "∉", "⊆", "⊂", "⊇", "⊃", "≺", "≻", "≅"]);
const SETOP = new Set(["∪", "∩", "∖", "×", "∘", "|"]);
const SUM = new Set(["+", "-"]);
const PRODUCT = new Set(["*", "/", "^", "÷", "·"]);
export const PREFIX = new Set(["-", "□", "◇", "⊢", "∑", "∏", "∫", "∂"]);
export const QUANTIFIERS = new Set(["∀", "∃", "∃!", "∄"]);
/** Symbols that stand for a value. */
export const CONSTANTS = new Set(["⊤", "⊥", "∅", "ℕ", "ℤ", "ℚ", "ℝ", "ℂ", "𝔹", "𝕊", "𝒫", "∞", "∎", "◊⁺⁺", "◊⁺", "◊", "◊⁻", "⊘", "𝔸"]);

/** The binary operator levels, loosest first (the grammar's or … product), and each operator's level. */
const L_OR = 1, L_AND = 2, L_COMPARE = 3, L_SETOP = 4, L_SUM = 5, L_PRODUCT = 6;
const LEVEL = new Map<string, number>();
for (const [set, level] of [[OR, L_OR], [AND, L_AND], [COMPARE, L_COMPARE], [SETOP, L_SETOP], [SUM, L_SUM], [PRODUCT, L_PRODUCT]] as const) {
  for (const o of set) LEVEL.set(o, level);
}

/** The operator rules; a subclass gives the terms (`postfix`). */
export abstract class FormulaRules extends TokenCursor {
  /** The binary level of each token (0: none), worked out once. */
  readonly #lv: Uint8Array;

  constructor(tokens: readonly Token[]) {
    super(tokens);
    this.#lv = new Uint8Array(this.t.length);
    for (let k = 0; k < this.t.length; k++) {
      const o = op(this.t[k]);
      if (o !== undefined) this.#lv[k] = LEVEL.get(o) ?? 0;
    }
  }

  protected statement(): AISPNode {
    let left = this.#label();
    while (op(this.peek()) === ":") {
      this.i++;
      this.skipNewlines();
      const right = this.#label();
      left = { type: "Binary", operator: ":", left, right, start: left.start, end: right.end };
    }
    return left;
  }

  #label(): AISPNode {
    const left = this.arrow();
    const t = this.peek();
    const o = op(t);
    if (o === undefined || !DEFINE.has(o)) return left;
    this.i++;
    this.skipNewlines();
    this.enter();
    if (!this.startsOperand(this.peek())) this.fail(`expected a definition after ${o}`);
    const value = this.statement();
    this.depth--;
    return { type: "Definition", operator: o, target: left, value, start: left.start, end: value.end };
  }

  protected arrow(): AISPNode {
    const left = this.#or();
    const o = op(this.peek());
    if (o === undefined || !ARROW.has(o)) return left;
    this.i++;
    this.skipNewlines();
    this.enter();
    if (!this.startsOperand(this.peek())) this.fail(`expected an expression after ${o}`);
    const right = this.arrow();
    this.depth--;
    return { type: "Binary", operator: o, left, right, start: left.start, end: right.end };
  }

  /** The binary operators of one level, left to right: `or`, `and`, `compare`, `setop`, `sum`, `product`. */
  #binary(level: number): AISPNode {
    let left = this.#below(level);
    for (;;) {
      this.steps++;
      if (this.i >= this.t.length || this.#lv[this.i] !== level) return left;
      const o = op(this.t[this.i])!;
      this.i++;
      this.skipNewlines();
      if (!this.startsOperand(this.peek())) this.fail(`expected an expression after ${o}`);
      const right = this.#below(level);
      left = { type: "Binary", operator: o, left, right, start: left.start, end: right.end };
    }
  }

  /** The rule under a binary level: `and` under `or`, `not` under `and`, … `prefix` under `product`. */
  #below(level: number): AISPNode {
    if (level === L_AND) return this.not();
    if (level === L_PRODUCT) return this.#prefix();
    return this.#binary(level + 1);
  }

  #or(): AISPNode {
    return this.#binary(L_OR);
  }
  protected not(): AISPNode {
    const t = this.peek();
    if (op(t) !== "¬") return this.#binary(L_COMPARE);
    this.i++;
    this.enter();
    if (!this.startsOperand(this.peek())) this.fail("expected an expression after ¬");
    const operand = this.not();
    this.depth--;
    return { type: "Unary", operator: "¬", operand, start: t!.start, end: operand.end };
  }
  protected setop(): AISPNode {
    return this.#binary(L_SETOP);
  }
  protected sum(): AISPNode {
    return this.#binary(L_SUM);
  }

  protected startsOperand(t: Token | undefined): boolean {
    if (t === undefined) return false;
    switch (t.kind) {
      case "word":
      case "number":
      case "string":
      case "block":
      case "header":
        return true;
      case "symbol":
        return QUANTIFIERS.has(t.symbol!) || CONSTANTS.has(t.symbol!) || PREFIX.has(t.symbol!) || t.symbol === "λ" || t.symbol === "¬" || t.symbol === "⟨";
      case "punct":
        return t.text === "(" || t.text === "[" || t.text === "{" || t.text === "|" || t.text === "-";
      default:
        return false;
    }
  }

  #prefix(): AISPNode {
    const t = this.peek();
    const o = op(t);
    if (o !== undefined && PREFIX.has(o) && (t!.kind === "symbol" || o === "-")) {
      this.i++;
      // ∂, ∑ and ∫ also stand alone, as names (∂:𝕊→List⟨τ⟩).
      if (!this.startsOperand(this.peek()) && o !== "-" && o !== "□" && o !== "◇" && o !== "⊢") {
        return { type: "Constant", symbol: o, start: t!.start, end: t!.end };
      }
      this.enter();
      if (!this.startsOperand(this.peek())) this.fail(`expected an expression after ${o}`);
      const operand = this.#prefix();
      this.depth--;
      return { type: "Unary", operator: o, operand, start: t!.start, end: operand.end };
    }
    return this.#phrase();
  }

  /** Terms side by side: `run the unit tests`, `if p then q`. */
  #phrase(): AISPNode {
    const first = this.postfix();
    const t = this.peek();
    if (!this.#continuesPhrase(t)) return first;
    const parts = [first];
    while (this.#continuesPhrase(this.peek())) parts.push(this.postfix());
    return { type: "Phrase", parts, start: first.start, end: parts[parts.length - 1].end };
  }

  #continuesPhrase(t: Token | undefined): boolean {
    if (!this.startsOperand(t)) return false;
    // A prefix operator or `|` after a term is an infix one (a - b, a | b).
    const o = op(t);
    return !(o === "-" || o === "|" || (t!.kind === "symbol" && PREFIX.has(o!)));
  }

  /** A term and what follows it without space: calls, indexes, members. */
  protected abstract postfix(): AISPNode;
}
