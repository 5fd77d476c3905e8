"""Reads {"hex": [...], "refused": [...]} on stdin: messages the TypeScript SDK encoded,
and bytes every decoder must refuse. Prints {"decoded": [...], "refused": [...]}: for
each message, its JSON form and its re-encoding by the Python client; for each refused
input, the code and offset of the DecodeError (or what decoded instead)."""

import json
import sys

import ampbus

request = json.load(sys.stdin)
decoded = []
for h in request["hex"]:
    msg = ampbus.decode_message(bytes.fromhex(h))
    decoded.append({"issues": ampbus.validate_message(msg), "json": ampbus.to_json(msg),
                    "hex": ampbus.encode_message(msg).hex(),
                    "fromJson": ampbus.encode_message(ampbus.from_json(json.loads(json.dumps(ampbus.to_json(msg))))).hex()})
refused = []
for h in request.get("refused", []):
    try:
        ampbus.decode_message(bytes.fromhex(h))
        refused.append({"decoded": True})
    except ampbus.DecodeError as e:
        refused.append({"code": e.code, "offset": getattr(e, "offset", None), "message": str(e)})
print(json.dumps({"decoded": decoded, "refused": refused}))
