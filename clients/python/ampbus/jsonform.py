"""The JSON form of messages (as in tests/vectors/*.json and `ampd pub`/`ampd tail --json`):
`compressed.data` and `sig.value` are plain base64 strings, and bytes inside `payload`
are `{"$bin": "<base64>"}`.

    >>> from_json({"payload": {"b": {"$bin": "AAE="}}})
    {'payload': {'b': b'\\x00\\x01'}}
"""

import base64


def _payload_from(v):
    if isinstance(v, list):
        return [_payload_from(x) for x in v]
    if isinstance(v, dict):
        if len(v) == 1 and isinstance(v.get("$bin"), str):
            return base64.b64decode(v["$bin"], validate=True)
        return {k: _payload_from(x) for k, x in v.items()}
    return v


def _payload_to(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$bin": base64.b64encode(v).decode("ascii")}
    if isinstance(v, (list, tuple)):
        return [_payload_to(x) for x in v]
    if isinstance(v, dict):
        return {k: _payload_to(x) for k, x in v.items()}
    return v


def from_json(obj):
    """A message from its JSON form (already parsed with json.loads)."""
    m = dict(obj)
    if "payload" in m:
        m["payload"] = _payload_from(m["payload"])
    for field, key in (("compressed", "data"), ("sig", "value")):
        if isinstance(m.get(field), dict) and isinstance(m[field].get(key), str):
            m[field] = dict(m[field], **{key: base64.b64decode(m[field][key], validate=True)})
    return m


def to_json(msg):
    """The JSON form of a message (pass it to json.dumps)."""
    m = dict(msg)
    if "payload" in m:
        m["payload"] = _payload_to(m["payload"])
    for field, key in (("compressed", "data"), ("sig", "value")):
        if isinstance(m.get(field), dict) and isinstance(m[field].get(key), (bytes, bytearray)):
            m[field] = dict(m[field], **{key: base64.b64encode(m[field][key]).decode("ascii")})
    return m
