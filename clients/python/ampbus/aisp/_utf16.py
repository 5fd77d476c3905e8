"""Strings as the SDK sees them: UTF-16 code units, so that positions and lengths here are
the SDK's (a symbol outside the Basic Multilingual Plane, such as 𝔹, is two units)."""


def units(s):
    """The UTF-16 code units of `s` (lone surrogates kept)."""
    b = s.encode("utf-16-le", "surrogatepass")
    return [b[i] | (b[i + 1] << 8) for i in range(0, len(b), 2)]


def slice_text(u, a, b):
    """The string of the code units u[a:b]."""
    out = bytearray()
    for c in u[a:b]:
        out.append(c & 0xFF)
        out.append(c >> 8)
    return out.decode("utf-16-le", "surrogatepass")


def inner(s):
    """`s` without its first and last code unit: a block's name inside ⟦…⟧, a string's value inside its quotes."""
    u = units(s)
    return slice_text(u, 1, len(u) - 1)


def code_point_at(u, i):
    """The code point that starts at unit i: a surrogate pair joined, a lone surrogate as itself."""
    c = u[i]
    if 0xD800 <= c <= 0xDBFF and i + 1 < len(u) and 0xDC00 <= u[i + 1] <= 0xDFFF:
        return ((c - 0xD800) << 10) + (u[i + 1] - 0xDC00) + 0x10000
    return c
