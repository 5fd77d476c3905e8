"""Where the AISP parser is in the token list (sdk/aisp/_parse_cursor.ts), and the moves
every rule of the grammar makes: look at the next token, take it, fail with what was
expected, enter one more level of nesting. The rules build on it: _parse_formula.py (the
operators), _parse_terms.py (terms, binders and brackets), _parser.py (statements and
error recovery)."""

from ._tokenizer import pos
from ._utf16 import slice_text, units

MAX_NESTING = 40
MAX_ERRORS = 50

PREFIX = {"-", "□", "◇", "⊢", "∑", "∏", "∫", "∂"}
QUANTIFIERS = {"∀", "∃", "∃!", "∄"}
CONSTANTS = {"⊤", "⊥", "∅", "ℕ", "ℤ", "ℚ", "ℝ", "ℂ", "𝔹", "𝕊", "𝒫", "∞", "∎", "◊⁺⁺", "◊⁺", "◊", "◊⁻", "⊘", "𝔸"}
CLOSERS = {"(": ")", "[": "]", "{": "}", "⟨": "⟩"}
_SEPARATORS = {";", ",", ".", "!", "?"}


class Failure(Exception):
    """A parse error on its way to the statement list that reports it and recovers; `fatal`: nesting too deep, the parse stops."""

    def __init__(self, error, fatal=False):
        super().__init__(error["message"])
        self.error = error
        self.fatal = fatal


def op(t):
    """The operator a token stands for: the table's symbol, or the punctuation itself (None for other tokens)."""
    if t is None:
        return None
    if t["kind"] == "symbol":
        return t["symbol"]
    if t["kind"] == "punct":
        return t["text"]
    return None


def is_separator(t):
    """A newline or punctuation that ends a statement."""
    return t is not None and (t["kind"] == "newline" or (t["kind"] == "punct" and t["text"] in _SEPARATORS))


def describe(t):
    """A token as an error message names it."""
    if t is None:
        return "the end"
    if t["kind"] == "newline":
        return "the end of the line"
    u = units(t["text"])
    return slice_text(u, 0, 24) + "…" if len(u) > 24 else t["text"]


def node(type_, start, end, **fields):
    """An AST node: its type first, then its fields, then its start and end (the SDK's key order)."""
    n = {"type": type_}
    n.update(fields)
    n["start"] = start
    n["end"] = end
    return n


class Cursor:
    """The tokens (comments left out), the next one's index `i`, the nesting depth and the errors so far."""

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
        raise Failure({"message": expected + ", found " + describe(t), "line": p["line"], "column": p["column"], "offset": p["offset"]})

    def fail_unclosed(self, closer, open_):
        self.fail("expected %s to close the %s at line %d, column %d" % (closer, open_["text"], open_["start"]["line"], open_["start"]["column"]))

    def end_pos(self):
        return self.t[-1]["end"] if self.t else pos(1, 1, 0)

    def last_end(self):
        return self.t[self.i - 1]["end"] if self.i > 0 else pos(1, 1, 0)

    def skip_newlines(self):
        while self.peek() is not None and self.peek()["kind"] == "newline":
            self.i += 1

    def enter(self):
        self.depth += 1
        if self.depth > MAX_NESTING:
            try:
                self.fail("expected at most %d levels of nesting" % MAX_NESTING)
            except Failure as e:
                raise Failure(e.error, True)

    def starts_operand(self, t):
        if t is None:
            return False
        k = t["kind"]
        if k in ("word", "number", "string", "block", "header"):
            return True
        if k == "symbol":
            s = t["symbol"]
            return s in QUANTIFIERS or s in CONSTANTS or s in PREFIX or s in ("λ", "¬", "⟨")
        if k == "punct":
            return t["text"] in ("(", "[", "{", "|", "-")
        return False
