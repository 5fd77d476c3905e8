"""For tests/python/aisp.test.ts: sends one task per spec of the AISP golden vectors to
ampd, each with the tier Python's grader gives it (new_message grades a spec given
without a tier), then one claiming a tier above its grade; prints one JSON line of
what ampd answered."""

import json
import math
import sys

import ampbus

TIERS = ("platinum", "gold", "silver", "bronze", "reject")

with open(sys.argv[2], encoding="utf-8") as f:
    vectors = json.load(f)

bus = ampbus.connect(sys.argv[1], client="py-grader")
sent = []
refused = []
for v in vectors["grades"]:
    spec = dict(v["spec"])
    if spec["task"] == "" or any(0xD800 <= ord(c) <= 0xDFFF for c in json.dumps(spec, ensure_ascii=False)):
        continue  # not a valid message: the schema's business, not the grader's
    if "evidence" in spec:
        ev = dict(spec["evidence"], prover="py")
        if ev.get("confidence") == "NaN" or not (0 <= ev["confidence"] <= 1) or ev["method"] not in ampbus.message.METHODS:
            continue
        spec["evidence"] = ev
    msg = ampbus.new_message("task", "py-grader", "coder", spec=spec)
    try:
        bus.send(msg)
        sent.append([v["name"], msg["tier"]])
    except ampbus.ServerError as e:
        refused.append([v["name"], msg["tier"], e.code, e.server_message])

# A claim above the grade is refused: the check is live.
lie = None
spec = {"preconditions": ["the code compiles"], "task": "run all the tests", "postconditions": ["all tests pass"]}
graded = ampbus.aisp.grade(spec)["tier"]
try:
    bus.send(ampbus.new_message("task", "py-grader", "coder", spec=spec, tier="platinum"))
except ampbus.ServerError as e:
    lie = [graded, e.code, e.details.get("graded")]
print(json.dumps({"sent": sent, "refused": refused, "lie": lie}))
bus.close()
