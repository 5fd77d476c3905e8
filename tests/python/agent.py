"""A Python agent for tests/python/python.test.ts: answers one task sent to
py-coder with a result carrying evidence, then asks ts-reviewer to review it
in the same conversation and prints what came back as one JSON line."""

import json
import sys

import ampbus

bus = ampbus.connect(sys.argv[1], client="py-coder")
for d in bus.listen("py-coder", broadcast=False, block=500):
    task = d.message
    bus.reply(task, "result", payload={"done": task["payload"]["file"], "by": "python"},
              # This spec grades platinum; claiming gold (lower) is allowed, higher never is.
              spec={"preconditions": ["∃f ∈ Files: exists(f) = ⊤"], "task": "fix ≜ λf.repair(f)",
                    "postconditions": ["∀t ∈ Tests: passed(t) = ⊤"],
                    "evidence": {"prover": "pytest", "method": "test-execution", "confidence": 0.9}},
              tier="gold")
    d.ack()
    break
ask = ampbus.new_message("review", "py-coder", "ts-reviewer", payload={"file": task["payload"]["file"]},
                         conversationId=task["conversationId"])
answer = bus.request(ask, timeout=15)
print(json.dumps({"task": ampbus.to_json(task), "ask": ampbus.to_json(ask), "answer": ampbus.to_json(answer)}))
bus.close()
