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

The public names are this list; the modules behind them are private: _symbols (the
table), _tokenizer, _parser (over _parse_cursor, _parse_formula, _parse_terms),
_spec_syntax, _grader (over _grade_scale, _grade_counts, _grade_checks), _utf16.
"""

from ._grade_scale import (BINDING_SYMBOLS, GRADE_WEIGHTS, METHOD_WEIGHTS, REQUIRED_BLOCKS, SYMBOL_DENSITY_SATURATION,
                           TIER_SYMBOLS, TIER_THRESHOLDS, tier_of)
from ._grader import grade, grade_document
from ._parse_cursor import MAX_ERRORS, MAX_NESTING
from ._parser import parse, parse_string
from ._spec_syntax import MAX_GRADED, spec_syntax_issues
from ._symbols import SYMBOL_CATEGORIES, SYMBOL_TABLE, symbol_info
from ._tokenizer import MAX_BLOCK_NAME, is_blank, is_space, tokenize

__all__ = [
    "BINDING_SYMBOLS", "GRADE_WEIGHTS", "MAX_BLOCK_NAME", "MAX_ERRORS", "MAX_GRADED", "MAX_NESTING", "METHOD_WEIGHTS",
    "REQUIRED_BLOCKS", "SYMBOL_CATEGORIES", "SYMBOL_DENSITY_SATURATION", "SYMBOL_TABLE", "TIER_SYMBOLS", "TIER_THRESHOLDS",
    "grade", "grade_document", "is_blank", "is_space", "parse", "parse_string", "spec_syntax_issues", "symbol_info",
    "tier_of", "tokenize",
]
