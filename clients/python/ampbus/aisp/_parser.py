"""The AISP parser (sdk/aisp/parser.ts): statements and the error recovery between them,
over the rules of _parse_formula.py and _parse_terms.py. parse() returns the SDK's
ParseResult: {"success", "ast", "errors"?}, AST nodes as dicts with the SDK's field names."""

import sys

from ._parse_cursor import CLOSERS, MAX_ERRORS, Failure, is_separator, node, op
from ._parse_formula import Formula
from ._parse_terms import Terms
from ._tokenizer import pos, tokenize


class _Parser(Formula, Terms):
    def statements(self, closer):
        out = []
        while True:
            while is_separator(self.peek()):
                self.i += 1
            t = self.peek()
            if t is None or (closer is not None and op(t) == closer):
                return out
            mark = self.depth
            start = self.i
            try:
                out.append(self.statement())
                after = self.peek()
                if after is not None and not is_separator(after) and not (closer is not None and op(after) == closer):
                    self.fail("expected an operator or the end of the statement" if closer is None else "expected an operator, a separator or " + closer)
            except Failure as e:
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
            o = op(t)
            if open_ == 0 and (is_separator(t) or (closer is not None and o == closer)):
                return
            if o is not None and o in CLOSERS:
                open_ += 1
            elif o in (")", "]", "}", "⟩"):
                if open_ == 0:
                    if closer is not None:
                        return
                else:
                    open_ -= 1
            self.i += 1
            t = self.peek()


def parse(tokens):
    """Parses tokens from tokenize(): {"success", "ast", "errors"?} as the SDK's ParseResult."""
    # The parser recurses up to MAX_NESTING levels of about 25 frames each.
    limit = sys.getrecursionlimit()
    if limit < 5000:
        sys.setrecursionlimit(5000)
    try:
        p = _Parser(tokens)
        body = p.statements(None)
    finally:
        if limit < 5000:
            sys.setrecursionlimit(limit)
    first = next((t for t in tokens if t["kind"] not in ("newline", "comment")), None)
    zero = pos(1, 1, 0)
    ast = node("Document", first["start"] if first else zero, tokens[-1]["end"] if tokens else zero, body=body)
    if not p.errors:
        return {"success": True, "ast": ast}
    return {"success": False, "ast": ast, "errors": p.errors}


def parse_string(text):
    """parse(tokenize(text))."""
    return parse(tokenize(text))


def where(e):
    """A parse error's position as messages name it: "line 1, column 3"."""
    return "line %d, column %d" % (e["line"], e["column"])
