"""Canonical MessagePack encoding of ampbus messages (docs/protocol.md, "Canonical encoding"),
and the strict reader that decodes them (docs/protocol.md, "Framing").

Written by hand because msgpack's Packer keeps dict insertion order and writes Python
floats as float64 even when their value is integral; the canonical form needs fixed
envelope key order, code-point-sorted payload keys and shortest integers. The reader is
by hand too, so that a refusal names its byte offset as the TypeScript SDK's does.

    >>> encode_message({"v": 1, "id": "m1", "opId": "m1", "type": "t", "sender": "a",
    ...                 "receiver": "b", "timestamp": 0})[:2].hex()
    '87a1'
    >>> decode_value(bytes.fromhex("92 01 a1 78"))
    [1, 'x']
"""

import math
import struct

from .errors import DecodeError, EncodeError

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
_unpack_f = struct.Struct(">f").unpack_from
_unpack_d = struct.Struct(">d").unpack_from


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
        f = float(x)  # OverflowError beyond float range; caught by _value
        if int(f) != x:
            raise EncodeError(f"the integer {x} cannot be held exactly by a float 64 (it would become {int(f)})")
        x = f
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
        try:
            _number(x, out)
        except (EncodeError, OverflowError) as e:
            raise EncodeError(f"{_path(path)}: {e}") from e
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


#: Deepest nesting of arrays and maps the reader accepts (as the TypeScript SDK).
MAX_DEPTH = 100
_EXT_TYPES = frozenset((0xC7, 0xC8, 0xC9, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8))


def _refused(message, offset):
    """A DecodeError with the SDK's code for bytes it refuses, and where they are."""
    e = DecodeError(message, "BAD_BYTES")
    e.offset = offset
    return e


class _Reader:
    """One strict read: refuses what the TypeScript SDK's reader refuses, at the same offsets."""

    __slots__ = ("b", "p")

    def __init__(self, data):
        self.b = data
        self.p = 0

    def need(self, n):
        if self.p + n > len(self.b):
            raise _refused(f"truncated: {n} more bytes needed at offset {self.p}, "
                           f"only {len(self.b) - self.p} left", self.p)

    def uint(self, n):
        self.need(n)
        p = self.p
        self.p = p + n
        return int.from_bytes(self.b[p:p + n], "big")

    def value(self, depth):
        self.need(1)
        at = self.p
        t = self.b[at]
        self.p = at + 1
        if t < 0x80:
            return t
        if t >= 0xE0:
            return t - 0x100
        if 0xA0 <= t < 0xC0:
            return self.text(t & 0x1F)
        if 0x80 <= t < 0x90:
            return self.map(t & 0x0F, depth)
        if 0x90 <= t < 0xA0:
            return self.array(t & 0x0F, depth)
        if t == 0xC0:
            return None
        if t == 0xC2:
            return False
        if t == 0xC3:
            return True
        if 0xCC <= t <= 0xCF:
            x = self.uint(1 << (t - 0xCC))
        elif 0xD0 <= t <= 0xD3:
            n = 1 << (t - 0xD0)
            x = self.uint(n)
            if x >= 1 << (8 * n - 1):
                x -= 1 << (8 * n)
        elif t == 0xCA:
            self.need(4)
            self.p += 4
            return _unpack_f(self.b, at + 1)[0]
        elif t == 0xCB:
            self.need(8)
            self.p += 8
            return _unpack_d(self.b, at + 1)[0]
        elif 0xD9 <= t <= 0xDB:
            return self.text(self.uint(1 << (t - 0xD9)))
        elif 0xC4 <= t <= 0xC6:
            n = self.uint(1 << (t - 0xC4))
            self.need(n)
            self.p += n
            return self.b[self.p - n:self.p]
        elif t in (0xDC, 0xDD):
            return self.array(self.uint(2 if t == 0xDC else 4), depth)
        elif t in (0xDE, 0xDF):
            return self.map(self.uint(2 if t == 0xDE else 4), depth)
        elif t in _EXT_TYPES:
            raise _refused(f"extension type (byte 0x{t:02x} at offset {at}) is not allowed in ampbus messages", at)
        else:
            raise _refused(f"byte 0x{t:02x} at offset {at} is not a MessagePack type (0xc1 is never used)", at)
        if not -MAX_SAFE_INTEGER <= x <= MAX_SAFE_INTEGER:
            raise _refused(f"integer {x} at offset {at} is outside +-(2^53 - 1), which the TypeScript SDK "
                           "cannot hold exactly; ampbus refuses it rather than round it", at)
        return x

    def text(self, n):
        self.need(n)
        start = self.p
        self.p = start + n
        try:
            return str(self.b[start:start + n], "utf-8")
        except UnicodeDecodeError as e:
            bad = start + e.start
            raise _refused(f"invalid UTF-8 at offset {bad} (byte 0x{self.b[bad]:02x}) in the string of {n} bytes "
                           f"from offset {start}; ampbus refuses it rather than replace it with U+FFFD", bad) from None

    def array(self, n, depth):
        if depth >= MAX_DEPTH:
            raise _refused(f"nesting deeper than {MAX_DEPTH} at offset {self.p}", self.p)
        if n > len(self.b) - self.p:
            raise _refused(f"array claims {n} items at offset {self.p}, but only {len(self.b) - self.p} bytes are left", self.p)
        return [self.value(depth + 1) for _ in range(n)]

    def map(self, n, depth):
        if depth >= MAX_DEPTH:
            raise _refused(f"nesting deeper than {MAX_DEPTH} at offset {self.p}", self.p)
        if 2 * n > len(self.b) - self.p:
            raise _refused(f"map claims {n} entries at offset {self.p}, but only {len(self.b) - self.p} bytes are left", self.p)
        out = {}
        for _ in range(n):
            self.need(1)
            at = self.p
            t = self.b[at]
            if not (0xA0 <= t < 0xC0 or 0xD9 <= t <= 0xDB):
                raise _refused(f"map key at offset {at} is not a string (type byte 0x{t:02x}); ampbus map keys are strings", at)
            key = self.value(depth + 1)
            if key == "__proto__":
                raise _refused(f'map key "__proto__" at offset {at} is refused', at)
            value = self.value(depth + 1)
            if key in out:
                raise _refused(f"duplicate map key {key!r} at offset {at}", at)
            out[key] = value
        return out


def decode_value(data):
    """The one MessagePack value in `data`, read strictly: extension types, non-string,
    duplicate and `__proto__` map keys, integers outside +-(2^53 - 1) and strings that
    are not valid UTF-8 are refused, as are truncated input and extra bytes.

    Raises DecodeError with code "BAD_BYTES" and `offset`, the byte at fault.
    """
    b = bytes(data)
    if not b:
        raise _refused("no bytes: expected one MessagePack value", 0)
    r = _Reader(b)
    value = r.value(0)
    if r.p != len(b):
        raise _refused(f"{len(b) - r.p} extra bytes after the value, at offset {r.p}", r.p)
    return value
