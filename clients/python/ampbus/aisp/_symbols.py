"""The AISP symbol table (sdk/aisp/symbols.ts): each symbol with its name, category, code
points and ASCII spelling, and the longest-match lookup the tokenizer makes in it."""

from ._utf16 import units

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

# Keys as UTF-16 unit tuples, so that lookups match the SDK's slices exactly.
_BY_UNITS = {}
for _s in SYMBOL_TABLE:
    _BY_UNITS[tuple(units(_s["symbol"]))] = _s
    if "ascii" in _s:
        _BY_UNITS[tuple(units(_s["ascii"]))] = _s
_LONGEST = max(len(k) for k in _BY_UNITS)
SYMBOL_START = frozenset(k[0] for k in _BY_UNITS)
"""The code units a symbol or an ASCII spelling can start with."""


def symbol_info(text):
    """The table's entry for a symbol, given as itself or by its ASCII spelling, or None."""
    return _BY_UNITS.get(tuple(units(text)))


def symbol_at(u, i):
    """(length in units, entry) of the longest symbol or ASCII spelling that starts at unit i, or None."""
    if u[i] not in SYMBOL_START:
        return None
    for n in range(min(_LONGEST, len(u) - i), 0, -1):
        s = _BY_UNITS.get(tuple(u[i:i + n]))
        if s is not None:
            return n, s
    return None
