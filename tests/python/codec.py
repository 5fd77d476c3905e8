"""Reads {"hex": [...]} on stdin (messages the TypeScript SDK encoded); prints, for
each, the message decoded to its JSON form and re-encoded by the Python client."""

import json
import sys

import ampbus

out = []
for h in json.load(sys.stdin)["hex"]:
    msg = ampbus.decode_message(bytes.fromhex(h))
    out.append({"issues": ampbus.validate_message(msg), "json": ampbus.to_json(msg),
                "hex": ampbus.encode_message(msg).hex(),
                "fromJson": ampbus.encode_message(ampbus.from_json(json.loads(json.dumps(ampbus.to_json(msg))))).hex()})
print(json.dumps(out))
