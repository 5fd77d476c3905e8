"""What the AISP grader says about one statement (sdk/aisp/_grade_checks.ts): the warnings
(a parse error, ∧ and ∨ mixed without parentheses, a variable bound again inside its own
scope) and the quantifier precision with the suggestions that would raise it."""

from ._grade_counts import bound, nodes, words_in
from ._parser import where
from ._tokenizer import is_blank

LATIN_E = "⟦E⟧ is written with a Latin E; the evidence block is ⟦Ε⟧ (Greek capital epsilon, U+0395), so it does not count"


def statement_warnings(s, warnings):
    """Appends the statement's warnings: its first parse error (with how many more), then its ambiguities."""
    if s["errors"]:
        e = s["errors"][0]
        more = " (and %d more)" % (len(s["errors"]) - 1) if len(s["errors"]) > 1 else ""
        warnings.append("%s does not parse at %s: %s%s" % (s["label"], where(e), e["message"], more))
    _ambiguities(s, warnings)


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
    for n in nodes(s["ast"]):
        if not mixed and n["type"] == "Binary" and n["operator"] == "∨":
            for side in (n["left"], n["right"]):
                if side["type"] == "Binary" and side["operator"] == "∧" and not parenthesised(side):
                    mixed = True
            if mixed:
                warnings.append("%s mixes ∧ and ∨ without parentheses at line %d, column %d: ∧ binds tighter, so a ∧ b ∨ c reads (a ∧ b) ∨ c; add parentheses to say which is meant" % (s["label"], n["start"]["line"], n["start"]["column"]))
        variables = bound(n)
        if variables:
            inner = nodes(n["body"]) if "body" in n else []
            for v in variables:
                again = next((m for m in inner if any(w["name"] == v["name"] for w in bound(m))), None)
                if again is not None:
                    warnings.append("%s binds %s again at line %d, column %d, inside the scope of the %s bound at column %d: the inner %s hides the outer" % (
                        s["label"], v["name"], again["start"]["line"], again["start"]["column"], v["name"], v["start"]["column"], v["name"]))


def precision(s, suggestions):
    """The statement's quantifier precision (0 to 1), appending a suggestion for each point it misses."""
    if is_blank(s["text"]):
        return 0
    if s["errors"]:
        e = s["errors"][0]
        suggestions.append("fix %s so that it parses (%s: %s); until then it scores 0 for quantifier precision" % (s["label"], where(e), e["message"]))
        return 0
    qs = [n for n in nodes(s["ast"]) if n["type"] == "Quantifier"]
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
            used = words_in(q["body"])
            unused = [v["name"] for v in q["variables"] if v["name"] not in used]
            if not unused:
                p += 0.5
            else:
                suggestions.append("%s quantifies over %s but never uses %s" % (s["label"], ", ".join(unused), "it" if len(unused) == 1 else "them"))
        total += p
    return total / len(qs)
