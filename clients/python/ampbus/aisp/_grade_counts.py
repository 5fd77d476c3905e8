"""What the AISP grader counts in a statement and reads of its AST (sdk/aisp/_grade_counts.ts):
terms, symbols, bindings and blocks from the tokens, the AST's nodes in source order, and
the two densities the counts give (the breakdown's symbol density and the reference
validator's δ). docs/grading.md has the formulas."""

import math

from ._grade_scale import BINDING_SYMBOLS, REQUIRED_BLOCKS, SYMBOL_DENSITY_SATURATION
from ._parser import parse
from ._tokenizer import tokenize
from ._utf16 import inner, units

BINDINGS_FOR_FULL = 20
"""Bindings that make the reference validator's binding score 1."""


def _js_round(x):
    r = math.floor(x)
    return r + 1 if x - r >= 0.5 else r


def round4(x):
    """Rounds to the 4 decimals a grade's numbers have, as JavaScript's Math.round does (halves up)."""
    return _js_round(x * 10000) / 10000


def statement(label, text):
    """A statement of a spec (or a whole document), tokenized and parsed."""
    tokens = tokenize(text)
    r = parse(tokens)
    return {"label": label, "text": text, "units": units(text), "tokens": tokens, "ast": r["ast"], "errors": r.get("errors", [])}


def new_counts():
    return {"tokens": 0, "symbols": 0, "bindings": 0, "blocks": set(), "latinE": False}


def count(tokens, c):
    """Adds the tokens' terms, symbols, bindings and blocks to the counts `c`; a run of tokens with no space between is one term."""
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
                letter = inner(t["text"]).split(":")[0]
                if letter in REQUIRED_BLOCKS:
                    c["blocks"].add(letter)
                elif letter == "E":
                    c["latinE"] = True
            continue
        if t["start"]["offset"] != run_end:
            c["tokens"] += 1
        run_end = t["end"]["offset"]


def symbol_density(c):
    return 0 if c["tokens"] == 0 else min(1, c["symbols"] / c["tokens"] / SYMBOL_DENSITY_SATURATION)


def semantic_density(c):
    return round4(0.4 * (len(c["blocks"]) / len(REQUIRED_BLOCKS)) + 0.6 * min(1, c["bindings"] / BINDINGS_FOR_FULL))


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


def nodes(root):
    """The nodes of the tree under `root`, `root` first, in source order (no recursion: a deep tree is fine)."""
    out = []
    stack = [root]
    while stack:
        n = stack.pop()
        out.append(n)
        ch = _children(n)
        for i in range(len(ch) - 1, -1, -1):
            stack.append(ch[i])
    return out


def words_in(n):
    """The names of the words under `n` (an empty set for None)."""
    if n is None:
        return set()
    return {x["name"] for x in nodes(n) if x["type"] == "Word"}


def bound(n):
    """The variables a Quantifier or a Lambda binds (Word nodes); none for other nodes."""
    if n["type"] == "Quantifier":
        return n["variables"]
    if n["type"] == "Lambda":
        return n["params"]
    return []
