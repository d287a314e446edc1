"""Canonical CBOR for the system tests, on Debian's python3-cbor2 (no hand-written codec).

upledger's records are deterministic CBOR (RFC 8949 section 4.2.1) with small unsigned integer
map keys; for those, cbor2's canonical mode (shortest forms, definite lengths, keys sorted) gives
exactly the node's bytes. `Raw(b)` embeds bytes that already are one encoded item (a signed
record) verbatim. `loads` refuses trailing bytes; `sequence` reads a CBOR sequence (RFC 8742,
a proof bundle); `split_array` / `split_map` give the exact bytes of each element, and refuse an
input that does not re-encode to itself, so a non-canonical input fails loudly instead of being
silently normalised.
"""
import io

import cbor2


class Raw:
    """Bytes that already are one CBOR item: `dumps` copies them verbatim."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = bytes(data)

    def __bytes__(self):
        return self.data

    def __eq__(self, other):
        return isinstance(other, Raw) and other.data == self.data

    def __hash__(self):
        return hash(self.data)

    def __repr__(self):
        return "Raw(%s)" % self.data.hex()


def _default(encoder, value):
    if isinstance(value, Raw):
        encoder.write(value.data)
        return
    raise cbor2.CBOREncodeError("cannot encode %r" % type(value))


def dumps(value):
    """Canonical encoding of value (ints, bytes, str, lists, int-keyed dicts, None, bool, Raw)."""
    return cbor2.dumps(value, canonical=True, default=_default)


def loads(buf):
    """Decodes exactly one item: trailing bytes are an error."""
    fp = io.BytesIO(bytes(buf))
    value = cbor2.CBORDecoder(fp).decode()
    if fp.tell() != len(buf):
        raise ValueError("%d trailing bytes after the CBOR item" % (len(buf) - fp.tell()))
    return value


def sequence(buf):
    """The items of a CBOR sequence, in order."""
    fp = io.BytesIO(bytes(buf))
    dec = cbor2.CBORDecoder(fp)
    out = []
    while fp.tell() < len(buf):
        out.append(dec.decode())
    return out


def _canonical(buf):
    value = loads(buf)
    if dumps(value) != bytes(buf):
        raise ValueError("not canonical CBOR: cannot split it byte for byte")
    return value


def split_array(buf):
    """buf is one canonical array: the exact bytes of each element."""
    value = _canonical(buf)
    if not isinstance(value, list):
        raise ValueError("not an array")
    return [dumps(v) for v in value]


def split_map(buf):
    """buf is one canonical map: {decoded key: exact bytes of the value}."""
    value = _canonical(buf)
    if not isinstance(value, dict):
        raise ValueError("not a map")
    return {k: dumps(v) for k, v in value.items()}
