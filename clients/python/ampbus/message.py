"""Building, validating, decoding and signing ampbus messages (envelope version 1).

    >>> m = new_message("task", sender="planner", receiver="coder", payload={"n": 1})
    >>> decode_message(encode_message(m)) == m
    True
"""

import hashlib
import hmac
import os
import re
import time
import zlib

from . import aisp
from .canonical import ENVELOPE_KEYS, decode_value, encode_message, encode_value
from .errors import DecodeError, InvalidMessageError
from .keys import Key

TIERS = ("platinum", "gold", "silver", "bronze", "reject")
METHODS = ("static-analysis", "test-execution", "formal-verification")
COMPRESSION_ALGS = ("deflate-raw", "gzip")
SIG_ALGS = ("ed25519", "hmac-sha256")
_SNAP = re.compile(r"[0-9a-f]{7,64}")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
#: Most bytes `decompress` inflates (a compression bomb stops here). 16 MiB.
MAX_DECOMPRESSED = 16 * 1024 * 1024


def uuid7():
    """A UUIDv7 string: 48-bit ms timestamp, then random bits (RFC 9562)."""
    b = bytearray(int(time.time() * 1000).to_bytes(6, "big") + os.urandom(10))
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_message(type, sender, receiver, payload=None, **fields):
    """A validated message with a fresh UUIDv7 `id`, `opId` = `id` and `timestamp` now.

    Other envelope fields go in by their protocol names (`conversationId=`, `spec=`...).
    A `spec` given without a `tier` gets the tier the grader gives it (ampbus.aisp.grade,
    the SDK's grader: ampd accepts that claim). Raises InvalidMessageError listing every problem.
    """
    mid = fields.pop("id", None) or uuid7()
    msg = {"v": 1, "id": mid, "opId": fields.pop("opId", None) or mid, "type": type,
           "sender": sender, "receiver": receiver,
           "timestamp": fields.pop("timestamp", None) or int(time.time() * 1000)}
    if payload is not None:
        msg["payload"] = payload
    msg.update({k: v for k, v in fields.items() if v is not None})
    spec = msg.get("spec")
    if "tier" not in msg and _gradable(spec):
        msg["tier"] = aisp.grade(spec)["tier"]
    check_message(msg)
    return {k: msg[k] for k in ENVELOPE_KEYS if k in msg} | {k: v for k, v in msg.items() if k not in ENVELOPE_KEYS}


def _gradable(spec):
    """True when the spec has its statements' shape (validation names what else is wrong)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("task"), str):
        return False
    lists = [spec.get("preconditions"), spec.get("postconditions")]
    if not all(isinstance(x, list) and all(isinstance(s, str) for s in x) for x in lists):
        return False
    ev = spec.get("evidence")
    return ev is None or isinstance(ev, dict)


def check_message(msg):
    """Raises InvalidMessageError when `validate_message` finds problems."""
    issues = validate_message(msg)
    if issues:
        raise InvalidMessageError(issues)


def validate_message(msg):
    """Every problem of an envelope, as [{"path": [...], "message": str}]; [] when valid."""
    issues = []

    def bad(path, message):
        issues.append({"path": path, "message": message})

    if not isinstance(msg, dict):
        return [{"path": [], "message": "a message is a map"}]
    for k in msg:
        if k not in ENVELOPE_KEYS:
            bad([k], f"unknown field {k!r}")
    if msg.get("v") != 1 or isinstance(msg.get("v"), bool):
        bad(["v"], "must be 1")
    for k, hi, required in (("id", 128, True), ("opId", 128, True), ("type", 64, True),
                            ("sender", 128, True), ("receiver", 128, True),
                            ("conversationId", 128, False), ("replyTo", 128, False)):
        _string(msg, k, 1, hi, required, [k], bad)
    for k, required in (("timestamp", True), ("expiresAt", False)):
        if k not in msg:
            if required:
                bad([k], "required")
        elif not _uint(msg[k]):
            bad([k], "must be an unsigned integer (ms since the epoch)")
    if "spec" in msg:
        _spec(msg["spec"], bad)
        if "tier" not in msg:
            bad(["tier"], "required when spec is present")
    if "tier" in msg and msg["tier"] not in TIERS:
        bad(["tier"], f"must be one of {', '.join(TIERS)}")
    if "payload" in msg:
        _payload(msg["payload"], ["payload"], bad)
    if "snapSha" in msg and not (isinstance(msg["snapSha"], str) and _SNAP.fullmatch(msg["snapSha"])):
        bad(["snapSha"], "must be 7 to 64 lowercase hex digits")
    if "traceparent" in msg and not (isinstance(msg["traceparent"], str) and _TRACEPARENT.fullmatch(msg["traceparent"])):
        bad(["traceparent"], "must be W3C trace context vv-<32 hex>-<16 hex>-ff")
    if "compressed" in msg:
        c = msg["compressed"]
        if not isinstance(c, dict):
            bad(["compressed"], "must be a map")
        else:
            _only(c, ("alg", "size", "data"), ["compressed"], bad)
            if c.get("alg") not in COMPRESSION_ALGS:
                bad(["compressed", "alg"], f"must be one of {', '.join(COMPRESSION_ALGS)}")
            if not _uint(c.get("size")):
                bad(["compressed", "size"], "must be an unsigned integer")
            if not isinstance(c.get("data"), (bytes, bytearray)):
                bad(["compressed", "data"], "must be bytes")
        for k in ("spec", "payload"):
            if k in msg:
                bad([k], "must be absent when compressed is present")
    if "sig" in msg:
        s = msg["sig"]
        if not isinstance(s, dict):
            bad(["sig"], "must be a map")
        else:
            _only(s, ("alg", "kid", "value"), ["sig"], bad)
            if s.get("alg") not in SIG_ALGS:
                bad(["sig", "alg"], f"must be one of {', '.join(SIG_ALGS)}")
            _string(s, "kid", 1, 128, True, ["sig", "kid"], bad)
            if not isinstance(s.get("value"), (bytes, bytearray)):
                bad(["sig", "value"], "must be bytes")
    return issues


def _uint(x):
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 2**53 - 1


def _string(m, k, lo, hi, required, path, bad):
    if k not in m:
        if required:
            bad(path, "required")
        return
    s = m[k]
    if not isinstance(s, str):
        bad(path, "must be a string")
    elif not lo <= utf16_len(s) <= hi:
        bad(path, f"must be {lo} to {hi} UTF-16 code units long (has {utf16_len(s)})")


def utf16_len(s):
    """Length as JavaScript counts it (what the protocol's string limits count)."""
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


def _only(m, keys, path, bad):
    for k in m:
        if k not in keys:
            bad(path + [k], f"unknown field {k!r}")


def _spec(spec, bad):
    if not isinstance(spec, dict):
        bad(["spec"], "must be a map")
        return
    _only(spec, ("preconditions", "task", "postconditions", "evidence"), ["spec"], bad)
    for k in ("preconditions", "postconditions"):
        v = spec.get(k)
        if not isinstance(v, list):
            bad(["spec", k], "must be an array of strings")
        else:
            for i, s in enumerate(v):
                if not isinstance(s, str):
                    bad(["spec", k, i], "must be a string")
    if not isinstance(spec.get("task"), str) or not spec.get("task"):
        bad(["spec", "task"], "must be a non-empty string")
    if "evidence" in spec:
        e = spec["evidence"]
        if not isinstance(e, dict):
            bad(["spec", "evidence"], "must be a map")
            return
        _only(e, ("prover", "method", "confidence", "details"), ["spec", "evidence"], bad)
        _string(e, "prover", 1, 128, True, ["spec", "evidence", "prover"], bad)
        if e.get("method") not in METHODS:
            bad(["spec", "evidence", "method"], f"must be one of {', '.join(METHODS)}")
        c = e.get("confidence")
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 <= c <= 1:
            bad(["spec", "evidence", "confidence"], "must be a number from 0 to 1")
        if "details" in e and not (isinstance(e["details"], str) and utf16_len(e["details"]) <= 65536):
            bad(["spec", "evidence", "details"], "must be a string of at most 65536 UTF-16 code units")


def _payload(x, path, bad):
    if x is None or isinstance(x, (bool, int, float, str, bytes, bytearray)):
        return
    if isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            _payload(v, path + [i], bad)
    elif isinstance(x, dict):
        for k, v in x.items():
            if not isinstance(k, str):
                bad(path, f"map key {k!r} is not a string")
            elif k == "__proto__":
                bad(path + [k], "the map key __proto__ is refused")
            else:
                _payload(v, path + [k], bad)
    else:
        bad(path, f"{type(x).__name__} is not a MessagePack value")


def decode_message(data):
    """The message (a dict) in MessagePack bytes. Bin becomes bytes.

    Read strictly, as the TypeScript SDK reads (docs/protocol.md, "Framing"): extension
    types, non-string, duplicate and `__proto__` map keys, integers outside +-(2^53 - 1)
    and invalid UTF-8 raise DecodeError with code "BAD_BYTES" and `offset`, the byte at
    fault, so that nothing decodes into a value that would re-encode to other bytes.
    Decoding does not validate: call `validate_message` for that (ampd validated on add).
    """
    msg = decode_value(data)
    if not isinstance(msg, dict):
        raise DecodeError(f"a message is a map, not {type(msg).__name__}")
    return msg


def compress(msg, alg="deflate-raw", level=6):
    """A copy of `msg` with `spec` and `payload` moved into `compressed`."""
    body = {k: msg[k] for k in ("spec", "payload") if k in msg}
    raw = encode_value(body)
    z = zlib.compressobj(level, zlib.DEFLATED, -15 if alg == "deflate-raw" else 31)
    out = {k: v for k, v in msg.items() if k not in ("spec", "payload")}
    out["compressed"] = {"alg": alg, "size": len(raw), "data": z.compress(raw) + z.flush()}
    return out


def decompress(msg, max_size=MAX_DECOMPRESSED):
    """A copy of `msg` with `compressed` inflated back into `spec` and `payload`."""
    c = msg.get("compressed")
    if c is None:
        return dict(msg)
    if c["size"] > max_size:
        raise DecodeError(f"compressed size {c['size']} is over the limit {max_size}")
    d = zlib.decompressobj(-15 if c["alg"] == "deflate-raw" else 31)
    raw = d.decompress(c["data"], c["size"] + 1)
    if len(raw) != c["size"]:
        raise DecodeError(f"compressed data inflates to {len(raw)} bytes, size says {c['size']}")
    body = decode_message(raw)
    out = {k: v for k, v in msg.items() if k != "compressed"}
    out.update(body)
    return {k: out[k] for k in ENVELOPE_KEYS if k in out}


def signing_bytes(msg):
    """What a signature covers: the canonical encoding without `sig`, uncompressed."""
    m = decompress(msg)
    m.pop("sig", None)
    return encode_message(m)


def sign_hmac(msg, secret, kid):
    """A copy of `msg` signed with HMAC-SHA256 by `secret` (bytes) under key id `kid`."""
    value = hmac.new(secret, signing_bytes(msg), hashlib.sha256).digest()
    return dict(msg, sig={"alg": "hmac-sha256", "kid": kid, "value": value})


def sign_ed25519(msg, seed, kid):
    """A copy of `msg` signed with Ed25519 by the private key `seed` (the 32 bytes of a key
    file's `privateKey`) under key id `kid`. Needs cryptography or PyNaCl (keys.py)."""
    return sign(msg, Key(None, kid, "ed25519", secret=seed))


def sign(msg, key):
    """A copy of `msg` signed with `key` (a Key, from `load_key`): `sig` = {alg, kid, value}
    over `signing_bytes(msg)`, as the TypeScript SDK's sign() makes it. An existing `sig`
    is replaced. Raises InvalidMessageError when `msg` is not a valid message."""
    check_message(msg)
    return dict(msg, sig={"alg": key.alg, "kid": key.kid, "value": key.sign_bytes(signing_bytes(msg))})


def verify_ed25519(msg, public_key):
    """True when `msg` carries a valid Ed25519 signature by `public_key` (32 bytes),
    whatever its `sig.kid`."""
    return _verified(msg, Key(None, "ed25519", "ed25519", public_key=public_key))


def verify(msg, keys):
    """True when `msg` carries a signature that verifies with the key its `sig.kid` names;
    False otherwise (unsigned, tampered, invalid, an unknown kid, another algorithm).

    `keys`: one Key, a list of Keys, or a dict kid -> Key (`keyring_keys` reads a keyring).
    """
    sig = msg.get("sig") if isinstance(msg, dict) else None
    if not isinstance(sig, dict):
        return False
    kid = sig.get("kid")
    if isinstance(keys, Key):
        key = keys if keys.kid == kid else None
    elif isinstance(keys, dict):
        key = keys.get(kid) if isinstance(kid, str) else None
    else:
        key = next((k for k in keys if k.kid == kid), None)
    return key is not None and _verified(msg, key)


def _verified(msg, key):
    try:
        if not isinstance(msg, dict) or validate_message(msg) or "sig" not in msg:
            return False
        sig = msg["sig"]
        return sig["alg"] == key.alg and key.verify_bytes(signing_bytes(msg), sig["value"])
    except Exception:  # a message that cannot be checked (say, a corrupt `compressed`) is not verified
        return False


def verify_hmac(msg, secret):
    """True when `msg` carries a valid HMAC-SHA256 signature by `secret`."""
    sig = msg.get("sig")
    if not sig or sig.get("alg") != "hmac-sha256":
        return False
    expected = hmac.new(secret, signing_bytes(msg), hashlib.sha256).digest()
    return hmac.compare_digest(expected, bytes(sig["value"]))
