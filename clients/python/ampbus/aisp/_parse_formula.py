"""The operators of the AISP grammar (sdk/aisp/_parse_formula.ts), loosest first: `:`
labels, definitions (≜ ≔), arrows (⇒ → ⊢ …, right-associative), ∨, ∧, ¬, comparisons and
memberships, set operators, sums, products, prefix operators, phrases (terms side by
side) and postfix calls, indexes and members. The terms are _parse_terms.py's."""

from ._parse_cursor import CLOSERS, PREFIX, Cursor, node, op

_ARROW = {"⇒", "⇔", "→", "↔", "←", "↦", "⊢", "⊨"}
_DEFINE = {"≜", "≔"}
_OR = {"∨", "⊕"}
_AND = {"∧"}
_COMPARE = {"=", "≠", "<", ">", "≤", "≥", "≡", "≢", "≈", "∈", "∉", "⊆", "⊂", "⊇", "⊃", "≺", "≻", "≅"}
_SETOP = {"∪", "∩", "∖", "×", "∘", "|"}
_SUM = {"+", "-"}
_PRODUCT = {"*", "/", "^", "÷", "·"}


class Formula(Cursor):
    """The operator rules; primary() and list_() come from Terms (the parser is both)."""

    def statement(self):
        left = self.label()
        while op(self.peek()) == ":":
            self.i += 1
            self.skip_newlines()
            right = self.label()
            left = node("Binary", left["start"], right["end"], operator=":", left=left, right=right)
        return left

    def label(self):
        left = self.arrow()
        o, value = self.right_side(_DEFINE, self.statement, "expected a definition after ")
        return left if o is None else node("Definition", left["start"], value["end"], operator=o, target=left, value=value)

    def arrow(self):
        left = self.or_()
        o, right = self.right_side(_ARROW, self.arrow, "expected an expression after ")
        return left if o is None else node("Binary", left["start"], right["end"], operator=o, left=left, right=right)

    def right_side(self, ops, rule, expected):
        """(operator, right side by `rule`) when the next token is one of `ops`, one level deeper; else (None, None)."""
        o = op(self.peek())
        if o is None or o not in ops:
            return None, None
        self.i += 1
        self.skip_newlines()
        self.enter()
        right = self.operand(rule, expected + o)
        self.depth -= 1
        return o, right

    def binary_loop(self, ops, nxt):
        left = nxt()
        o = op(self.peek())
        while o is not None and o in ops:
            self.i += 1
            self.skip_newlines()
            right = self.operand(nxt, "expected an expression after " + o)
            left = node("Binary", left["start"], right["end"], operator=o, left=left, right=right)
            o = op(self.peek())
        return left

    def or_(self):
        return self.binary_loop(_OR, self.and_)

    def and_(self):
        return self.binary_loop(_AND, self.not_)

    def not_(self):
        t = self.peek()
        if op(t) != "¬":
            return self.compare()
        self.i += 1
        self.enter()
        operand = self.operand(self.not_, "expected an expression after ¬")
        self.depth -= 1
        return node("Unary", t["start"], operand["end"], operator="¬", operand=operand)

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

    def prefix(self):
        t = self.peek()
        o = op(t)
        if o is not None and o in PREFIX and (t["kind"] == "symbol" or o == "-"):
            self.i += 1
            if not self.starts_operand(self.peek()) and o not in ("-", "□", "◇", "⊢"):
                return node("Constant", t["start"], t["end"], symbol=o)
            self.enter()
            operand = self.operand(self.prefix, "expected an expression after " + o)
            self.depth -= 1
            return node("Unary", t["start"], operand["end"], operator=o, operand=operand)
        return self.phrase()

    def phrase(self):
        first = self.postfix()
        if not self.continues_phrase(self.peek()):
            return first
        parts = [first]
        while self.continues_phrase(self.peek()):
            parts.append(self.postfix())
        return node("Phrase", first["start"], parts[-1]["end"], parts=parts)

    def continues_phrase(self, t):
        if not self.starts_operand(t):
            return False
        o = op(t)
        return not (o == "-" or o == "|" or (t["kind"] == "symbol" and o in PREFIX))

    def postfix(self):
        n = self.primary()
        t = self.peek()
        while t is not None and t["start"]["offset"] == n["end"]["offset"]:
            o = op(t)
            nxt = self.peek_at(self.i + 1)
            if o in ("(", "[", "⟨"):
                self.i += 1
                args = self.list_(CLOSERS[o], t)
                n = node("Index" if o == "[" else "Apply", n["start"], self.last_end(), callee=n, args=args)
            elif o == "." and nxt is not None and nxt["kind"] == "word" and nxt["start"]["offset"] == t["end"]["offset"]:
                self.i += 2
                n = node("Member", n["start"], nxt["end"], object=n, property=nxt["text"])
            else:
                break
            t = self.peek()
        return n
