"""A spec's statements as ampd reads them (sdk/aisp/spec_syntax.ts): preconditions, the
task, postconditions, in that order, parsed up to MAX_GRADED UTF-16 units in all; and
their parse errors as ampd's --spec-syntax reports them."""

from ._parser import parse_string, where
from ._tokenizer import is_blank
from ._utf16 import units

MAX_GRADED = 65536


def spec_statements(spec, *, read_first=False):
    """(key, index, text, fits) for each statement: key "preconditions", "task" (index None) or
    "postconditions"; `fits` None for a blank statement (nothing to parse), False for one past
    what is left of the MAX_GRADED units (it is not parsed), else True (it uses them up).
    `read_first` reads every statement (spec["task"] included) before yielding any, as grade()
    always has: a malformed spec then fails on the same key it did before."""
    left = MAX_GRADED
    statements = list(_in_order(spec)) if read_first else _in_order(spec)
    for key, i, text in statements:
        fits = None
        if not is_blank(text):
            n = len(units(text))
            fits = n <= left
            if fits:
                left -= n
        yield key, i, text, fits


def _in_order(spec):
    for i, s in enumerate(spec.get("preconditions", [])):
        yield "preconditions", i, s
    yield "task", None, spec["task"]
    for i, s in enumerate(spec.get("postconditions", [])):
        yield "postconditions", i, s


def spec_syntax_issues(spec):
    """The parse errors of a spec's statements as (path, message) pairs, as ampd's --spec-syntax reports them."""
    out = []
    for key, i, text, fits in spec_statements(spec):
        if fits is None:
            continue
        path = ["spec", key] if i is None else ["spec", key, i]
        shown = "spec." + key if i is None else "spec.%s[%d]" % (key, i)
        if not fits:
            out.append((path, "%s is not checked: a spec's statements are parsed up to %d characters in all" % (shown, MAX_GRADED)))
            continue
        for e in parse_string(text).get("errors", []):
            out.append((path, "%s does not parse at %s: %s" % (shown, where(e), e["message"])))
    return out
