"""Reads an ampbus stream straight from Redis with redis-py, using only
docs/storage.md: key <prefix>{<stream>}, text header fields, `msg` = the
message bytes. Prints one JSON line: [{"entryId", "fields", "message"}]."""

import json
import sys

import redis

import ampbus

url, stream = sys.argv[1], sys.argv[2]
r = redis.Redis.from_url(url, decode_responses=False)
out = []
for entry_id, fields in r.xrange(f"ampbus:{{{stream}}}".encode()):
    names = [k.decode() for k in fields]
    text = {k.decode(): v.decode() for k, v in fields.items() if k != b"msg"}
    out.append({"entryId": entry_id.decode(), "names": names, "fields": text,
                "message": ampbus.to_json(ampbus.decode_message(fields[b"msg"]))})
dedupe = [k.decode() for k in r.scan_iter(match=f"ampbus:{{{stream}}}:op:*".encode())]
print(json.dumps({"entries": out, "dedupeKeys": dedupe}))
