"""The AISP tokenizer (sdk/aisp/tokenizer.ts): one pass over the UTF-16 code units, each
looked at a bounded number of times, into tokens {kind, text, start, end[, symbol,
category]}, newlines and ;; comments included."""

import unicodedata

from ._symbols import SYMBOL_START, symbol_at
from ._utf16 import code_point_at, slice_text, units

MAX_BLOCK_NAME = 64
_PUNCT = frozenset(ord(c) for c in "()[]{},;.:|=<>+-*/^'_!?") | {0xF7, 0xB7}
_FRACTIONS = frozenset(ord(c) for c in "¼½¾⅓⅔⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞")


def is_space(c):
    """White space as the regex class \\s has it, but for \\n (a token). `c` is a code unit."""
    if c <= 0x20:
        return c in (0x20, 0x09, 0x0B, 0x0C, 0x0D)
    return (c == 0xA0 or c == 0x1680 or 0x2000 <= c <= 0x200A or c in (0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF))


def is_blank(s):
    """True when `s` is empty or white space only (is_space and newlines)."""
    return all(c == 0x0A or is_space(c) for c in units(s))


def _is_script(c):
    return c in (0xB2, 0xB3, 0xB9) or 0x2070 <= c <= 0x209C


def _is_digit(c):
    return 0x30 <= c <= 0x39


def _category(cp):
    if 0xD800 <= cp <= 0xDFFF:
        return "Cs"
    return unicodedata.category(chr(cp))


def _continues_word(cp):
    if cp < 0x80:
        return 0x61 <= cp <= 0x7A or 0x41 <= cp <= 0x5A or _is_digit(cp) or cp == 0x5F
    if cp == 0x2032:
        return True
    return _category(cp)[0] in "LMN"


def _starts_word(cp):
    if cp < 0x80:
        return 0x61 <= cp <= 0x7A or 0x41 <= cp <= 0x5A or cp == 0x5F
    return _category(cp)[0] == "L"


def _width(cp):
    """How many code units the code point takes."""
    return 2 if cp > 0xFFFF else 1


def pos(line, column, offset):
    """A position as tokens and AST nodes hold it."""
    return {"line": line, "column": column, "offset": offset}


def tokenize(text):
    """The tokens of `text`: dicts {kind, text, start, end[, symbol, category]}, newlines and ;; comments included."""
    return _tokenize(units(text))


def _tokenize(u):
    out = []
    n = len(u)
    i = 0
    line = 1
    line_start = 0

    def push(kind, a, b, sym=None):
        t = {"kind": kind, "text": slice_text(u, a, b), "start": pos(line, a - line_start + 1, a), "end": pos(line, b - line_start + 1, b)}
        if sym is not None:
            t["symbol"] = sym["symbol"]
            t["category"] = sym["category"]
        out.append(t)

    while i < n:
        c = u[i]
        if c == 0x0A:
            out.append({"kind": "newline", "text": "\n", "start": pos(line, i - line_start + 1, i), "end": pos(line + 1, 1, i + 1)})
            i += 1
            line += 1
            line_start = i
            continue
        if is_space(c):
            i += 1
            continue
        if c == 0x3B and i + 1 < n and u[i + 1] == 0x3B:
            j = i + 2
            while j < n and u[j] != 0x0A:
                j += 1
            push("comment", i, j)
            i = j
            continue
        if c == 0x27E6:
            j = i + 1
            limit = min(n, i + 1 + MAX_BLOCK_NAME)
            while j < limit:
                d = u[j]
                if d in (0x27E7, 0x27E6, 0x0A):
                    break
                j += 1
            if j < n and j > i + 1 and u[j] == 0x27E7:
                push("block", i, j + 1)
                i = j + 1
                continue
        if c == 0xD835 and i + 1 < n and u[i + 1] == 0xDD38 and i + 2 < n and not is_space(u[i + 2]) and u[i + 2] != 0x0A:
            j = i + 2
            while j < n and not is_space(u[j]) and u[j] != 0x0A:
                j += 1
            push("header", i, j)
            i = j
            continue
        found = symbol_at(u, i)
        if found is not None:
            length, sym = found
            j = i + length
            while j < n and _is_script(u[j]):
                j += 1
            push("symbol", i, j, sym)
            i = j
            continue
        if c == 0x22:
            j = i + 1
            while j < n:
                d = u[j]
                if d == 0x22 or d == 0x0A:
                    break
                j += 2 if (d == 0x5C and j + 1 < n and u[j + 1] != 0x0A) else 1
            if j < n and u[j] == 0x22:
                j += 1
            push("string", i, j)
            i = j
            continue
        if _is_digit(c) or c in _FRACTIONS:
            j = i + 1
            if _is_digit(c):
                while j < n and _is_digit(u[j]):
                    j += 1
                while j + 1 < n and u[j] == 0x2E and _is_digit(u[j + 1]):
                    j += 2
                    while j < n and _is_digit(u[j]):
                        j += 1
            push("number", i, j)
            i = j
            continue
        cp = code_point_at(u, i)
        if _starts_word(cp):
            j = i + _width(cp)
            while j < n:
                if u[j] in SYMBOL_START and symbol_at(u, j) is not None:
                    break
                d = code_point_at(u, j)
                if _continues_word(d) or d == 0x27:
                    j += _width(d)
                else:
                    break
            push("word", i, j)
            i = j
            continue
        if c in _PUNCT:
            push("punct", i, i + 1)
            i += 1
            continue
        w = _width(cp)
        push("unknown", i, i + w)
        i += w
    return out
