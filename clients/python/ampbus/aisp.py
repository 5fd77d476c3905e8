"""The AISP language for Python agents: the symbol table, the tokenizer, the parser and
the grader of the TypeScript SDK (sdk/aisp/), rule for rule, so that a spec graded here
gets the tier ampd grades it (ampd refuses a claimed tier better than its own grade).

    from ampbus import aisp
    g = aisp.grade({"preconditions": ["∀f ∈ Files: ok(f)"], "task": "t ≜ λf.fix(f)",
                    "postconditions": []})
    g["tier"], g["score"], g["suggestions"]
    aisp.parse_string("∀ ∈ Files")["errors"][0]   # {"message": "expected a bound variable after ∀, found ∈", "line": 1, "column": 3, ...}

Positions count UTF-16 code units, as the SDK does: a symbol outside the Basic
Multilingual Plane (𝔹, 𝔸) is two columns wide. The golden vectors in
tests/vectors/aisp/vectors.json hold both implementations to the same tokens, errors and
grades. Tokens and AST nodes are dicts with the SDK's field names.
"""

import math
import sys
import unicodedata

# ---------------------------------------------------------------------------------------
# The symbol table (sdk/aisp/symbols.ts)

SYMBOL_CATEGORIES = ("quantifiers", "logic", "definitions", "sets", "relations", "functions", "topology", "evidence")

_TABLE = {
    "quantifiers": [("∀", "for all"), ("∃", "there exists"), ("∃!", "there exists exactly one"), ("∄", "there exists no")],
    "logic": [("∧", "and", "&&"), ("∨", "or", "||"), ("¬", "not"), ("⇒", "implies", "=>"), ("⇔", "if and only if", "<=>"),
              ("⊕", "exclusive or"), ("⊤", "true"), ("⊥", "false")],
    "definitions": [("≜", "is defined as", "::="), ("≔", "is assigned", ":="), ("≡", "is identical to", "==="),
                    ("≢", "is not identical to", "!=="), ("λ", "function of (lambda)")],
    "sets": [("∈", "is an element of"), ("∉", "is not an element of"), ("⊆", "is a subset of"), ("⊂", "is a proper subset of"),
             ("⊇", "is a superset of"), ("⊃", "is a proper superset of"), ("∪", "union"), ("∩", "intersection"),
             ("∖", "set difference"), ("∅", "the empty set"), ("×", "product"), ("ℕ", "natural numbers"), ("ℤ", "integers"),
             ("ℚ", "rationals"), ("ℝ", "reals"), ("ℂ", "complex numbers"), ("𝔹", "booleans"), ("𝕊", "strings"), ("𝒫", "power set")],
    "relations": [("≠", "is not equal to", "!="), ("≤", "is at most", "<="), ("≥", "is at least", ">="), ("≈", "is approximately"),
                  ("≺", "precedes"), ("≻", "succeeds"), ("≅", "is isomorphic to")],
    "functions": [("→", "maps to (function type)", "->"), ("←", "takes the value of", "<-"), ("↔", "corresponds to", "<->"),
                  ("↦", "sends to", "|->"), ("∘", "composed with"), ("∑", "sum"), ("∏", "product over"), ("∫", "integral"),
                  ("∂", "parse (partial)")],
    "topology": [("⟦", "block open"), ("⟧", "block close"), ("⟨", "tuple open"), ("⟩", "tuple close"), ("𝔸", "AISP document header"),
                 ("□", "always"), ("◇", "eventually"), ("∞", "infinity")],
    "evidence": [("⊢", "proves", "|-"), ("⊨", "models"), ("∎", "end of proof"), ("◊⁺⁺", "tier platinum"), ("◊⁺", "tier gold"),
                 ("◊", "tier silver"), ("◊⁻", "tier bronze"), ("⊘", "tier reject")],
}


def _code_points(s):
    return ["U+%04X" % ord(ch) for ch in s]


SYMBOL_TABLE = tuple(
    {"symbol": row[0], "name": row[1], "category": cat, "codePoints": _code_points(row[0]), **({"ascii": row[2]} if len(row) > 2 else {})}
    for cat in SYMBOL_CATEGORIES for row in _TABLE[cat]
)


def _units(s):
    """The UTF-16 code units of `s` (lone surrogates kept)."""
    b = s.encode("utf-16-le", "surrogatepass")
    return [b[i] | (b[i + 1] << 8) for i in range(0, len(b), 2)]


def _text(units, a, b):
    out = bytearray()
    for u in units[a:b]:
        out.append(u & 0xFF)
        out.append(u >> 8)
    return out.decode("utf-16-le", "surrogatepass")


# Keys as UTF-16 unit tuples, so that lookups match the SDK's slices exactly.
_BY_UNITS = {}
for _s in SYMBOL_TABLE:
    _BY_UNITS[tuple(_units(_s["symbol"]))] = _s
    if "ascii" in _s:
        _BY_UNITS[tuple(_units(_s["ascii"]))] = _s
_LONGEST = max(len(k) for k in _BY_UNITS)
_SYMBOL_START = frozenset(k[0] for k in _BY_UNITS)


def symbol_info(text):
    """The table's entry for a symbol, given as itself or by its ASCII spelling, or None."""
    return _BY_UNITS.get(tuple(_units(text)))


# ---------------------------------------------------------------------------------------
# The tokenizer (sdk/aisp/tokenizer.ts)

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
    return all(c == 0x0A or is_space(c) for c in _units(s))


def _is_script(c):
    return c in (0xB2, 0xB3, 0xB9) or 0x2070 <= c <= 0x209C


def _is_digit(c):
    return 0x30 <= c <= 0x39


def _code_point_at(u, i):
    c = u[i]
    if 0xD800 <= c <= 0xDBFF and i + 1 < len(u) and 0xDC00 <= u[i + 1] <= 0xDFFF:
        return ((c - 0xD800) << 10) + (u[i + 1] - 0xDC00) + 0x10000
    return c


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


def _symbol_at(u, i):
    if u[i] not in _SYMBOL_START:
        return None
    for n in range(min(_LONGEST, len(u) - i), 0, -1):
        s = _BY_UNITS.get(tuple(u[i:i + n]))
        if s is not None:
            return n, s
    return None


def _pos(line, column, offset):
    return {"line": line, "column": column, "offset": offset}


def tokenize(text):
    """The tokens of `text`: dicts {kind, text, start, end[, symbol, category]}, newlines and ;; comments included."""
    return _tokenize(_units(text))


def _tokenize(u):
    out = []
    n = len(u)
    i = 0
    line = 1
    line_start = 0

    def push(kind, a, b, sym=None):
        t = {"kind": kind, "text": _text(u, a, b), "start": _pos(line, a - line_start + 1, a), "end": _pos(line, b - line_start + 1, b)}
        if sym is not None:
            t["symbol"] = sym["symbol"]
            t["category"] = sym["category"]
        out.append(t)

    while i < n:
        c = u[i]
        if c == 0x0A:
            out.append({"kind": "newline", "text": "\n", "start": _pos(line, i - line_start + 1, i), "end": _pos(line + 1, 1, i + 1)})
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
        found = _symbol_at(u, i)
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
        cp = _code_point_at(u, i)
        if _starts_word(cp):
            j = i + (2 if cp > 0xFFFF else 1)
            while j < n:
                if u[j] in _SYMBOL_START and _symbol_at(u, j) is not None:
                    break
                d = _code_point_at(u, j)
                if _continues_word(d) or d == 0x27:
                    j += 2 if d > 0xFFFF else 1
                else:
                    break
            push("word", i, j)
            i = j
            continue
        if c in _PUNCT:
            push("punct", i, i + 1)
            i += 1
            continue
        w = 2 if cp > 0xFFFF else 1
        push("unknown", i, i + w)
        i += w
    return out


# ---------------------------------------------------------------------------------------
# The parser (sdk/aisp/parser.ts)

MAX_NESTING = 40
MAX_ERRORS = 50

_ARROW = {"⇒", "⇔", "→", "↔", "←", "↦", "⊢", "⊨"}
_DEFINE = {"≜", "≔"}
_OR = {"∨", "⊕"}
_AND = {"∧"}
_COMPARE = {"=", "≠", "<", ">", "≤", "≥", "≡", "≢", "≈", "∈", "∉", "⊆", "⊂", "⊇", "⊃", "≺", "≻", "≅"}
_SETOP = {"∪", "∩", "∖", "×", "∘", "|"}
_SUM = {"+", "-"}
_PRODUCT = {"*", "/", "^", "÷", "·"}
_PREFIX = {"-", "□", "◇", "⊢", "∑", "∏", "∫", "∂"}
_QUANTIFIERS = {"∀", "∃", "∃!", "∄"}
_CONSTANTS = {"⊤", "⊥", "∅", "ℕ", "ℤ", "ℚ", "ℝ", "ℂ", "𝔹", "𝕊", "𝒫", "∞", "∎", "◊⁺⁺", "◊⁺", "◊", "◊⁻", "⊘", "𝔸"}
_CLOSERS = {"(": ")", "[": "]", "{": "}", "⟨": "⟩"}
_SEPARATORS = {";", ",", ".", "!", "?"}


class _Failure(Exception):
    def __init__(self, error, fatal=False):
        super().__init__(error["message"])
        self.error = error
        self.fatal = fatal


def _op(t):
    if t is None:
        return None
    if t["kind"] == "symbol":
        return t["symbol"]
    if t["kind"] == "punct":
        return t["text"]
    return None


def _is_separator(t):
    return t is not None and (t["kind"] == "newline" or (t["kind"] == "punct" and t["text"] in _SEPARATORS))


def _describe(t):
    if t is None:
        return "the end"
    if t["kind"] == "newline":
        return "the end of the line"
    u = _units(t["text"])
    return _text(u, 0, 24) + "…" if len(u) > 24 else t["text"]


def _terminated(text):
    u = _units(text)
    i = 1
    while i < len(u):
        if u[i] == 0x22:
            return i == len(u) - 1
        i += 2 if u[i] == 0x5C else 1
    return False


def _node(type_, start, end, **fields):
    n = {"type": type_}
    n.update(fields)
    n["start"] = start
    n["end"] = end
    return n


class _Parse:
    def __init__(self, tokens):
        self.t = [t for t in tokens if t["kind"] != "comment"]
        self.i = 0
        self.depth = 0
        self.errors = []

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def peek_at(self, k):
        return self.t[k] if k < len(self.t) else None

    def fail(self, expected, at=None):
        t = at if at is not None else self.peek()
        p = t["start"] if t is not None else self.end_pos()
        raise _Failure({"message": expected + ", found " + _describe(t), "line": p["line"], "column": p["column"], "offset": p["offset"]})

    def end_pos(self):
        return self.t[-1]["end"] if self.t else _pos(1, 1, 0)

    def last_end(self):
        return self.t[self.i - 1]["end"] if self.i > 0 else _pos(1, 1, 0)

    def skip_newlines(self):
        while self.peek() is not None and self.peek()["kind"] == "newline":
            self.i += 1

    def enter(self):
        self.depth += 1
        if self.depth > MAX_NESTING:
            try:
                self.fail("expected at most %d levels of nesting" % MAX_NESTING)
            except _Failure as e:
                raise _Failure(e.error, True)

    def statements(self, closer):
        out = []
        while True:
            while _is_separator(self.peek()):
                self.i += 1
            t = self.peek()
            if t is None or (closer is not None and _op(t) == closer):
                return out
            mark = self.depth
            start = self.i
            try:
                out.append(self.statement())
                after = self.peek()
                if after is not None and not _is_separator(after) and not (closer is not None and _op(after) == closer):
                    self.fail("expected an operator or the end of the statement" if closer is None else "expected an operator, a separator or " + closer)
            except _Failure as e:
                if e.fatal and closer is not None:
                    raise
                self.depth = mark
                self.errors.append(e.error)
                if e.fatal or len(self.errors) >= MAX_ERRORS:
                    self.i = len(self.t)
                    return out
                self.recover(closer)
                if self.i == start:
                    self.i += 1

    def recover(self, closer):
        open_ = 0
        t = self.peek()
        while t is not None:
            o = _op(t)
            if open_ == 0 and (_is_separator(t) or (closer is not None and o == closer)):
                return
            if o is not None and o in _CLOSERS:
                open_ += 1
            elif o in (")", "]", "}", "⟩"):
                if open_ == 0:
                    if closer is not None:
                        return
                else:
                    open_ -= 1
            self.i += 1
            t = self.peek()

    def statement(self):
        left = self.label()
        while _op(self.peek()) == ":":
            self.i += 1
            self.skip_newlines()
            right = self.label()
            left = _node("Binary", left["start"], right["end"], operator=":", left=left, right=right)
        return left

    def label(self):
        left = self.arrow()
        o = _op(self.peek())
        if o is None or o not in _DEFINE:
            return left
        self.i += 1
        self.skip_newlines()
        self.enter()
        value = self.operand(self.statement, "expected a definition after " + o)
        self.depth -= 1
        return _node("Definition", left["start"], value["end"], operator=o, target=left, value=value)

    def arrow(self):
        left = self.or_()
        o = _op(self.peek())
        if o is None or o not in _ARROW:
            return left
        self.i += 1
        self.skip_newlines()
        self.enter()
        right = self.operand(self.arrow, "expected an expression after " + o)
        self.depth -= 1
        return _node("Binary", left["start"], right["end"], operator=o, left=left, right=right)

    def binary_loop(self, ops, nxt):
        left = nxt()
        o = _op(self.peek())
        while o is not None and o in ops:
            self.i += 1
            self.skip_newlines()
            right = self.operand(nxt, "expected an expression after " + o)
            left = _node("Binary", left["start"], right["end"], operator=o, left=left, right=right)
            o = _op(self.peek())
        return left

    def or_(self):
        return self.binary_loop(_OR, self.and_)

    def and_(self):
        return self.binary_loop(_AND, self.not_)

    def not_(self):
        t = self.peek()
        if _op(t) != "¬":
            return self.compare()
        self.i += 1
        self.enter()
        operand = self.operand(self.not_, "expected an expression after ¬")
        self.depth -= 1
        return _node("Unary", t["start"], operand["end"], operator="¬", operand=operand)

    def compare(self):
        return self.binary_loop(_COMPARE, self.setop)

    def setop(self):
        return self.binary_loop(_SETOP, self.sum_)

    def sum_(self):
        return self.binary_loop(_SUM, self.product)

    def product(self):
        return self.binary_loop(_PRODUCT, self.prefix)

    def operand(self, rule, expected):
        if not self.starts_operand(self.peek()):
            self.fail(expected)
        return rule()

    def starts_operand(self, t):
        if t is None:
            return False
        k = t["kind"]
        if k in ("word", "number", "string", "block", "header"):
            return True
        if k == "symbol":
            s = t["symbol"]
            return s in _QUANTIFIERS or s in _CONSTANTS or s in _PREFIX or s in ("λ", "¬", "⟨")
        if k == "punct":
            return t["text"] in ("(", "[", "{", "|", "-")
        return False

    def prefix(self):
        t = self.peek()
        o = _op(t)
        if o is not None and o in _PREFIX and (t["kind"] == "symbol" or o == "-"):
            self.i += 1
            if not self.starts_operand(self.peek()) and o not in ("-", "□", "◇", "⊢"):
                return _node("Constant", t["start"], t["end"], symbol=o)
            self.enter()
            operand = self.operand(self.prefix, "expected an expression after " + o)
            self.depth -= 1
            return _node("Unary", t["start"], operand["end"], operator=o, operand=operand)
        return self.phrase()

    def phrase(self):
        first = self.postfix()
        if not self.continues_phrase(self.peek()):
            return first
        parts = [first]
        while self.continues_phrase(self.peek()):
            parts.append(self.postfix())
        return _node("Phrase", first["start"], parts[-1]["end"], parts=parts)

    def continues_phrase(self, t):
        if not self.starts_operand(t):
            return False
        o = _op(t)
        return not (o == "-" or o == "|" or (t["kind"] == "symbol" and o in _PREFIX))

    def postfix(self):
        node = self.primary()
        t = self.peek()
        while t is not None and t["start"]["offset"] == node["end"]["offset"]:
            o = _op(t)
            nxt = self.peek_at(self.i + 1)
            if o in ("(", "[", "⟨"):
                self.i += 1
                args = self.list_(_CLOSERS[o], t)
                node = _node("Index" if o == "[" else "Apply", node["start"], self.last_end(), callee=node, args=args)
            elif o == "." and nxt is not None and nxt["kind"] == "word" and nxt["start"]["offset"] == t["end"]["offset"]:
                self.i += 2
                node = _node("Member", node["start"], nxt["end"], object=node, property=nxt["text"])
            else:
                break
            t = self.peek()
        return node

    def list_(self, closer, open_):
        self.enter()
        items = []
        while True:
            self.skip_newlines()
            if _op(self.peek()) == closer:
                break
            items.append(self.statement())
            self.skip_newlines()
            o = _op(self.peek())
            if o in (",", ";"):
                self.i += 1
                continue
            if o == closer:
                break
            if self.peek() is None:
                self.fail("expected %s to close the %s at line %d, column %d" % (closer, open_["text"], open_["start"]["line"], open_["start"]["column"]))
            self.fail("expected , or " + closer)
        self.i += 1
        self.depth -= 1
        return items

    def group(self, closer, open_):
        self.enter()
        body = self.statements(closer)
        if _op(self.peek()) != closer:
            self.fail("expected %s to close the %s at line %d, column %d" % (closer, open_["text"], open_["start"]["line"], open_["start"]["column"]))
        self.i += 1
        self.depth -= 1
        return body

    def primary(self):
        t = self.peek()
        if t is None:
            self.fail("expected an expression")
        k = t["kind"]
        if k == "word":
            self.i += 1
            return _node("Word", t["start"], t["end"], name=t["text"])
        if k == "number":
            self.i += 1
            return _node("Number", t["start"], t["end"], value=t["text"])
        if k == "string":
            if not _terminated(t["text"]):
                self.fail('expected a closing " before the end of the line', t)
            self.i += 1
            u = _units(t["text"])
            return _node("String", t["start"], t["end"], value=_text(u, 1, len(u) - 1))
        if k == "header":
            self.i += 1
            return _node("Header", t["start"], t["end"], text=t["text"])
        if k == "block":
            return self.block(t)
        if k == "symbol":
            s = t["symbol"]
            if s in _QUANTIFIERS:
                return self.quantifier(t)
            if s == "¬":
                return self.not_()
            if s == "λ":
                return self.lambda_(t)
            if s == "⟨":
                self.i += 1
                items = self.group("⟩", t)
                return _node("Tuple", t["start"], self.last_end(), items=items)
            if s == "⟦":
                self.fail("expected a block name and ⟧ within 64 characters after ⟦", t)
            if s in _CONSTANTS:
                self.i += 1
                return _node("Constant", t["start"], t["end"], symbol=s)
        elif k == "punct":
            o = t["text"]
            if o in ("(", "["):
                self.i += 1
                items = self.list_(_CLOSERS[o], t)
                end = self.last_end()
                if o == "(" and len(items) == 1:
                    return items[0]
                return _node("Tuple" if o == "(" else "List", t["start"], end, items=items)
            if o == "{":
                self.i += 1
                items = self.group("}", t)
                return _node("Set", t["start"], self.last_end(), items=items)
            if o == "|":
                self.i += 1
                self.enter()
                operand = self.operand(self.sum_, "expected an expression after |")
                if _op(self.peek()) != "|":
                    self.fail("expected | to close |…|")
                self.i += 1
                self.depth -= 1
                return _node("Abs", t["start"], self.last_end(), operand=operand)
        elif k == "unknown":
            self.fail("expected an expression (an unknown character is not AISP)", t)
        self.fail("expected an expression", t)

    def words(self, what, after):
        out = []
        while True:
            t = self.peek()
            if t is None or t["kind"] != "word":
                self.fail("expected %s %s after %s" % ("a" if not out else "another", what, after["text"] if not out else ","))
            self.i += 1
            out.append(_node("Word", t["start"], t["end"], name=t["text"]))
            nxt = self.peek_at(self.i + 1)
            if _op(self.peek()) != "," or nxt is None or nxt["kind"] != "word":
                return out
            self.i += 1

    def quantifier(self, q):
        self.i += 1
        self.enter()
        variables = self.words("bound variable", q)
        names = ",".join(v["name"] for v in variables)
        relation = None
        domain = None
        body = None
        o = _op(self.peek())
        if o in ("∈", "⊆"):
            self.i += 1
            relation = o
            domain = self.operand(self.setop, "expected a domain after " + o)
        elif o == ":":
            self.i += 1
            first = self.operand(self.arrow, "expected a type or a condition after %s%s:" % (_describe(q), names))
            if _op(self.peek()) == ":":
                relation = ":"
                domain = first
            else:
                body = first
        if body is None:
            sep = _op(self.peek())
            if sep in (":", ".", ","):
                self.i += 1
                self.skip_newlines()
            if sep not in (":", ".", ",") and domain is not None and not self.starts_operand(self.peek()):
                body = None
            else:
                body = self.operand(self.statement, "expected a condition after %s%s%s" % (q["text"], names, "" if domain is None else " %s …" % relation))
        self.depth -= 1
        if relation is None:
            return _node("Quantifier", q["start"], body["end"], quantifier=q["symbol"], variables=variables, body=body)
        if body is None:
            return _node("Quantifier", q["start"], domain["end"], quantifier=q["symbol"], variables=variables, relation=relation, domain=domain)
        return _node("Quantifier", q["start"], body["end"], quantifier=q["symbol"], variables=variables, relation=relation, domain=domain, body=body)

    def lambda_(self, lam):
        self.i += 1
        self.enter()
        t = self.peek()
        if _op(t) == "(":
            self.i += 1
            params = [] if _op(self.peek()) == ")" else self.words("parameter", t)
            if _op(self.peek()) != ")":
                self.fail("expected , or ) after the parameters of λ")
            self.i += 1
        else:
            params = self.words("parameter", lam)
        if _op(self.peek()) != ".":
            self.fail("expected . after the parameters of λ")
        self.i += 1
        body = self.operand(self.statement, "expected a body after λ….")
        self.depth -= 1
        return _node("Lambda", lam["start"], body["end"], params=params, body=body)

    def block(self, t):
        self.i += 1
        u = _units(t["text"])
        name = _text(u, 1, len(u) - 1)
        body = []
        end = t["end"]
        k = self.i
        while self.peek_at(k) is not None and self.peek_at(k)["kind"] == "newline":
            k += 1
        o = _op(self.peek_at(k))
        if o in ("{", "⟨"):
            self.i = k + 1
            body = self.group("}" if o == "{" else "⟩", self.t[k])
            end = self.last_end()
        return _node("Block", t["start"], end, name=name, body=body)


def parse(tokens):
    """Parses tokens from tokenize(): {"success", "ast", "errors"?} as the SDK's ParseResult."""
    # The parser recurses up to MAX_NESTING levels of about 25 frames each.
    limit = sys.getrecursionlimit()
    if limit < 5000:
        sys.setrecursionlimit(5000)
    try:
        p = _Parse(tokens)
        body = p.statements(None)
    finally:
        if limit < 5000:
            sys.setrecursionlimit(limit)
    first = next((t for t in tokens if t["kind"] not in ("newline", "comment")), None)
    zero = _pos(1, 1, 0)
    ast = _node("Document", first["start"] if first else zero, tokens[-1]["end"] if tokens else zero, body=body)
    if not p.errors:
        return {"success": True, "ast": ast}
    return {"success": False, "ast": ast, "errors": p.errors}


def parse_string(text):
    """parse(tokenize(text))."""
    return parse(tokenize(text))


MAX_GRADED = 65536


def spec_syntax_issues(spec):
    """The parse errors of a spec's statements as (path, message) pairs, as ampd's --spec-syntax reports them."""
    out = []
    budget = [MAX_GRADED]

    def check(path, shown, text):
        if is_blank(text):
            return
        n = len(_units(text))
        if n > budget[0]:
            out.append((path, "%s is not checked: a spec's statements are parsed up to %d characters in all" % (shown, MAX_GRADED)))
            return
        budget[0] -= n
        for e in parse_string(text).get("errors", []):
            out.append((path, "%s does not parse at line %d, column %d: %s" % (shown, e["line"], e["column"], e["message"])))

    for i, s in enumerate(spec.get("preconditions", [])):
        check(["spec", "preconditions", i], "spec.preconditions[%d]" % i, s)
    check(["spec", "task"], "spec.task", spec["task"])
    for i, s in enumerate(spec.get("postconditions", [])):
        check(["spec", "postconditions", i], "spec.postconditions[%d]" % i, s)
    return out


# ---------------------------------------------------------------------------------------
# The grader (sdk/aisp/grader.ts)

GRADE_WEIGHTS = {"symbolDensity": 0.30, "quantifierPrecision": 0.25, "conditionCompleteness": 0.25, "evidence": 0.20}
TIER_THRESHOLDS = {"platinum": 0.75, "gold": 0.60, "silver": 0.40, "bronze": 0.20}
TIER_SYMBOLS = {"platinum": "◊⁺⁺", "gold": "◊⁺", "silver": "◊", "bronze": "◊⁻", "reject": "⊘"}
SYMBOL_DENSITY_SATURATION = 0.5
METHOD_WEIGHTS = {"formal-verification": 1.0, "test-execution": 0.85, "static-analysis": 0.7}
REQUIRED_BLOCKS = ("Ω", "Σ", "Γ", "Λ", "Ε")
BINDING_SYMBOLS = ("≜", "≔", "∀", "∃", "∃!", "λ", "⇒", "⇔", "→", "↔", "∈", "⊆", "∩", "∪", "∅")
_BINDINGS_FOR_FULL = 20


def tier_of(score):
    """The best tier whose threshold the score reaches."""
    if score >= 0.75:
        return "platinum"
    if score >= 0.60:
        return "gold"
    if score >= 0.40:
        return "silver"
    if score >= 0.20:
        return "bronze"
    return "reject"


def _js_round(x):
    r = math.floor(x)
    return r + 1 if x - r >= 0.5 else r


def _round4(x):
    return _js_round(x * 10000) / 10000


def _num(x):
    """A number as JavaScript writes it in a template string."""
    if x == int(x):
        return str(int(x))
    return repr(x)


def _where(e):
    return "line %d, column %d" % (e["line"], e["column"])


def _count(tokens, c):
    run_end = -1
    for t in tokens:
        k = t["kind"]
        if k in ("newline", "comment"):
            run_end = -1
            continue
        if k in ("symbol", "block", "header"):
            c["tokens"] += 1
            c["symbols"] += 1
            run_end = -1
            if k == "symbol" and t["symbol"] in BINDING_SYMBOLS:
                c["bindings"] += 1
            if k == "block":
                u = _units(t["text"])
                letter = _text(u, 1, len(u) - 1).split(":")[0]
                if letter in REQUIRED_BLOCKS:
                    c["blocks"].add(letter)
                elif letter == "E":
                    c["latinE"] = True
            continue
        if t["start"]["offset"] != run_end:
            c["tokens"] += 1
        run_end = t["end"]["offset"]


def _children(n):
    t = n["type"]
    if t in ("Document", "Block"):
        return n["body"]
    if t == "Quantifier":
        return list(n["variables"]) + ([n["domain"]] if "domain" in n else []) + ([n["body"]] if "body" in n else [])
    if t == "Lambda":
        return list(n["params"]) + [n["body"]]
    if t == "Definition":
        return [n["target"], n["value"]]
    if t == "Binary":
        return [n["left"], n["right"]]
    if t in ("Unary", "Abs"):
        return [n["operand"]]
    if t in ("Apply", "Index"):
        return [n["callee"]] + list(n["args"])
    if t == "Member":
        return [n["object"]]
    if t == "Phrase":
        return n["parts"]
    if t in ("Tuple", "Set", "List"):
        return n["items"]
    return []


def _nodes(root):
    out = []
    stack = [root]
    while stack:
        n = stack.pop()
        out.append(n)
        ch = _children(n)
        for i in range(len(ch) - 1, -1, -1):
            stack.append(ch[i])
    return out


def _words_in(n):
    if n is None:
        return set()
    return {x["name"] for x in _nodes(n) if x["type"] == "Word"}


def _statement(label, text):
    tokens = tokenize(text)
    r = parse(tokens)
    return {"label": label, "text": text, "units": _units(text), "tokens": tokens, "ast": r["ast"], "errors": r.get("errors", [])}


def _new_counts():
    return {"tokens": 0, "symbols": 0, "bindings": 0, "blocks": set(), "latinE": False}


_LATIN_E = "⟦E⟧ is written with a Latin E; the evidence block is ⟦Ε⟧ (Greek capital epsilon, U+0395), so it does not count"


def _parse_warning(s):
    e = s["errors"][0]
    more = " (and %d more)" % (len(s["errors"]) - 1) if len(s["errors"]) > 1 else ""
    return "%s does not parse at %s: %s%s" % (s["label"], _where(e), e["message"], more)


def _ambiguities(s, warnings):
    units = s["units"]

    def parenthesised(n):
        i = n["start"]["offset"] - 1
        while i >= 0:
            ch = units[i]
            if ch not in (0x20, 0x09):
                return ch == 0x28
            i -= 1
        return False

    mixed = False
    for n in _nodes(s["ast"]):
        if not mixed and n["type"] == "Binary" and n["operator"] == "∨":
            for side in (n["left"], n["right"]):
                if side["type"] == "Binary" and side["operator"] == "∧" and not parenthesised(side):
                    mixed = True
            if mixed:
                warnings.append("%s mixes ∧ and ∨ without parentheses at line %d, column %d: ∧ binds tighter, so a ∧ b ∨ c reads (a ∧ b) ∨ c; add parentheses to say which is meant" % (s["label"], n["start"]["line"], n["start"]["column"]))
        if n["type"] in ("Quantifier", "Lambda"):
            bound = n["variables"] if n["type"] == "Quantifier" else n["params"]
            inner = _nodes(n["body"]) if "body" in n else []
            for v in bound:
                again = next((m for m in inner if (m["type"] == "Quantifier" and any(w["name"] == v["name"] for w in m["variables"]))
                              or (m["type"] == "Lambda" and any(w["name"] == v["name"] for w in m["params"]))), None)
                if again is not None:
                    warnings.append("%s binds %s again at line %d, column %d, inside the scope of the %s bound at column %d: the inner %s hides the outer" % (
                        s["label"], v["name"], again["start"]["line"], again["start"]["column"], v["name"], v["start"]["column"], v["name"]))


def _precision(s, suggestions):
    if is_blank(s["text"]):
        return 0
    if s["errors"]:
        e = s["errors"][0]
        suggestions.append("fix %s so that it parses (%s: %s); until then it scores 0 for quantifier precision" % (s["label"], _where(e), e["message"]))
        return 0
    qs = [n for n in _nodes(s["ast"]) if n["type"] == "Quantifier"]
    if not qs:
        suggestions.append("%s has no quantifier: say what it ranges over, as in ∀x ∈ Set: p(x)" % s["label"])
        return 0
    total = 0
    for q in qs:
        vs = ", ".join(v["name"] for v in q["variables"])
        p = 0
        if "domain" in q:
            p += 0.5
        else:
            suggestions.append("%s: %s%s has no domain; write %s%s ∈ Set (or %s%s:Type:) to say what it ranges over" % (s["label"], q["quantifier"], vs, q["quantifier"], vs, q["quantifier"], vs))
        if "body" not in q:
            p += 0.5
        else:
            used = _words_in(q["body"])
            unused = [v["name"] for v in q["variables"] if v["name"] not in used]
            if not unused:
                p += 0.5
            else:
                suggestions.append("%s quantifies over %s but never uses %s" % (s["label"], ", ".join(unused), "it" if len(unused) == 1 else "them"))
        total += p
    return total / len(qs)


def _semantic_density(c):
    return _round4(0.4 * (len(c["blocks"]) / len(REQUIRED_BLOCKS)) + 0.6 * min(1, c["bindings"] / _BINDINGS_FOR_FULL))


def grade(spec):
    """Grades a task spec (a dict with preconditions, task, postconditions, evidence?) as the SDK's grade() does:
    {tier, score, semanticDensity, breakdown, suggestions, warnings}."""
    suggestions = []
    warnings = []
    c = _new_counts()
    # One statement at a time, at most MAX_GRADED UTF-16 units parsed in all (as the SDK).
    statements = ([("precondition %d" % (i + 1), s, "condition") for i, s in enumerate(spec.get("preconditions", []))]
                  + [("the task", spec["task"], "task")]
                  + [("postcondition %d" % (i + 1), s, "condition") for i, s in enumerate(spec.get("postconditions", []))])
    budget = MAX_GRADED
    conditions = 0
    precision_sum = 0
    defines_task = 0
    for label, text, kind in statements:
        if kind == "condition":
            conditions += 1
        if is_blank(text):
            continue
        n = len(_units(text))
        if n > budget:
            warnings.append("%s is not parsed: a spec's statements are parsed up to %d characters in all" % (label, MAX_GRADED))
            if kind == "condition":
                suggestions.append("shorten %s: it is past the %d characters the grader parses, so it scores 0 for quantifier precision" % (label, MAX_GRADED))
            continue
        budget -= n
        s = _statement(label, text)
        _count(s["tokens"], c)
        if s["errors"]:
            warnings.append(_parse_warning(s))
        _ambiguities(s, warnings)
        if kind == "condition":
            precision_sum += _precision(s, suggestions)
        else:
            defines_task = 1 if any(n_["type"] == "Definition" for n_ in _nodes(s["ast"])) else 0
    if c["latinE"]:
        warnings.append(_LATIN_E)
    density = 0 if c["tokens"] == 0 else min(1, c["symbols"] / c["tokens"] / SYMBOL_DENSITY_SATURATION)
    quantifier_precision = 0 if not conditions else precision_sum / conditions

    has_pre = 1 if any(not is_blank(x) for x in spec.get("preconditions", [])) else 0
    has_post = 1 if any(not is_blank(x) for x in spec.get("postconditions", [])) else 0
    completeness = (has_pre + has_post + defines_task) / 3
    if has_pre == 0:
        suggestions.append("add a precondition: what must hold before the task, such as ∀f ∈ Inputs: valid(f) (+0.0833)")
    if has_post == 0:
        suggestions.append("add a postcondition: what holds after the task, such as ∀t ∈ Tests: passed(t) = ⊤ (+0.0833)")
    if defines_task == 0:
        suggestions.append("write the task as a definition, such as name ≜ λx.body(x) (+0.0833)")

    ev = spec.get("evidence")
    if ev is None:
        evidence = 0
    else:
        conf = ev.get("confidence")
        confidence = min(1, conf) if isinstance(conf, (int, float)) and not isinstance(conf, bool) and conf >= 0 else 0
        weight = METHOD_WEIGHTS.get(ev.get("method"), 0) if isinstance(ev.get("method"), str) else 0
        evidence = confidence * weight
    if ev is None:
        suggestions.append("attach evidence that the postconditions hold (setEvidence): a formal verification at confidence 1 adds 0.2")
    if density < 1 and c["tokens"] > 0:
        suggestions.append("write more of the spec in AISP symbols (∀ ∈ ⇒ ≜ λ): %d of %d terms are symbols; at half, symbol density would add %s" % (
            c["symbols"], c["tokens"], _num(_round4(GRADE_WEIGHTS["symbolDensity"] * (1 - density)))))

    semantic = _semantic_density(c)
    score = _round4(
        GRADE_WEIGHTS["symbolDensity"] * density
        + GRADE_WEIGHTS["quantifierPrecision"] * quantifier_precision
        + GRADE_WEIGHTS["conditionCompleteness"] * completeness
        + GRADE_WEIGHTS["evidence"] * evidence
    )
    if c["blocks"] and semantic > score:
        score = semantic
    return {
        "tier": tier_of(score),
        "score": score,
        "semanticDensity": semantic,
        "breakdown": {
            "symbolDensity": _round4(density),
            "quantifierPrecision": _round4(quantifier_precision),
            "conditionCompleteness": _round4(completeness),
            "evidence": _round4(evidence),
            "tokens": c["tokens"],
            "symbols": c["symbols"],
            "blocks": len(c["blocks"]),
            "bindings": c["bindings"],
        },
        "suggestions": suggestions,
        "warnings": warnings,
    }


def grade_document(text):
    """Grades a whole AISP document as the AISP 5.1 reference validator does (score = δ), as gradeDocument()."""
    s = _statement("the document", text)
    c = _new_counts()
    _count(s["tokens"], c)
    warnings = []
    suggestions = []
    if s["errors"]:
        warnings.append(_parse_warning(s))
    _ambiguities(s, warnings)
    if c["latinE"]:
        warnings.append(_LATIN_E)
    missing = [b for b in REQUIRED_BLOCKS if b not in c["blocks"]]
    if missing:
        suggestions.append("add the blocks %s (+%s)" % (" ".join("⟦%s⟧" % b for b in missing), _num(_round4(0.4 * len(missing) / 5))))
    if c["bindings"] < _BINDINGS_FOR_FULL:
        suggestions.append("use %d more bindings (≜ ≔ ∀ ∃ λ ⇒ ∈ …) (+%s)" % (_BINDINGS_FOR_FULL - c["bindings"], _num(_round4(0.6 * (1 - c["bindings"] / _BINDINGS_FOR_FULL)))))
    semantic = _semantic_density(c)
    density = 0 if c["tokens"] == 0 else min(1, c["symbols"] / c["tokens"] / SYMBOL_DENSITY_SATURATION)
    return {
        "tier": tier_of(semantic),
        "score": semantic,
        "semanticDensity": semantic,
        "breakdown": {"symbolDensity": _round4(density), "quantifierPrecision": 0, "conditionCompleteness": 0, "evidence": 0,
                      "tokens": c["tokens"], "symbols": c["symbols"], "blocks": len(c["blocks"]), "bindings": c["bindings"]},
        "suggestions": suggestions,
        "warnings": warnings,
    }
