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
 * @module
 */
import { MAX_BLOCK_NAME, tokenize } from "./tokenizer.ts";
import type { AISPDocument, AISPNode, AISPParseError, ParseResult, Position, Token } from "./types.ts";

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

type Word = Extract<AISPNode, { type: "Word" }>;

const ARROW = new Set(["⇒", "⇔", "→", "↔", "←", "↦", "⊢", "⊨"]);
const DEFINE = new Set(["≜", "≔"]);
const OR = new Set(["∨", "⊕"]);
const AND = new Set(["∧"]);
const COMPARE = new Set(["=", "≠", "<", ">", "≤", "≥", "≡", "≢", "≈", "∈", "∉", "⊆", "⊂", "⊇", "⊃", "≺", "≻", "≅"]);
const SETOP = new Set(["∪", "∩", "∖", "×", "∘", "|"]);
const SUM = new Set(["+", "-"]);
const PRODUCT = new Set(["*", "/", "^", "÷", "·"]);
const PREFIX = new Set(["-", "□", "◇", "⊢", "∑", "∏", "∫", "∂"]);
const QUANTIFIERS = new Set(["∀", "∃", "∃!", "∄"]);
/** Symbols that stand for a value. */
const CONSTANTS = new Set(["⊤", "⊥", "∅", "ℕ", "ℤ", "ℚ", "ℝ", "ℂ", "𝔹", "𝕊", "𝒫", "∞", "∎", "◊⁺⁺", "◊⁺", "◊", "◊⁻", "⊘", "𝔸"]);
const CLOSERS: Record<string, string> = { "(": ")", "[": "]", "{": "}", "⟨": "⟩" };

class Failure {
  /** `fatal`: nesting too deep; the parse stops (unwinding that deep again and again would cost more than the input is worth). */
  constructor(readonly error: AISPParseError, readonly fatal = false) {}
}

/** Tokens that end a statement: newlines and these. */
const SEPARATORS = new Set([";", ",", ".", "!", "?"]);
const isSeparator = (t: Token | undefined) => t !== undefined && (t.kind === "newline" || (t.kind === "punct" && SEPARATORS.has(t.text)));

/** True when a string token ends with its closing quote (not an escaped one). */
function terminated(text: string): boolean {
  let i = 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i === text.length - 1;
    i += c === 0x5c ? 2 : 1;
  }
  return false;
}

/** The operator a token stands for: the table's symbol, or the punctuation itself. */
function op(t: Token | undefined): string | undefined {
  if (t === undefined) return undefined;
  if (t.kind === "symbol") return t.symbol;
  if (t.kind === "punct") return t.text;
  return undefined;
}

function describe(t: Token | undefined): string {
  if (t === undefined) return "the end";
  if (t.kind === "newline") return "the end of the line";
  return t.text.length > 24 ? t.text.slice(0, 24) + "…" : t.text;
}

/** The binary operator levels, loosest first (the grammar's or … product), and each operator's level. */
const L_OR = 1, L_AND = 2, L_COMPARE = 3, L_SETOP = 4, L_SUM = 5, L_PRODUCT = 6;
const LEVEL = new Map<string, number>();
for (const [set, level] of [[OR, L_OR], [AND, L_AND], [COMPARE, L_COMPARE], [SETOP, L_SETOP], [SUM, L_SUM], [PRODUCT, L_PRODUCT]] as const) {
  for (const o of set) LEVEL.set(o, level);
}

class Parse {
  readonly #t: Token[];
  /** The binary level of each token (0: none), worked out once. */
  readonly #lv: Uint8Array;
  #i = 0;
  #depth = 0;
  readonly errors: AISPParseError[] = [];

  constructor(tokens: readonly Token[]) {
    this.#t = tokens.filter((t) => t.kind !== "comment");
    this.#lv = new Uint8Array(this.#t.length);
    for (let k = 0; k < this.#t.length; k++) {
      const o = op(this.#t[k]);
      if (o !== undefined) this.#lv[k] = LEVEL.get(o) ?? 0;
    }
  }

  /** How often a rule looked at the next token: the parser's work, for the linearity test. */
  steps = 0;

  #peek(): Token | undefined {
    this.steps++;
    return this.#t[this.#i];
  }
  #next(): Token {
    return this.#t[this.#i++];
  }
  #fail(expected: string, at?: Token): never {
    const t = at ?? this.#peek();
    const p = t?.start ?? this.#endPos();
    throw new Failure({ message: `${expected}, found ${describe(t)}`, line: p.line, column: p.column, offset: p.offset });
  }
  #endPos(): Position {
    const last = this.#t[this.#t.length - 1];
    return last === undefined ? { line: 1, column: 1, offset: 0 } : last.end;
  }
  #lastEnd(): Position {
    return this.#t[this.#i - 1]?.end ?? { line: 1, column: 1, offset: 0 };
  }
  #skipNewlines(): void {
    while (this.#peek()?.kind === "newline") this.#i++;
  }
  #enter(): void {
    if (++this.#depth > MAX_NESTING) {
      try {
        this.#fail(`expected at most ${MAX_NESTING} levels of nesting`);
      } catch (e) {
        throw new Failure((e as Failure).error, true);
      }
    }
  }

  /** Statements up to `closer` (or the end), separated by `;`, `,` inside brackets, or newlines. */
  statements(closer: string | undefined): AISPNode[] {
    const out: AISPNode[] = [];
    for (;;) {
      while (isSeparator(this.#peek())) this.#i++;
      const t = this.#peek();
      if (t === undefined || (closer !== undefined && op(t) === closer)) return out;
      const mark = this.#depth;
      const from = this.#i;
      try {
        out.push(this.#statement());
        const after = this.#peek();
        if (after !== undefined && !isSeparator(after) && !(closer !== undefined && op(after) === closer)) {
          this.#fail(closer === undefined ? "expected an operator or the end of the statement" : `expected an operator, a separator or ${closer}`);
        }
      } catch (e) {
        if (!(e instanceof Failure)) throw e;
        // Too deep: the outermost list reports it and the parse stops.
        if (e.fatal && closer !== undefined) throw e;
        this.#depth = mark;
        this.errors.push(e.error);
        // Past MAX_ERRORS the rest of the input is not looked at: the work per input stays bounded by its length.
        if (e.fatal || this.errors.length >= MAX_ERRORS) {
          this.#i = this.#t.length;
          return out;
        }
        this.#recover(closer);
        // Always move on: a token no rule takes (a stray closer) is stepped over.
        if (this.#i === from) this.#i++;
      }
    }
  }

  /** Skips to the end of the failed statement: a separator or `closer` outside the brackets opened since. */
  #recover(closer: string | undefined): void {
    let open = 0;
    for (let t = this.#peek(); t !== undefined; t = this.#peek()) {
      const o = op(t);
      if (open === 0 && (isSeparator(t) || (closer !== undefined && o === closer))) return;
      if (o !== undefined && CLOSERS[o] !== undefined) open++;
      else if (o === ")" || o === "]" || o === "}" || o === "⟩") {
        if (open === 0) {
          // A closer of an outer list: leave it to that list, or (at the top) step over it.
          if (closer !== undefined) return;
        } else open--;
      }
      this.#i++;
    }
  }

  #statement(): AISPNode {
    let left = this.#label();
    while (op(this.#peek()) === ":") {
      this.#i++;
      this.#skipNewlines();
      const right = this.#label();
      left = { type: "Binary", operator: ":", left, right, start: left.start, end: right.end };
    }
    return left;
  }

  #label(): AISPNode {
    const left = this.#arrow();
    const t = this.#peek();
    const o = op(t);
    if (o === undefined || !DEFINE.has(o)) return left;
    this.#i++;
    this.#skipNewlines();
    this.#enter();
    if (!this.#startsOperand(this.#peek())) this.#fail(`expected a definition after ${o}`);
    const value = this.#statement();
    this.#depth--;
    return { type: "Definition", operator: o, target: left, value, start: left.start, end: value.end };
  }

  #arrow(): AISPNode {
    const left = this.#or();
    const o = op(this.#peek());
    if (o === undefined || !ARROW.has(o)) return left;
    this.#i++;
    this.#skipNewlines();
    this.#enter();
    if (!this.#startsOperand(this.#peek())) this.#fail(`expected an expression after ${o}`);
    const right = this.#arrow();
    this.#depth--;
    return { type: "Binary", operator: o, left, right, start: left.start, end: right.end };
  }

  /** The binary operators of one level, left to right: `or`, `and`, `compare`, `setop`, `sum`, `product`. */
  #binary(level: number): AISPNode {
    let left = this.#below(level);
    for (;;) {
      this.steps++;
      if (this.#i >= this.#t.length || this.#lv[this.#i] !== level) return left;
      const o = op(this.#t[this.#i])!;
      this.#i++;
      this.#skipNewlines();
      if (!this.#startsOperand(this.#peek())) this.#fail(`expected an expression after ${o}`);
      const right = this.#below(level);
      left = { type: "Binary", operator: o, left, right, start: left.start, end: right.end };
    }
  }

  /** The rule under a binary level: `and` under `or`, `not` under `and`, … `prefix` under `product`. */
  #below(level: number): AISPNode {
    if (level === L_AND) return this.#not();
    if (level === L_PRODUCT) return this.#prefix();
    return this.#binary(level + 1);
  }

  #or(): AISPNode {
    return this.#binary(L_OR);
  }
  #not(): AISPNode {
    const t = this.#peek();
    if (op(t) !== "¬") return this.#binary(L_COMPARE);
    this.#i++;
    this.#enter();
    if (!this.#startsOperand(this.#peek())) this.#fail("expected an expression after ¬");
    const operand = this.#not();
    this.#depth--;
    return { type: "Unary", operator: "¬", operand, start: t!.start, end: operand.end };
  }
  #setop(): AISPNode {
    return this.#binary(L_SETOP);
  }
  #sum(): AISPNode {
    return this.#binary(L_SUM);
  }

  #startsOperand(t: Token | undefined): boolean {
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
    const t = this.#peek();
    const o = op(t);
    if (o !== undefined && PREFIX.has(o) && (t!.kind === "symbol" || o === "-")) {
      this.#i++;
      // ∂, ∑ and ∫ also stand alone, as names (∂:𝕊→List⟨τ⟩).
      if (!this.#startsOperand(this.#peek()) && o !== "-" && o !== "□" && o !== "◇" && o !== "⊢") {
        return { type: "Constant", symbol: o, start: t!.start, end: t!.end };
      }
      this.#enter();
      if (!this.#startsOperand(this.#peek())) this.#fail(`expected an expression after ${o}`);
      const operand = this.#prefix();
      this.#depth--;
      return { type: "Unary", operator: o, operand, start: t!.start, end: operand.end };
    }
    return this.#phrase();
  }

  /** Terms side by side: `run the unit tests`, `if p then q`. */
  #phrase(): AISPNode {
    const first = this.#postfix();
    const t = this.#peek();
    if (!this.#continuesPhrase(t)) return first;
    const parts = [first];
    while (this.#continuesPhrase(this.#peek())) parts.push(this.#postfix());
    return { type: "Phrase", parts, start: first.start, end: parts[parts.length - 1].end };
  }

  #continuesPhrase(t: Token | undefined): boolean {
    if (!this.#startsOperand(t)) return false;
    // A prefix operator or `|` after a term is an infix one (a - b, a | b).
    const o = op(t);
    return !(o === "-" || o === "|" || (t!.kind === "symbol" && PREFIX.has(o!)));
  }

  #postfix(): AISPNode {
    let node = this.#primary();
    for (let t = this.#peek(); t !== undefined && t.start.offset === node.end.offset; t = this.#peek()) {
      const o = op(t);
      if (o === "(" || o === "[" || o === "⟨") {
        this.#i++;
        const args = this.#list(CLOSERS[o], t);
        node = { type: o === "[" ? "Index" : "Apply", callee: node, args, start: node.start, end: this.#lastEnd() };
      } else if (o === "." && this.#t[this.#i + 1]?.kind === "word" && this.#t[this.#i + 1].start.offset === t.end.offset) {
        this.#i++;
        const w = this.#next();
        node = { type: "Member", object: node, property: w.text, start: node.start, end: w.end };
      } else break;
    }
    return node;
  }

  /** Comma-separated statements up to `closer`; newlines inside are white space. */
  #list(closer: string, open: Token): AISPNode[] {
    this.#enter();
    const items: AISPNode[] = [];
    for (;;) {
      this.#skipNewlines();
      if (op(this.#peek()) === closer) break;
      items.push(this.#statement());
      this.#skipNewlines();
      const o = op(this.#peek());
      if (o === "," || o === ";") {
        this.#i++;
        continue;
      }
      if (o === closer) break;
      this.#fail(this.#peek() === undefined ? `expected ${closer} to close the ${open.text} at line ${open.start.line}, column ${open.start.column}` : `expected , or ${closer}`);
    }
    this.#i++;
    this.#depth--;
    return items;
  }

  /** `{…}` or `⟨…⟩`: statements separated by newlines, `;` or `,`, up to the closer. */
  #group(closer: string, open: Token): AISPNode[] {
    this.#enter();
    const body = this.statements(closer);
    if (op(this.#peek()) !== closer) this.#fail(`expected ${closer} to close the ${open.text} at line ${open.start.line}, column ${open.start.column}`);
    this.#i++;
    this.#depth--;
    return body;
  }

  #primary(): AISPNode {
    const t = this.#peek();
    if (t === undefined) this.#fail("expected an expression");
    switch (t.kind) {
      case "word":
        this.#i++;
        return { type: "Word", name: t.text, start: t.start, end: t.end };
      case "number":
        this.#i++;
        return { type: "Number", value: t.text, start: t.start, end: t.end };
      case "string":
        if (!terminated(t.text)) this.#fail("expected a closing \" before the end of the line", t);
        this.#i++;
        return { type: "String", value: t.text.slice(1, -1), start: t.start, end: t.end };
      case "header":
        this.#i++;
        return { type: "Header", text: t.text, start: t.start, end: t.end };
      case "block":
        return this.#block(t);
      case "symbol": {
        const s = t.symbol!;
        if (QUANTIFIERS.has(s)) return this.#quantifier(t);
        if (s === "¬") return this.#not();
        if (s === "λ") return this.#lambda(t);
        if (s === "⟨") {
          this.#i++;
          const items = this.#group("⟩", t);
          return { type: "Tuple", items, start: t.start, end: this.#lastEnd() };
        }
        if (s === "⟦") this.#fail(`expected a block name and ⟧ within ${MAX_BLOCK_NAME} characters after ⟦`, t);
        if (CONSTANTS.has(s)) {
          this.#i++;
          return { type: "Constant", symbol: s, start: t.start, end: t.end };
        }
        break;
      }
      case "punct": {
        const o = t.text;
        if (o === "(" || o === "[") {
          this.#i++;
          const items = this.#list(CLOSERS[o], t);
          const end = this.#lastEnd();
          if (o === "(" && items.length === 1) return items[0];
          return { type: o === "(" ? "Tuple" : "List", items, start: t.start, end };
        }
        if (o === "{") {
          this.#i++;
          const items = this.#group("}", t);
          return { type: "Set", items, start: t.start, end: this.#lastEnd() };
        }
        if (o === "|") {
          this.#i++;
          this.#enter();
          if (!this.#startsOperand(this.#peek())) this.#fail("expected an expression after |");
          const operand = this.#sum();
          if (op(this.#peek()) !== "|") this.#fail("expected | to close |…|");
          this.#i++;
          this.#depth--;
          return { type: "Abs", operand, start: t.start, end: this.#lastEnd() };
        }
        break;
      }
      case "unknown":
        this.#fail("expected an expression (an unknown character is not AISP)", t);
    }
    this.#fail("expected an expression", t);
  }

  #words(what: string, after: Token): Word[] {
    const out: Word[] = [];
    for (;;) {
      const t = this.#peek();
      if (t?.kind !== "word") this.#fail(`expected ${out.length === 0 ? "a" : "another"} ${what} after ${out.length === 0 ? after.text : ","}`);
      this.#i++;
      out.push({ type: "Word", name: t.text, start: t.start, end: t.end });
      if (op(this.#peek()) !== "," || this.#t[this.#i + 1]?.kind !== "word") return out;
      this.#i++;
    }
  }

  #quantifier(q: Token): AISPNode {
    this.#i++;
    this.#enter();
    const variables = this.#words("bound variable", q);
    let relation: string | undefined;
    let domain: AISPNode | undefined;
    let body: AISPNode | undefined;
    const o = op(this.#peek());
    if (o === "∈" || o === "⊆") {
      this.#i++;
      relation = o;
      if (!this.#startsOperand(this.#peek())) this.#fail(`expected a domain after ${o}`);
      domain = this.#setop();
    } else if (o === ":") {
      // ∀x:T:body gives x the type T; ∀x:body has no domain.
      this.#i++;
      if (!this.#startsOperand(this.#peek())) this.#fail(`expected a type or a condition after ${describe(q)}${variables.map((v) => v.name).join(",")}:`);
      const first = this.#arrow();
      if (op(this.#peek()) === ":") {
        relation = ":";
        domain = first;
      } else body = first;
    }
    if (body === undefined) {
      const sep = op(this.#peek());
      if (sep === ":" || sep === "." || sep === ",") {
        this.#i++;
        this.#skipNewlines();
      }
      // ∃x ∈ S alone (followed by ∧, ⇒, the end...) claims membership and has no body.
      if (sep !== ":" && sep !== "." && sep !== "," && domain !== undefined && !this.#startsOperand(this.#peek())) body = undefined;
      else {
        if (!this.#startsOperand(this.#peek())) this.#fail(`expected a condition after ${q.text}${variables.map((v) => v.name).join(",")}${domain === undefined ? "" : ` ${relation} …`}`);
        body = this.#statement();
      }
    }
    this.#depth--;
    const node: AISPNode = relation === undefined
      ? { type: "Quantifier", quantifier: q.symbol!, variables, body, start: q.start, end: body!.end }
      : body === undefined
      ? { type: "Quantifier", quantifier: q.symbol!, variables, relation, domain, start: q.start, end: domain!.end }
      : { type: "Quantifier", quantifier: q.symbol!, variables, relation, domain, body, start: q.start, end: body.end };
    return node;
  }

  #lambda(l: Token): AISPNode {
    this.#i++;
    this.#enter();
    let params: Word[];
    const t = this.#peek();
    if (op(t) === "(") {
      this.#i++;
      params = op(this.#peek()) === ")" ? [] : this.#words("parameter", t!);
      if (op(this.#peek()) !== ")") this.#fail("expected , or ) after the parameters of λ");
      this.#i++;
    } else params = this.#words("parameter", l);
    if (op(this.#peek()) !== ".") this.#fail(`expected . after the parameters of λ`);
    this.#i++;
    if (!this.#startsOperand(this.#peek())) this.#fail("expected a body after λ….");
    const body = this.#statement();
    this.#depth--;
    return { type: "Lambda", params, body, start: l.start, end: body.end };
  }

  #block(t: Token): AISPNode {
    this.#i++;
    const name = t.text.slice(1, -1);
    let body: AISPNode[] = [];
    let end = t.end;
    let k = this.#i;
    while (this.#t[k]?.kind === "newline") k++;
    const o = op(this.#t[k]);
    if (o === "{" || o === "⟨") {
      this.#i = k + 1;
      body = this.#group(o === "{" ? "}" : "⟩", this.#t[k]);
      end = this.#lastEnd();
    }
    return { type: "Block", name, body, start: t.start, end };
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
