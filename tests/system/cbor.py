"""A tiny canonical CBOR codec (RFC 8949 section 4.2.1 subset) for the system tests.

Covers what upledger puts on the wire: unsigned/negative ints, byte and text strings, arrays,
maps with integer keys (sorted ascending), shortest integer forms, definite lengths only.
`Raw(b)` embeds bytes that already are one encoded item (an embedded record).

decode_at() returns (value, end); raw_items()/raw_map() split an array/map into the raw bytes
of each element, so tests can pull a signed transaction out of a block byte for byte.
"""


class Raw(bytes):
    """Bytes that are already one CBOR item: encode() copies them verbatim."""


class CBORError(ValueError):
    pass


def _head(major, n):
    if n < 24:
        return bytes([(major << 5) | n])
    if n < 0x100:
        return bytes([(major << 5) | 24, n])
    if n < 0x10000:
        return bytes([(major << 5) | 25]) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes([(major << 5) | 26]) + n.to_bytes(4, "big")
    if n < 1 << 64:
        return bytes([(major << 5) | 27]) + n.to_bytes(8, "big")
    raise CBORError("integer too large")


def encode(v):
    if isinstance(v, Raw):
        return bytes(v)
    if isinstance(v, bool) or v is None:
        return {False: b"\xf4", True: b"\xf5", None: b"\xf6"}[v]
    if isinstance(v, int):
        return _head(0, v) if v >= 0 else _head(1, -1 - v)
    if isinstance(v, (bytes, bytearray)):
        return _head(2, len(v)) + bytes(v)
    if isinstance(v, str):
        b = v.encode("utf-8")
        return _head(3, len(b)) + b
    if isinstance(v, (list, tuple)):
        return _head(4, len(v)) + b"".join(encode(x) for x in v)
    if isinstance(v, dict):
        # RFC 8949 4.2.1: keys sorted bytewise by their encoded form.
        items = sorted(((encode(k), encode(x)) for k, x in v.items()), key=lambda kv: kv[0])
        return _head(5, len(v)) + b"".join(k + x for k, x in items)
    raise CBORError("cannot encode %r" % type(v))


def _read_head(buf, pos):
    if pos >= len(buf):
        raise CBORError("truncated")
    ib = buf[pos]
    major, ai = ib >> 5, ib & 31
    pos += 1
    if ai < 24:
        return major, ai, pos
    sizes = {24: 1, 25: 2, 26: 4, 27: 8}
    if ai not in sizes:
        raise CBORError("unsupported additional info %d" % ai)
    n = sizes[ai]
    if pos + n > len(buf):
        raise CBORError("truncated")
    return major, int.from_bytes(buf[pos:pos + n], "big"), pos + n


def decode_at(buf, pos=0):
    major, n, pos = _read_head(buf, pos)
    if major == 0:
        return n, pos
    if major == 1:
        return -1 - n, pos
    if major in (2, 3):
        if pos + n > len(buf):
            raise CBORError("truncated string")
        s = bytes(buf[pos:pos + n])
        return (s if major == 2 else s.decode("utf-8")), pos + n
    if major == 4:
        out = []
        for _ in range(n):
            v, pos = decode_at(buf, pos)
            out.append(v)
        return out, pos
    if major == 5:
        out = {}
        for _ in range(n):
            k, pos = decode_at(buf, pos)
            v, pos = decode_at(buf, pos)
            out[k] = v
        return out, pos
    if major == 7 and n in (20, 21, 22):
        return {20: False, 21: True, 22: None}[n], pos
    raise CBORError("unsupported major type %d" % major)


def decode(buf):
    v, end = decode_at(buf, 0)
    if end != len(buf):
        raise CBORError("trailing bytes")
    return v


def _skip(buf, pos):
    return decode_at(buf, pos)[1]


def raw_items(buf):
    """buf is one array: the raw bytes of each element."""
    major, n, pos = _read_head(buf, 0)
    if major != 4:
        raise CBORError("not an array")
    out = []
    for _ in range(n):
        end = _skip(buf, pos)
        out.append(Raw(buf[pos:end]))
        pos = end
    return out


def raw_map(buf):
    """buf is one map: {decoded key: raw bytes of the value}."""
    major, n, pos = _read_head(buf, 0)
    if major != 5:
        raise CBORError("not a map")
    out = {}
    for _ in range(n):
        k, pos = decode_at(buf, pos)
        end = _skip(buf, pos)
        out[k] = Raw(buf[pos:end])
        pos = end
    return out
