"""For tests/python/aisp.test.ts: reads a JSON list of specs on stdin and prints, one JSON
document, each spec's grade and each statement's tokens and errors by ampbus.aisp."""

import json
import sys

from ampbus import aisp

specs = json.loads(sys.stdin.read())
out = []
for spec in specs:
    statements = spec["preconditions"] + [spec["task"]] + spec["postconditions"]
    parsed = []
    for s in statements:
        tokens = aisp.tokenize(s)
        r = aisp.parse(tokens)
        parsed.append([[[t["kind"], t["text"], t["start"]["offset"], t["end"]["offset"]] for t in tokens],
                       [[e["message"], e["line"], e["column"]] for e in r.get("errors", [])]])
    out.append({"grade": aisp.grade(spec), "parsed": parsed})
print(json.dumps(out, ensure_ascii=False))
