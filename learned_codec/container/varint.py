"""Unsigned LEB128 varints, the length prefixes inside container sections."""
from learned_codec.container.format import ContainerError


def write_uvarint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def read_uvarint(p, i, what="payload"):
    """The uvarint at p[i:] -> (value < 2^35, index after it); ContainerError if cut or too long."""
    n, shift = 0, 0
    while True:
        if i >= len(p) or shift > 28:
            raise ContainerError(f"{what}: bad length prefix")
        n |= (p[i] & 0x7F) << shift
        shift += 7
        i += 1
        if not p[i - 1] & 0x80:
            return n, i
