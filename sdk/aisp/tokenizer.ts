/**
 * The AISP tokenizer: one pass over the input, each code unit looked at a
 * bounded number of times, so that tokenizing is linear in the input's
 * length whatever it holds. The Python client's tokenizer
 * (clients/python/ampbus/aisp/_tokenizer.py) follows this file rule for rule; the
 * golden vectors in tests/vectors/aisp.json hold both to the same tokens.
 *
 * @module
 */
import { AISP_SYMBOL_TABLE, type AISPSymbol, SYMBOL_START } from "./symbols.ts";
import type { Position, Token, TokenKind } from "./types.ts";

/**
 * Longest block name between `⟦` and `⟧`, in code units; a longer one is not a block name.
 *
 * @example
 * ```ts
 * import { MAX_BLOCK_NAME, tokenize } from "./tokenizer.ts";
 *
 * if (tokenize("⟦" + "x".repeat(MAX_BLOCK_NAME + 1) + "⟧")[0].kind === "block") throw new Error("too long for a block name");
 * ```
 */
export const MAX_BLOCK_NAME = 64;

/** ASCII punctuation; `÷` and `·` are punctuation too. */
const PUNCT = new Uint8Array(0x100);
for (const ch of "()[]{},;.:|=<>+-*/^'_!?÷·") PUNCT[ch.charCodeAt(0)] = 1;

/**
 * White space as the regex class `\s` has it, but for `\n`, which is a token.
 *
 * @example
 * ```ts
 * import { isSpace } from "./tokenizer.ts";
 *
 * if (!isSpace(0x3000) || isSpace(0x0a)) throw new Error("wrong space");
 * ```
 */
export function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x0d;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * True when `s` is empty or white space only (`isSpace` and newlines): a
 * blank statement, which neither the grader nor the syntax check counts.
 *
 * @example
 * ```ts
 * import { isBlank } from "./tokenizer.ts";
 *
 * if (!isBlank(" \n\u3000") || isBlank(" x ")) throw new Error("wrong blank");
 * ```
 */
export function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x0a && !isSpace(c)) return false;
  }
  return true;
}

const LETTER = /[\p{L}\p{M}\p{N}_]/u;
const LETTER_START = /[\p{L}_]/u;
/** The vulgar fractions ¼ ½ ¾ and ⅓ … ⅞, numbers on their own. */
const isFraction = (c: number) => (c >= 0xbc && c <= 0xbe) || (c >= 0x2153 && c <= 0x215e);
/** Superscript and subscript digits and signs: they stay with the symbol before them (`ℝ⁷⁶⁸`, `◊⁺`). */
const isScript = (c: number) => c === 0xb2 || c === 0xb3 || c === 0xb9 || (c >= 0x2070 && c <= 0x209c);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** The code point at `i` (a lone surrogate is itself). */
function codePointAt(s: string, i: number): number {
  return s.codePointAt(i)!;
}

/** True when the code point can continue a word: letters, marks, digits, `_`, primes. */
function continuesWord(cp: number): boolean {
  if (cp < 0x80) return (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a) || isDigit(cp) || cp === 0x5f;
  if (cp === 0x2032) return true; // ′
  return LETTER.test(String.fromCodePoint(cp));
}

function startsWord(cp: number): boolean {
  if (cp < 0x80) return (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a) || cp === 0x5f;
  return LETTER_START.test(String.fromCodePoint(cp));
}

/** A spelling of a symbol and the symbol's table entry. */
type Spelling = { text: string; info: AISPSymbol };

/** The symbols and ASCII spellings by their first code unit, longest first. */
const CANDIDATES: (Spelling[] | undefined)[] = [];
for (const info of AISP_SYMBOL_TABLE) {
  for (const text of info.ascii === undefined ? [info.symbol] : [info.symbol, info.ascii]) {
    (CANDIDATES[text.charCodeAt(0)] ??= []).push({ text, info });
  }
}
for (const list of CANDIDATES) list?.sort((a, b) => b.text.length - a.text.length);

/** The symbol (or ASCII spelling) that starts at `i`, longest first. */
function symbolAt(s: string, i: number): Spelling | undefined {
  const c0 = s.charCodeAt(i);
  if (SYMBOL_START[c0] !== 1) return undefined;
  const list = CANDIDATES[c0]!;
  for (let k = 0; k < list.length; k++) {
    const c = list[k];
    if (c.text.length === 1 || s.startsWith(c.text, i)) return c;
  }
  return undefined;
}

/** One-character strings of the ASCII range, so that punctuation tokens slice nothing. */
const ASCII = Array.from({ length: 0x80 }, (_, c) => String.fromCharCode(c));

/**
 * Splits `input` into tokens. Total: every input yields tokens (an
 * unterminated string, a stray `⟦` or an unknown character are tokens the
 * parser reports), and white space other than newlines is dropped.
 *
 * @example
 * ```ts
 * import { tokenize } from "./tokenizer.ts";
 *
 * const t = tokenize("∀x ∈ S");
 * if (t.map((x) => x.text).join(" ") !== "∀ x ∈ S" || t[2].start.column !== 4) throw new Error(JSON.stringify(t));
 * ```
 */
export function tokenize(input: string): Token[] {
  const out: Token[] = [];
  const n = input.length;
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const pos = (at: number): Position => ({ line, column: at - lineStart + 1, offset: at });
  const push = (kind: TokenKind, from: number, to: number) => {
    const text = to === from + 1 && input.charCodeAt(from) < 0x80 ? ASCII[input.charCodeAt(from)] : input.slice(from, to);
    out.push({ kind, text, start: pos(from), end: pos(to) });
  };
  while (i < n) {
    const c = input.charCodeAt(i);
    if (c === 0x0a) {
      // A newline ends where the next line begins.
      out.push({ kind: "newline", text: "\n", start: pos(i), end: { line: line + 1, column: 1, offset: i + 1 } });
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    // ;; starts a comment to the end of the line.
    if (c === 0x3b && input.charCodeAt(i + 1) === 0x3b) {
      let j = i + 2;
      while (j < n && input.charCodeAt(j) !== 0x0a) j++;
      push("comment", i, j);
      i = j;
      continue;
    }
    // ⟦Name⟧ is one token when it closes within MAX_BLOCK_NAME on the same line.
    if (c === 0x27e6) {
      let j = i + 1;
      const limit = Math.min(n, i + 1 + MAX_BLOCK_NAME);
      while (j < limit) {
        const d = input.charCodeAt(j);
        if (d === 0x27e7 || d === 0x27e6 || d === 0x0a) break;
        j++;
      }
      if (j < n && j > i + 1 && input.charCodeAt(j) === 0x27e7) {
        push("block", i, j + 1);
        i = j + 1;
        continue;
      }
    }
    // 𝔸 with text after it is a document header (𝔸5.1.name@date).
    if (c === 0xd835 && input.charCodeAt(i + 1) === 0xdd38 && i + 2 < n && !isSpace(input.charCodeAt(i + 2)) && input.charCodeAt(i + 2) !== 0x0a) {
      let j = i + 2;
      while (j < n && !isSpace(input.charCodeAt(j)) && input.charCodeAt(j) !== 0x0a) j++;
      push("header", i, j);
      i = j;
      continue;
    }
    const sym = symbolAt(input, i);
    if (sym !== undefined) {
      let j = i + sym.text.length;
      while (j < n && isScript(input.charCodeAt(j))) j++;
      const text = j === i + sym.text.length ? sym.text : input.slice(i, j);
      out.push({ kind: "symbol", text, start: pos(i), end: pos(j), symbol: sym.info.symbol, category: sym.info.category });
      i = j;
      continue;
    }
    if (c === 0x22) {
      // A string runs to the next unescaped " on the same line; unterminated, to the line's end.
      let j = i + 1;
      while (j < n) {
        const d = input.charCodeAt(j);
        if (d === 0x22 || d === 0x0a) break;
        j += d === 0x5c && j + 1 < n && input.charCodeAt(j + 1) !== 0x0a ? 2 : 1;
      }
      if (j < n && input.charCodeAt(j) === 0x22) j++;
      push("string", i, j);
      i = j;
      continue;
    }
    if (isDigit(c) || isFraction(c)) {
      let j = i + 1;
      if (isDigit(c)) {
        while (j < n && isDigit(input.charCodeAt(j))) j++;
        // 0.8, 1.0.0: a dot followed by a digit continues the number.
        while (j + 1 < n && input.charCodeAt(j) === 0x2e && isDigit(input.charCodeAt(j + 1))) {
          j += 2;
          while (j < n && isDigit(input.charCodeAt(j))) j++;
        }
      }
      push("number", i, j);
      i = j;
      continue;
    }
    const cp = codePointAt(input, i);
    if (startsWord(cp)) {
      let j = i + (cp > 0xffff ? 2 : 1);
      while (j < n) {
        if (SYMBOL_START[input.charCodeAt(j)] === 1 && symbolAt(input, j) !== undefined) break;
        const d = codePointAt(input, j);
        if (continuesWord(d) || d === 0x27) j += d > 0xffff ? 2 : 1;
        else break;
      }
      push("word", i, j);
      i = j;
      continue;
    }
    if (c < 0x100 && PUNCT[c] === 1) {
      push("punct", i, i + 1);
      i++;
      continue;
    }
    const w = cp > 0xffff ? 2 : 1;
    push("unknown", i, i + w);
    i += w;
  }
  return out;
}
