"""The terms of the AISP grammar (sdk/aisp/_parse_terms.ts): words, numbers, strings,
headers, constants, the binders (quantifiers and λ), blocks ⟦Name⟧{…}, and the bracketed
forms (…) […] {…} ⟨…⟩ |…|. The operators are _parse_formula.py's."""

from ._parse_cursor import CLOSERS, CONSTANTS, QUANTIFIERS, Cursor, describe, node, op
from ._utf16 import inner, units


def _terminated(text):
    u = units(text)
    i = 1
    while i < len(u):
        if u[i] == 0x22:
            return i == len(u) - 1
        i += 2 if u[i] == 0x5C else 1
    return False


def _word(t):
    return node("Word", t["start"], t["end"], name=t["text"])


class Terms(Cursor):
    """The term rules; statement(), arrow(), setop(), sum_(), not_() and operand() come from Formula (the parser is both)."""

    def list_(self, closer, open_):
        self.enter()
        items = []
        while True:
            self.skip_newlines()
            if op(self.peek()) == closer:
                break
            items.append(self.statement())
            self.skip_newlines()
            o = op(self.peek())
            if o in (",", ";"):
                self.i += 1
                continue
            if o == closer:
                break
            if self.peek() is None:
                self.fail_unclosed(closer, open_)
            self.fail("expected , or " + closer)
        self.i += 1
        self.depth -= 1
        return items

    def group(self, closer, open_):
        self.enter()
        body = self.statements(closer)
        if op(self.peek()) != closer:
            self.fail_unclosed(closer, open_)
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
            return _word(t)
        if k == "number":
            self.i += 1
            return node("Number", t["start"], t["end"], value=t["text"])
        if k == "string":
            if not _terminated(t["text"]):
                self.fail('expected a closing " before the end of the line', t)
            self.i += 1
            return node("String", t["start"], t["end"], value=inner(t["text"]))
        if k == "header":
            self.i += 1
            return node("Header", t["start"], t["end"], text=t["text"])
        if k == "block":
            return self.block(t)
        if k == "symbol":
            s = t["symbol"]
            if s in QUANTIFIERS:
                return self.quantifier(t)
            if s == "¬":
                return self.not_()
            if s == "λ":
                return self.lambda_(t)
            if s == "⟨":
                self.i += 1
                items = self.group("⟩", t)
                return node("Tuple", t["start"], self.last_end(), items=items)
            if s == "⟦":
                self.fail("expected a block name and ⟧ within 64 characters after ⟦", t)
            if s in CONSTANTS:
                self.i += 1
                return node("Constant", t["start"], t["end"], symbol=s)
        elif k == "punct":
            o = t["text"]
            if o in ("(", "["):
                self.i += 1
                items = self.list_(CLOSERS[o], t)
                end = self.last_end()
                if o == "(" and len(items) == 1:
                    return items[0]
                return node("Tuple" if o == "(" else "List", t["start"], end, items=items)
            if o == "{":
                self.i += 1
                items = self.group("}", t)
                return node("Set", t["start"], self.last_end(), items=items)
            if o == "|":
                self.i += 1
                self.enter()
                operand = self.operand(self.sum_, "expected an expression after |")
                if op(self.peek()) != "|":
                    self.fail("expected | to close |…|")
                self.i += 1
                self.depth -= 1
                return node("Abs", t["start"], self.last_end(), operand=operand)
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
            out.append(_word(t))
            nxt = self.peek_at(self.i + 1)
            if op(self.peek()) != "," or nxt is None or nxt["kind"] != "word":
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
        o = op(self.peek())
        if o in ("∈", "⊆"):
            self.i += 1
            relation = o
            domain = self.operand(self.setop, "expected a domain after " + o)
        elif o == ":":
            self.i += 1
            first = self.operand(self.arrow, "expected a type or a condition after %s%s:" % (describe(q), names))
            if op(self.peek()) == ":":
                relation = ":"
                domain = first
            else:
                body = first
        if body is None:
            sep = op(self.peek())
            if sep in (":", ".", ","):
                self.i += 1
                self.skip_newlines()
            if sep not in (":", ".", ",") and domain is not None and not self.starts_operand(self.peek()):
                body = None
            else:
                body = self.operand(self.statement, "expected a condition after %s%s%s" % (q["text"], names, "" if domain is None else " %s …" % relation))
        self.depth -= 1
        if relation is None:
            return node("Quantifier", q["start"], body["end"], quantifier=q["symbol"], variables=variables, body=body)
        if body is None:
            return node("Quantifier", q["start"], domain["end"], quantifier=q["symbol"], variables=variables, relation=relation, domain=domain)
        return node("Quantifier", q["start"], body["end"], quantifier=q["symbol"], variables=variables, relation=relation, domain=domain, body=body)

    def lambda_(self, lam):
        self.i += 1
        self.enter()
        t = self.peek()
        if op(t) == "(":
            self.i += 1
            params = [] if op(self.peek()) == ")" else self.words("parameter", t)
            if op(self.peek()) != ")":
                self.fail("expected , or ) after the parameters of λ")
            self.i += 1
        else:
            params = self.words("parameter", lam)
        if op(self.peek()) != ".":
            self.fail("expected . after the parameters of λ")
        self.i += 1
        body = self.operand(self.statement, "expected a body after λ….")
        self.depth -= 1
        return node("Lambda", lam["start"], body["end"], params=params, body=body)

    def block(self, t):
        self.i += 1
        name = inner(t["text"])
        body = []
        end = t["end"]
        k = self.i
        while self.peek_at(k) is not None and self.peek_at(k)["kind"] == "newline":
            k += 1
        o = op(self.peek_at(k))
        if o in ("{", "⟨"):
            self.i = k + 1
            body = self.group("}" if o == "{" else "⟩", self.t[k])
            end = self.last_end()
        return node("Block", t["start"], end, name=name, body=body)
