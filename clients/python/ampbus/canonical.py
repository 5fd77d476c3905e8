"""Canonical MessagePack encoding of ampbus messages (docs/protocol.md, "Canonical encoding").

Written by hand because msgpack's Packer keeps dict insertion order and writes Python
floats as float64 even when their value is integral; the canonical form needs fixed
envelope key order, code-point-sorted payload keys and shortest integers.

    >>> encode_message({"v": 1, "id": "m1", "opId": "m1", "type": "t", "sender": "a",
    ...                 "receiver": "b", "timestamp": 0})[:2].hex()
    '87a1'
"""

import math
import struct

from .errors import EncodeError

#: Envelope fields in canonical order (the table in docs/protocol.md, "Messages").
ENVELOPE_KEYS = (
    "v", "id", "opId", "type", "sender", "receiver", "timestamp", "spec", "tier",
    "payload", "snapSha", "conversationId", "replyTo", "expiresAt", "traceparent",
    "compressed", "sig",
)
SPEC_KEYS = ("preconditions", "task", "postconditions", "evidence")
EVIDENCE_KEYS = ("prover", "method", "confidence", "details")
COMPRESSED_KEYS = ("alg", "size", "data")
SIG_KEYS = ("alg", "kid", "value")

MAX_SAFE_INTEGER = 2**53 - 1

_pack_d = struct.Struct(">d").pack


def _utf8(s):
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates become U+FFFD; a surrogate pair becomes its code point (as in JS).
        return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


def _int(n, out):
    if n >= 0:
        if n < 0x80:
            out.append(n)
        elif n < 0x100:
            out += b"\xcc" + n.to_bytes(1, "big")
        elif n < 0x10000:
            out += b"\xcd" + n.to_bytes(2, "big")
        elif n < 0x100000000:
            out += b"\xce" + n.to_bytes(4, "big")
        else:
            out += b"\xcf" + n.to_bytes(8, "big")
    elif n >= -32:
        out.append(n & 0xFF)
    elif n >= -0x80:
        out += b"\xd0" + n.to_bytes(1, "big", signed=True)
    elif n >= -0x8000:
        out += b"\xd1" + n.to_bytes(2, "big", signed=True)
    elif n >= -0x80000000:
        out += b"\xd2" + n.to_bytes(4, "big", signed=True)
    else:
        out += b"\xd3" + n.to_bytes(8, "big", signed=True)


def _number(x, out):
    # Any number with an integral value within +-(2^53 - 1) is an int, whatever its type.
    if isinstance(x, int):
        if -MAX_SAFE_INTEGER <= x <= MAX_SAFE_INTEGER:
            _int(x, out)
            return
        x = float(x)
    elif math.isfinite(x) and x.is_integer() and abs(x) <= MAX_SAFE_INTEGER:
        _int(int(x), out)  # -0.0 becomes 0
        return
    out += b"\xcb" + _pack_d(x)


def _str(s, out):
    b = _utf8(s)
    n = len(b)
    if n < 32:
        out.append(0xA0 | n)
    elif n < 0x100:
        out += b"\xd9" + n.to_bytes(1, "big")
    elif n < 0x10000:
        out += b"\xda" + n.to_bytes(2, "big")
    else:
        out += b"\xdb" + n.to_bytes(4, "big")
    out += b


def _bin(b, out):
    b = bytes(b)
    n = len(b)
    if n < 0x100:
        out += b"\xc4" + n.to_bytes(1, "big")
    elif n < 0x10000:
        out += b"\xc5" + n.to_bytes(2, "big")
    else:
        out += b"\xc6" + n.to_bytes(4, "big")
    out += b


def _header(n, fix, b16, b32, out):
    if n < 16:
        out.append(fix | n)
    elif n < 0x10000:
        out += bytes([b16]) + n.to_bytes(2, "big")
    else:
        out += bytes([b32]) + n.to_bytes(4, "big")


def _value(x, path, out):
    """Encodes an agent-defined value: maps with keys sorted by code point."""
    if x is None:
        out.append(0xC0)
    elif x is True:
        out.append(0xC3)
    elif x is False:
        out.append(0xC2)
    elif isinstance(x, (int, float)):
        _number(x, out)
    elif isinstance(x, str):
        _str(x, out)
    elif isinstance(x, (bytes, bytearray, memoryview)):
        _bin(x, out)
    elif isinstance(x, (list, tuple)):
        _header(len(x), 0x90, 0xDC, 0xDD, out)
        for i, item in enumerate(x):
            _value(item, path + [i], out)
    elif isinstance(x, dict):
        for k in x:
            if not isinstance(k, str):
                raise EncodeError(f"map key {k!r} at {_path(path)} is not a string")
        keys = sorted(x, key=_utf8)
        _header(len(keys), 0x80, 0xDE, 0xDF, out)
        for k in keys:
            _str(k, out)
            _value(x[k], path + [k], out)
    else:
        raise EncodeError(f"{type(x).__name__} at {_path(path)} cannot be encoded")


def _fixed(m, keys, path, out, inner=None):
    """Encodes a map whose keys have a fixed order; `inner` maps a key to its own order."""
    present = [k for k in keys if k in m and m[k] is not None]
    extra = [k for k in m if k not in keys]
    if extra:
        raise EncodeError(f"unknown field {extra[0]!r} at {_path(path)}")
    _header(len(present), 0x80, 0xDE, 0xDF, out)
    for k in present:
        _str(k, out)
        order = inner.get(k) if inner else None
        if order is not None and isinstance(m[k], dict):
            _fixed(m[k], order[0], path + [k], out, order[1])
        else:
            _value(m[k], path + [k], out)


_INNER = {
    "spec": (SPEC_KEYS, {"evidence": (EVIDENCE_KEYS, None)}),
    "compressed": (COMPRESSED_KEYS, None),
    "sig": (SIG_KEYS, None),
}


def encode_message(msg):
    """The canonical bytes of an envelope (a dict); absent or None fields are left out.

    Raises EncodeError for unknown fields or values MessagePack cannot hold.
    """
    out = bytearray()
    _fixed(msg, ENVELOPE_KEYS, [], out, _INNER)
    return bytes(out)


def encode_value(value):
    """Canonical bytes of any value (maps sorted by code point), e.g. the body of `compressed`."""
    out = bytearray()
    _value(value, [], out)
    return bytes(out)


def _path(path):
    return "/" + "/".join(str(p) for p in path)
