/**
 * The terms of the AISP grammar (parser.ts has it whole): words, numbers,
 * strings, constants, calls and indexes written against their callee,
 * brackets, `|…|`, quantifiers with their bound variables and domain,
 * lambdas, and blocks (`⟦Σ:Types⟧{…}`). A bracket that holds statements
 * (`{…}`, `⟨…⟩`, a block's body) hands them to the statement list of
 * `parser.ts`.
 *
 * @module
 */
import { describe, op } from "./_parse_cursor.ts";
import { CONSTANTS, FormulaRules, QUANTIFIERS } from "./_parse_formula.ts";
import { MAX_BLOCK_NAME } from "./tokenizer.ts";
import type { AISPNode, Token } from "./types.ts";

type Word = Extract<AISPNode, { type: "Word" }>;

/** Each opening bracket's closer. */
export const CLOSERS: Record<string, string> = { "(": ")", "[": "]", "{": "}", "⟨": "⟩" };

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

/** The term rules; a subclass gives the statement lists that brackets and blocks hold (`statements`). */
export abstract class TermRules extends FormulaRules {
  protected postfix(): AISPNode {
    let node = this.#primary();
    for (let t = this.peek(); t !== undefined && t.start.offset === node.end.offset; t = this.peek()) {
      const o = op(t);
      if (o === "(" || o === "[" || o === "⟨") {
        this.i++;
        const args = this.#list(CLOSERS[o], t);
        node = { type: o === "[" ? "Index" : "Apply", callee: node, args, start: node.start, end: this.lastEnd() };
      } else if (o === "." && this.t[this.i + 1]?.kind === "word" && this.t[this.i + 1].start.offset === t.end.offset) {
        this.i++;
        const w = this.next();
        node = { type: "Member", object: node, property: w.text, start: node.start, end: w.end };
      } else break;
    }
    return node;
  }

  /** Comma-separated statements up to `closer`; newlines inside are white space. */
  #list(closer: string, open: Token): AISPNode[] {
    this.enter();
    const items: AISPNode[] = [];
    for (;;) {
      this.skipNewlines();
      if (op(this.peek()) === closer) break;
      items.push(this.statement());
      this.skipNewlines();
      const o = op(this.peek());
      if (o === "," || o === ";") {
        this.i++;
        continue;
      }
      if (o === closer) break;
      this.fail(this.peek() === undefined ? `expected ${closer} to close the ${open.text} at line ${open.start.line}, column ${open.start.column}` : `expected , or ${closer}`);
    }
    this.i++;
    this.depth--;
    return items;
  }

  /** `{…}` or `⟨…⟩`: statements separated by newlines, `;` or `,`, up to the closer. */
  #group(closer: string, open: Token): AISPNode[] {
    this.enter();
    const body = this.statements(closer);
    if (op(this.peek()) !== closer) this.fail(`expected ${closer} to close the ${open.text} at line ${open.start.line}, column ${open.start.column}`);
    this.i++;
    this.depth--;
    return body;
  }

  #primary(): AISPNode {
    const t = this.peek();
    if (t === undefined) this.fail("expected an expression");
    switch (t.kind) {
      case "word":
        this.i++;
        return { type: "Word", name: t.text, start: t.start, end: t.end };
      case "number":
        this.i++;
        return { type: "Number", value: t.text, start: t.start, end: t.end };
      case "string":
        if (!terminated(t.text)) this.fail("expected a closing \" before the end of the line", t);
        this.i++;
        return { type: "String", value: t.text.slice(1, -1), start: t.start, end: t.end };
      case "header":
        this.i++;
        return { type: "Header", text: t.text, start: t.start, end: t.end };
      case "block":
        return this.#block(t);
      case "symbol": {
        const s = t.symbol!;
        if (QUANTIFIERS.has(s)) return this.#quantifier(t);
        if (s === "¬") return this.not();
        if (s === "λ") return this.#lambda(t);
        if (s === "⟨") {
          this.i++;
          const items = this.#group("⟩", t);
          return { type: "Tuple", items, start: t.start, end: this.lastEnd() };
        }
        if (s === "⟦") this.fail(`expected a block name and ⟧ within ${MAX_BLOCK_NAME} characters after ⟦`, t);
        if (CONSTANTS.has(s)) {
          this.i++;
          return { type: "Constant", symbol: s, start: t.start, end: t.end };
        }
        break;
      }
      case "punct": {
        const o = t.text;
        if (o === "(" || o === "[") {
          this.i++;
          const items = this.#list(CLOSERS[o], t);
          const end = this.lastEnd();
          if (o === "(" && items.length === 1) return items[0];
          return { type: o === "(" ? "Tuple" : "List", items, start: t.start, end };
        }
        if (o === "{") {
          this.i++;
          const items = this.#group("}", t);
          return { type: "Set", items, start: t.start, end: this.lastEnd() };
        }
        if (o === "|") {
          this.i++;
          this.enter();
          if (!this.startsOperand(this.peek())) this.fail("expected an expression after |");
          const operand = this.sum();
          if (op(this.peek()) !== "|") this.fail("expected | to close |…|");
          this.i++;
          this.depth--;
          return { type: "Abs", operand, start: t.start, end: this.lastEnd() };
        }
        break;
      }
      case "unknown":
        this.fail("expected an expression (an unknown character is not AISP)", t);
    }
    this.fail("expected an expression", t);
  }

  #words(what: string, after: Token): Word[] {
    const out: Word[] = [];
    for (;;) {
      const t = this.peek();
      if (t?.kind !== "word") this.fail(`expected ${out.length === 0 ? "a" : "another"} ${what} after ${out.length === 0 ? after.text : ","}`);
      this.i++;
      out.push({ type: "Word", name: t.text, start: t.start, end: t.end });
      if (op(this.peek()) !== "," || this.t[this.i + 1]?.kind !== "word") return out;
      this.i++;
    }
  }

  #quantifier(q: Token): AISPNode {
    this.i++;
    this.enter();
    const variables = this.#words("bound variable", q);
    let relation: string | undefined;
    let domain: AISPNode | undefined;
    let body: AISPNode | undefined;
    const o = op(this.peek());
    if (o === "∈" || o === "⊆") {
      this.i++;
      relation = o;
      if (!this.startsOperand(this.peek())) this.fail(`expected a domain after ${o}`);
      domain = this.setop();
    } else if (o === ":") {
      // ∀x:T:body gives x the type T; ∀x:body has no domain.
      this.i++;
      if (!this.startsOperand(this.peek())) this.fail(`expected a type or a condition after ${describe(q)}${variables.map((v) => v.name).join(",")}:`);
      const first = this.arrow();
      if (op(this.peek()) === ":") {
        relation = ":";
        domain = first;
      } else body = first;
    }
    if (body === undefined) {
      const sep = op(this.peek());
      if (sep === ":" || sep === "." || sep === ",") {
        this.i++;
        this.skipNewlines();
      }
      // ∃x ∈ S alone (followed by ∧, ⇒, the end...) claims membership and has no body.
      if (sep !== ":" && sep !== "." && sep !== "," && domain !== undefined && !this.startsOperand(this.peek())) body = undefined;
      else {
        if (!this.startsOperand(this.peek())) this.fail(`expected a condition after ${q.text}${variables.map((v) => v.name).join(",")}${domain === undefined ? "" : ` ${relation} …`}`);
        body = this.statement();
      }
    }
    this.depth--;
    const node: AISPNode = relation === undefined
      ? { type: "Quantifier", quantifier: q.symbol!, variables, body, start: q.start, end: body!.end }
      : body === undefined
      ? { type: "Quantifier", quantifier: q.symbol!, variables, relation, domain, start: q.start, end: domain!.end }
      : { type: "Quantifier", quantifier: q.symbol!, variables, relation, domain, body, start: q.start, end: body.end };
    return node;
  }

  #lambda(l: Token): AISPNode {
    this.i++;
    this.enter();
    let params: Word[];
    const t = this.peek();
    if (op(t) === "(") {
      this.i++;
      params = op(this.peek()) === ")" ? [] : this.#words("parameter", t!);
      if (op(this.peek()) !== ")") this.fail("expected , or ) after the parameters of λ");
      this.i++;
    } else params = this.#words("parameter", l);
    if (op(this.peek()) !== ".") this.fail(`expected . after the parameters of λ`);
    this.i++;
    if (!this.startsOperand(this.peek())) this.fail("expected a body after λ….");
    const body = this.statement();
    this.depth--;
    return { type: "Lambda", params, body, start: l.start, end: body.end };
  }

  #block(t: Token): AISPNode {
    this.i++;
    const name = t.text.slice(1, -1);
    let body: AISPNode[] = [];
    let end = t.end;
    let k = this.i;
    while (this.t[k]?.kind === "newline") k++;
    const o = op(this.t[k]);
    if (o === "{" || o === "⟨") {
      this.i = k + 1;
      body = this.#group(o === "{" ? "}" : "⟩", this.t[k]);
      end = this.lastEnd();
    }
    return { type: "Block", name, body, start: t.start, end };
  }

  /** Statements up to `closer` (or the end), each error recovered from. */
  abstract statements(closer: string | undefined): AISPNode[];
}
