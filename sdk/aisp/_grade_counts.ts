/**
 * What the AISP grader counts in a statement and reads of its AST: terms,
 * symbols, bindings and blocks from the tokens, the AST's nodes in source
 * order, and the two densities the counts give (the symbol density of the
 * breakdown and the reference validator's δ). docs/grading.md has the formulas.
 *
 * @module
 */
import { BINDING_SYMBOLS, REQUIRED_BLOCKS, SYMBOL_DENSITY_SATURATION } from "./grade_scale.ts";
import type { AISPNode, AISPParseError, Token } from "./types.ts";

const BINDINGS = new Set(BINDING_SYMBOLS);
/** Bindings that make the reference validator's binding score 1. */
export const BINDINGS_FOR_FULL = 20;

/** Rounds to the 4 decimals a grade's numbers have. */
export const round4 = (x: number): number => Math.round(x * 10000) / 10000;

/** A statement of a spec (or a whole document), parsed. */
export interface Statement {
  /** "precondition 1", "the task", "postcondition 2". */
  label: string;
  text: string;
  tokens: Token[];
  ast: AISPNode;
  /** The AST's nodes in source order (`nodes(ast)`). */
  all: AISPNode[];
  errors: readonly AISPParseError[];
}

/** The counts of one or more statements; `latinE`: a block ⟦E⟧ (Latin E) was seen. */
export type Counts = { tokens: number; symbols: number; bindings: number; blocks: Set<string>; latinE: boolean };

/** Counts of nothing yet. */
export const noCounts = (): Counts => ({ tokens: 0, symbols: 0, bindings: 0, blocks: new Set(), latinE: false });

/** Adds a statement's terms, symbols, bindings and blocks to `c`. */
export function count(tokens: readonly Token[], c: Counts): void {
  let runEnd = -1; // end offset of the current run of non-symbol tokens
  for (const t of tokens) {
    switch (t.kind) {
      case "newline":
      case "comment":
        runEnd = -1;
        continue;
      case "symbol":
      case "block":
      case "header":
        c.tokens++;
        c.symbols++;
        runEnd = -1;
        if (t.kind === "symbol" && BINDINGS.has(t.symbol!)) c.bindings++;
        if (t.kind === "block") {
          const name = t.text.slice(1, -1);
          const letter = name.split(":")[0];
          if ((REQUIRED_BLOCKS as readonly string[]).includes(letter)) c.blocks.add(letter);
          else if (letter === "E") c.latinE = true;
        }
        continue;
      default:
        if (t.start.offset !== runEnd) c.tokens++;
        runEnd = t.end.offset;
    }
  }
}

/** Pushes the children of a node onto `stack`, last first, so that they pop in source order. */
function pushAll(xs: readonly AISPNode[], stack: AISPNode[]): void {
  for (let i = xs.length - 1; i >= 0; i--) stack.push(xs[i]);
}

function pushChildren(n: AISPNode, stack: AISPNode[]): void {
  switch (n.type) {
    case "Document":
    case "Block":
      return pushAll(n.body, stack);
    case "Quantifier":
      if (n.body !== undefined) stack.push(n.body);
      if (n.domain !== undefined) stack.push(n.domain);
      return pushAll(n.variables, stack);
    case "Lambda":
      stack.push(n.body);
      return pushAll(n.params, stack);
    case "Definition":
      stack.push(n.value, n.target);
      return;
    case "Binary":
      stack.push(n.right, n.left);
      return;
    case "Unary":
    case "Abs":
      stack.push(n.operand);
      return;
    case "Apply":
    case "Index":
      pushAll(n.args, stack);
      stack.push(n.callee);
      return;
    case "Member":
      stack.push(n.object);
      return;
    case "Phrase":
      return pushAll(n.parts, stack);
    case "Tuple":
    case "Set":
    case "List":
      return pushAll(n.items, stack);
  }
}

/**
 * Every node under `root` in pre-order, which is source order: a node's
 * descendants follow it, and are the nodes after it that start before it ends.
 */
export function nodes(root: AISPNode): AISPNode[] {
  const out: AISPNode[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    out.push(n);
    pushChildren(n, stack);
  }
  return out;
}

/** Share of terms that are AISP symbols, saturating at 1 at `SYMBOL_DENSITY_SATURATION`; not rounded. */
export function symbolDensity(c: Counts): number {
  return c.tokens === 0 ? 0 : Math.min(1, c.symbols / c.tokens / SYMBOL_DENSITY_SATURATION);
}

/** δ = 0.4 × blocks/5 + 0.6 × min(1, bindings/20), rounded, as the AISP 5.1 reference validator computes it. */
export function semanticDensity(c: Counts): number {
  return round4(0.4 * (c.blocks.size / REQUIRED_BLOCKS.length) + 0.6 * Math.min(1, c.bindings / BINDINGS_FOR_FULL));
}
