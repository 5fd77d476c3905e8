"""The AISP tokenizer, parser and grader against the golden vectors of the TypeScript SDK
(tests/vectors/aisp/vectors.json): the same tokens, errors and grades, so that a tier a
Python agent claims for its spec is the tier ampd grades it."""

import json
import math
import os
import unittest

from ampbus import aisp

VECTORS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests", "vectors", "aisp", "vectors.json")

with open(VECTORS, encoding="utf-8") as f:
    V = json.load(f)


def token_row(t):
    return [t["kind"], t["text"], t["start"]["line"], t["start"]["column"], t["start"]["offset"],
            t["end"]["line"], t["end"]["column"], t["end"]["offset"], t.get("symbol")]


class SymbolTable(unittest.TestCase):
    def test_same_table(self):
        self.assertEqual([[s["symbol"], s["category"], s.get("ascii")] for s in aisp.SYMBOL_TABLE], V["symbols"])

    def test_lookup(self):
        self.assertEqual(aisp.symbol_info("=>")["symbol"], "⇒")
        self.assertEqual(aisp.symbol_info("≜")["codePoints"], ["U+225C"])
        self.assertIsNone(aisp.symbol_info("x"))


class Tokens(unittest.TestCase):
    def test_vectors(self):
        self.assertGreater(len(V["parse"]), 300)
        for v in V["parse"]:
            with self.subTest(v["input"]):
                tokens = aisp.tokenize(v["input"])
                self.assertEqual([token_row(t) for t in tokens], v["tokens"])
                r = aisp.parse(tokens)
                self.assertEqual([[e["message"], e["line"], e["column"], e["offset"]] for e in r.get("errors", [])], v["errors"])
                self.assertEqual(r["success"], not v["errors"])


class ParserPlanExamples(unittest.TestCase):
    def test_the_three_cases(self):
        ok = aisp.parse_string("∀f ∈ Files: hasError(f) ⇒ collect(f)")
        self.assertTrue(ok["success"])
        q = ok["ast"]["body"][0]
        self.assertEqual((q["type"], q["relation"], q["domain"]["name"], q["body"]["operator"]), ("Quantifier", "∈", "Files", "⇒"))
        block = aisp.parse_string("⟦TASK⟧{\n  fix ≜ λf.patch(f)\n  ∀f ∈ Failing: fix(f) ⇒ passes(f)\n  post: ∀t ∈ Tests: passed(t) = ⊤\n}")
        self.assertTrue(block["success"])
        self.assertEqual([n["type"] for n in block["ast"]["body"][0]["body"]], ["Definition", "Quantifier", "Binary"])
        bad = aisp.parse_string("∀ ∈ Files")
        self.assertFalse(bad["success"])
        self.assertEqual(bad["errors"][0], {"message": "expected a bound variable after ∀, found ∈", "line": 1, "column": 3, "offset": 2})

    def test_deep_nesting_is_an_error_not_a_recursion_error(self):
        r = aisp.parse_string("(" * 5000 + "x" + ")" * 5000)
        self.assertEqual(r["errors"][0]["message"], "expected at most 40 levels of nesting, found (")

    def test_spec_syntax_issues(self):
        issues = aisp.spec_syntax_issues({"preconditions": ["ok(x)", "∀ ∈ Files"], "task": "t ≜ 1", "postconditions": []})
        self.assertEqual(issues, [(["spec", "preconditions", 1], "spec.preconditions[1] does not parse at line 1, column 3: expected a bound variable after ∀, found ∈")])


class Grades(unittest.TestCase):
    def test_spec_vectors(self):
        self.assertGreater(len(V["grades"]), 100)
        for v in V["grades"]:
            with self.subTest(v["name"]):
                spec = dict(v["spec"])
                if "evidence" in spec and spec["evidence"].get("confidence") == "NaN":
                    spec["evidence"] = dict(spec["evidence"], confidence=math.nan)
                self.assertEqual(aisp.grade(spec), v["grade"])

    def test_document_vectors(self):
        for d in V["documents"]:
            with self.subTest(d["name"]):
                self.assertEqual(aisp.grade_document(d["text"]), d["grade"])

    def test_statements_past_max_graded_are_not_parsed(self):
        long = "∀x ∈ S: p(x); " * 3000
        g = aisp.grade({"preconditions": [long, long, "∀y ∈ T: q(y)"], "task": "t ≜ 1", "postconditions": []})
        self.assertEqual(g["warnings"], ["precondition 2 is not parsed: a spec's statements are parsed up to 65536 characters in all"])
        self.assertEqual((g["breakdown"]["quantifierPrecision"], g["breakdown"]["tokens"]), (0.6667, 3000 * 5 + 5 + 3))

    def test_seed_is_platinum(self):
        g = aisp.grade({"preconditions": ["∀f ∈ CodeFiles: compiled(f) = ⊤"], "task": "validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8",
                        "postconditions": ["∀t ∈ Tests: passed(t) = ⊤"], "evidence": {"prover": "jest", "method": "test-execution", "confidence": 0.95}})
        self.assertEqual((g["tier"], g["score"]), ("platinum", 0.9342))


if __name__ == "__main__":
    unittest.main()
