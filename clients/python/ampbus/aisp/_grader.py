"""The AISP grader (sdk/aisp/grader.ts): grade() scores a task spec on symbol density,
quantifier precision, condition completeness and evidence; grade_document() scores a whole
AISP document as the AISP 5.1 reference validator does (score = δ). Both return the SDK's
Grade: {tier, score, semanticDensity, breakdown, suggestions, warnings}."""

from ._grade_checks import LATIN_E, precision, statement_warnings
from ._grade_counts import BINDINGS_FOR_FULL, count, new_counts, nodes, round4, semantic_density, statement, symbol_density
from ._grade_scale import GRADE_WEIGHTS, METHOD_WEIGHTS, REQUIRED_BLOCKS, tier_of
from ._spec_syntax import MAX_GRADED, spec_statements
from ._tokenizer import is_blank


def _num(x):
    """A number as JavaScript writes it in a template string."""
    if x == int(x):
        return str(int(x))
    return repr(x)


def _label(key, i):
    return "the task" if i is None else "%s %d" % (key[:-1], i + 1)


def _evidence(ev):
    conf = ev.get("confidence")
    confidence = min(1, conf) if isinstance(conf, (int, float)) and not isinstance(conf, bool) and conf >= 0 else 0
    weight = METHOD_WEIGHTS.get(ev.get("method"), 0) if isinstance(ev.get("method"), str) else 0
    return confidence * weight


def _result(c, scores, *, score, semantic, suggestions, warnings):
    """The Grade of counts `c`; `scores`: the breakdown's four components, rounded."""
    return {
        "tier": tier_of(score),
        "score": score,
        "semanticDensity": semantic,
        "breakdown": {**scores, "tokens": c["tokens"], "symbols": c["symbols"], "blocks": len(c["blocks"]), "bindings": c["bindings"]},
        "suggestions": suggestions,
        "warnings": warnings,
    }


def grade(spec):
    """Grades a task spec (a dict with preconditions, task, postconditions, evidence?) as the SDK's grade() does:
    {tier, score, semanticDensity, breakdown, suggestions, warnings}."""
    suggestions = []
    warnings = []
    c = new_counts()
    conditions = 0
    precision_sum = 0
    defines_task = 0
    # One statement at a time, at most MAX_GRADED UTF-16 units parsed in all (as the SDK).
    for key, i, text, fits in spec_statements(spec, read_first=True):
        condition = i is not None
        if condition:
            conditions += 1
        if fits is None:
            continue
        label = _label(key, i)
        if not fits:
            warnings.append("%s is not parsed: a spec's statements are parsed up to %d characters in all" % (label, MAX_GRADED))
            if condition:
                suggestions.append("shorten %s: it is past the %d characters the grader parses, so it scores 0 for quantifier precision" % (label, MAX_GRADED))
            continue
        s = statement(label, text)
        count(s["tokens"], c)
        statement_warnings(s, warnings)
        if condition:
            precision_sum += precision(s, suggestions)
        else:
            defines_task = 1 if any(n["type"] == "Definition" for n in nodes(s["ast"])) else 0
    if c["latinE"]:
        warnings.append(LATIN_E)
    density = symbol_density(c)
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
    evidence = 0 if ev is None else _evidence(ev)
    if ev is None:
        suggestions.append("attach evidence that the postconditions hold (setEvidence): a formal verification at confidence 1 adds 0.2")
    if density < 1 and c["tokens"] > 0:
        suggestions.append("write more of the spec in AISP symbols (∀ ∈ ⇒ ≜ λ): %d of %d terms are symbols; at half, symbol density would add %s" % (
            c["symbols"], c["tokens"], _num(round4(GRADE_WEIGHTS["symbolDensity"] * (1 - density)))))

    semantic = semantic_density(c)
    score = round4(
        GRADE_WEIGHTS["symbolDensity"] * density
        + GRADE_WEIGHTS["quantifierPrecision"] * quantifier_precision
        + GRADE_WEIGHTS["conditionCompleteness"] * completeness
        + GRADE_WEIGHTS["evidence"] * evidence
    )
    if c["blocks"] and semantic > score:
        score = semantic
    scores = {"symbolDensity": round4(density), "quantifierPrecision": round4(quantifier_precision),
              "conditionCompleteness": round4(completeness), "evidence": round4(evidence)}
    return _result(c, scores, score=score, semantic=semantic, suggestions=suggestions, warnings=warnings)


def grade_document(text):
    """Grades a whole AISP document as the AISP 5.1 reference validator does (score = δ), as gradeDocument()."""
    s = statement("the document", text)
    c = new_counts()
    count(s["tokens"], c)
    warnings = []
    suggestions = []
    statement_warnings(s, warnings)
    if c["latinE"]:
        warnings.append(LATIN_E)
    missing = [b for b in REQUIRED_BLOCKS if b not in c["blocks"]]
    if missing:
        suggestions.append("add the blocks %s (+%s)" % (" ".join("⟦%s⟧" % b for b in missing), _num(round4(0.4 * len(missing) / 5))))
    if c["bindings"] < BINDINGS_FOR_FULL:
        suggestions.append("use %d more bindings (≜ ≔ ∀ ∃ λ ⇒ ∈ …) (+%s)" % (BINDINGS_FOR_FULL - c["bindings"], _num(round4(0.6 * (1 - c["bindings"] / BINDINGS_FOR_FULL)))))
    semantic = semantic_density(c)
    scores = {"symbolDensity": round4(symbol_density(c)), "quantifierPrecision": 0, "conditionCompleteness": 0, "evidence": 0}
    return _result(c, scores, score=semantic, semantic=semantic, suggestions=suggestions, warnings=warnings)
